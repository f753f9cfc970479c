package io.sluice.server.ops;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How many MQTT and STOMP connections may be between accept and their protocol's answer (CONNACK, CONNECTED) at
 * once: {@code max-pending-handshakes}. At that many, the listeners stop accepting until one is answered or
 * closed; the connections behind wait in the kernel's listen backlog, where they cost the broker nothing.
 *
 * <p>Why: a reconnect storm accepted all at once puts thousands of CONNECTs on the I/O threads in one turn, and
 * every connected client's next packet waits behind them (the lag {@link EventLoopLag} then sees, and what the
 * connected clients feel). Accepting only as fast as handshakes are answered keeps each turn of an I/O thread
 * short, the connected clients served first, and the broker working on CONNECTs whose clients still wait for
 * them instead of on those that gave up. HAProxy's {@code maxconn} on a listener pauses accepting the same way.
 *
 * <p>The acceptor thread takes a place as it accepts ({@link #take}); the place comes back once, when the protocol
 * adapter answers ({@link Admission#established}), the socket closes, or it has said nothing for a second on its
 * I/O thread ({@link SilenceGuard}: idle sockets cost the I/O threads nothing and must not hold the door shut).
 * Pausing and resuming run on the acceptor thread (every listener's server channel is on it), so they need no lock: a place given back that
 * frees the budget asks the acceptor thread to resume, and it resumes only if there is room then.
 */
public final class HandshakeBudget {
    static final AttributeKey<Place> PLACE = AttributeKey.valueOf("sluice.handshakePlace");
    /** A CONNECT follows the TCP handshake at once; a socket silent this long is not a handshake in progress. */
    static final long SILENT_MILLIS = 1_000;

    private final int max;
    /**
     * Resume only once half the places are free: a listener resumed at one free place accepts one socket and
     * pauses again (Netty stops its accept loop as auto-read goes off), so a storm at the limit would be let in one
     * socket per wake-up of the acceptor thread, which on a busy machine is a scheduler's time slice.
     */
    private final int resumeAt;
    private final AtomicInteger pending = new AtomicInteger();
    private final List<Channel> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean paused;
    private long pauses;

    public HandshakeBudget(int max) {
        this.max = max;
        this.resumeAt = max / 2;
    }

    /** A listener's server channel whose accepting this budget pauses and resumes. */
    public void pauses(Channel serverChannel) {
        listeners.add(serverChannel);
    }

    /** On the acceptor thread: {@code child} was accepted; it holds a place until it is answered or closes. */
    void take(Channel child) {
        child.attr(PLACE).set(new Place(this));
        child.closeFuture().addListener(f -> give(child));
        child.pipeline().addFirst(new SilenceGuard());
        if (pending.incrementAndGet() >= max && !paused) {
            paused = true;
            pauses++;
            for (Channel l : listeners) {
                l.config().setAutoRead(false);
            }
            // a place given back while this thread decided to pause did not see the pause: look again
            resume();
        }
    }

    /** {@code child}'s handshake ended (answered or closed): its place comes back, once. */
    void give(Channel child) {
        Place place = child.attr(PLACE).getAndSet(null);
        if (place == null || !place.given.compareAndSet(false, true)) {
            return;
        }
        if (pending.decrementAndGet() <= resumeAt && paused && !listeners.isEmpty()) {
            listeners.get(0).eventLoop().execute(this::resume);
        }
    }

    private void resume() {
        if (paused && pending.get() <= resumeAt) {
            paused = false;
            for (Channel l : listeners) {
                l.config().setAutoRead(true);
            }
        }
    }

    /** Handshakes between accept and answer now. */
    public int pending() {
        return pending.get();
    }

    public int max() {
        return max;
    }

    /** Whether the listeners wait for a handshake to end before they accept again. */
    public boolean paused() {
        return paused;
    }

    /** How many times the listeners paused (read on the acceptor thread, or as a metric's approximation). */
    public long pauses() {
        return pauses;
    }

    /**
     * A socket that says nothing for {@link #SILENT_MILLIS} once on its I/O thread gives its place back: it costs
     * that thread nothing while silent, and sockets that never speak must not hold the listeners shut (they are
     * closed at {@code handshake-timeout} as before). A socket that spoke keeps its place until answered.
     */
    private final class SilenceGuard extends ChannelInboundHandlerAdapter {
        private boolean heard;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel ch = ctx.channel();
            ctx.executor().schedule(() -> {
                if (!heard) {
                    give(ch);
                }
            }, SILENT_MILLIS, TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            heard = true;
            ctx.pipeline().remove(this);
            ctx.fireChannelRead(msg);
        }
    }

    /** A channel's place in the budget, given back once. */
    static final class Place {
        final HandshakeBudget owner;
        final AtomicBoolean given = new AtomicBoolean();

        Place(HandshakeBudget owner) {
            this.owner = owner;
        }
    }
}
