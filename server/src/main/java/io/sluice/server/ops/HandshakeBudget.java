package io.sluice.server.ops;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.AttributeKey;
import io.sluice.server.transport.HandshakeTimeout;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How many connections the I/O threads may be taking through their handshake at once, on every listener:
 * {@code max-pending-handshakes} sockets handed to an I/O thread and not yet answered (MQTT CONNACK, STOMP CONNECTED;
 * over WebSocket the upgrade and then the protocol's answer; a TLS listener's TLS handshake is inside too). Past that, a socket just accepted <em>waits</em>, in the order it came, unregistered:
 * on no I/O thread, costing them nothing, until a place comes back. Up to {@code accept-backlog} sockets wait so; past
 * that the listeners stop accepting, and resume once half of those waiting were handed over.
 *
 * <p>Why: a reconnect storm handed to the I/O threads all at once puts thousands of CONNECTs in one turn of each,
 * and every connected client's next packet waits behind them (the lag {@link EventLoopLag} then sees, and what the
 * connected clients feel). Handing sockets over only as fast as handshakes are answered keeps each turn short, the
 * connected clients served first. The sockets that wait are held by the broker, not left in the kernel's listen
 * backlog: a full backlog drops the storm's SYNs, which clients retry only after 1, 3 and 7 s, so a storm bounded
 * in the kernel admits far slower than the broker can serve (its last clients wait for a retry). Held here, a socket
 * is handed over the moment a place frees, and the accept loop keeps the backlog empty.
 *
 * <p>The acceptor thread hands sockets over and keeps the waiting queue (every listener's server channel is on it,
 * so the queue needs no lock). A place comes back once: when the protocol adapter answers
 * ({@link Admission#established}), the socket closes, or it has said nothing for a second on its I/O thread
 * ({@link SilenceGuard}: a socket waiting for bytes costs the I/O threads nothing and must not hold a place). A place
 * given back while sockets wait asks the acceptor thread to hand the next ones over, in one task for all the places
 * freed meanwhile.
 */
public final class HandshakeBudget {
    static final AttributeKey<Place> PLACE = AttributeKey.valueOf("sluice.handshakePlace");
    private static final String GUARD = "handshake-place";
    /** A CONNECT follows the TCP handshake at once; a socket silent this long is not a handshake in progress. */
    static final long SILENT_MILLIS = 1_000;

    /** Hands a socket to its I/O thread (on the acceptor thread), or turns it away, once it leaves the queue. */
    interface Door {
        /**
         * @param waitedNanos how long {@code child} waited for a place (0 when it had one at once); it holds one now
         */
        void handOver(Channel child, long waitedNanos);
    }

    private final int max;
    private final int maxWaiting;
    private final AtomicInteger pending = new AtomicInteger();
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    /** The queue's length, for the I/O threads to see whether a freed place has a socket to go to. */
    private final AtomicInteger waitingCount = new AtomicInteger();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final List<Channel> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean paused;
    private volatile long pauses;
    private volatile long waited;

    /**
     * @param max        handshakes on the I/O threads at once
     * @param maxWaiting sockets held, accepted, while every place is taken; past it the listeners stop accepting
     */
    public HandshakeBudget(int max, int maxWaiting) {
        this.max = max;
        this.maxWaiting = Math.max(1, maxWaiting);
    }

    /** A listener's server channel whose accepting this budget pauses and resumes; all are on one acceptor thread. */
    public void pauses(Channel serverChannel) {
        listeners.add(serverChannel);
    }

    /**
     * On the acceptor thread: {@code child} was just accepted. It is handed over through {@code door} now if a place
     * is free and nobody waits before it, else when its turn comes.
     */
    void enter(Channel child, Door door) {
        if (waiting.isEmpty() && tryTake()) {
            take(child);
            door.handOver(child, 0);
            return;
        }
        waiting.add(new Waiting(child, door, System.nanoTime()));
        waitingCount.incrementAndGet();
        waited++;
        if (waiting.size() >= maxWaiting && !paused) {
            paused = true;
            pauses++;
            for (Channel l : listeners) {
                l.config().setAutoRead(false);
            }
        }
        drain(); // a place given back just before this socket queued found no one waiting: look again
    }

    private boolean tryTake() {
        while (true) {
            int n = pending.get();
            if (n >= max) {
                return false;
            }
            if (pending.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** The place {@code child} holds from now until it is answered or closed (the count was taken by the caller). */
    private void take(Channel child) {
        Place place = new Place(this, child);
        child.attr(PLACE).set(place);
        child.closeFuture().addListener(place);
        child.pipeline().addFirst(GUARD, new SilenceGuard());
    }

    /**
     * {@code child}'s handshake ended (answered or closed): its place comes back, once. The attribute and the close
     * listener go with it, so a connection that lives on carries neither (Netty keeps an attribute's key on the
     * channel when only its value is cleared; {@code getAndRemove} is deprecated against reusing the removed
     * {@code Attribute} object, which nothing here does).
     */
    @SuppressWarnings("deprecation")
    void give(Channel child) {
        Place place = child.hasAttr(PLACE) ? child.attr(PLACE).getAndRemove() : null;
        if (place == null || !place.given.compareAndSet(false, true)) {
            return;
        }
        child.closeFuture().removeListener(place);
        pending.decrementAndGet();
        if (child.pipeline().context(GUARD) != null) {
            child.pipeline().remove(GUARD);
        }
        if (waitingCount.get() > 0 && !listeners.isEmpty() && drainScheduled.compareAndSet(false, true)) {
            EventLoop acceptor = listeners.get(0).eventLoop();
            acceptor.execute(() -> {
                drainScheduled.set(false);
                drain();
            });
        }
    }

    /** On the acceptor thread: hand over as many waiting sockets as there are free places, oldest first. */
    private void drain() {
        long now = System.nanoTime();
        while (!waiting.isEmpty() && tryTake()) {
            Waiting w = waiting.poll();
            waitingCount.decrementAndGet();
            take(w.child);
            w.door.handOver(w.child, now - w.since);
        }
        if (paused && waiting.size() <= maxWaiting / 2) {
            paused = false;
            for (Channel l : listeners) {
                l.config().setAutoRead(true);
            }
        }
    }

    /** Handshakes on the I/O threads now, between hand-over and answer. */
    public int pending() {
        return pending.get();
    }

    /** Sockets accepted and waiting for a place now. */
    public int waiting() {
        return waitingCount.get();
    }

    public int max() {
        return max;
    }

    /** Whether the listeners wait for sockets to be handed over before they accept again. */
    public boolean paused() {
        return paused;
    }

    /** How many times the listeners paused (written on the acceptor thread). */
    public long pauses() {
        return pauses;
    }

    /** How many sockets had to wait for a place (written on the acceptor thread). */
    public long waited() {
        return waited;
    }

    /**
     * Watches a socket while it holds a place. One that says nothing for {@link #SILENT_MILLIS} once on its I/O thread
     * gives its place back: it costs that thread nothing while silent, and sockets that never speak must not hold
     * the door shut (they are closed at {@code handshake-timeout} as before). One that spoke keeps it until answered,
     * except a plain HTTP request (health, metrics, the admin API, an SSE reader: anything but a WebSocket upgrade),
     * which is no handshake and gives it back as the HTTP port routes it ({@link HandshakeTimeout#RESTART}). A
     * WebSocket upgrade keeps it through the upgrade until its protocol answers, like a CONNECT over TCP.
     * Removed once the place is given back.
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
            ctx.fireChannelRead(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt == HandshakeTimeout.RESTART) {
                give(ctx.channel());
            }
            ctx.fireUserEventTriggered(evt);
        }
    }

    private record Waiting(Channel child, Door door, long since) {
    }

    /** A channel's place in the budget, given back once; also what gives it back if the channel closes first. */
    static final class Place implements ChannelFutureListener {
        final HandshakeBudget owner;
        final Channel child;
        final AtomicBoolean given = new AtomicBoolean();

        Place(HandshakeBudget owner, Channel child) {
            this.owner = owner;
            this.child = child;
        }

        @Override
        public void operationComplete(ChannelFuture future) {
            owner.give(child);
        }
    }
}
