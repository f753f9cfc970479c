package io.sluice.server.transport;

import io.sluice.server.events.HandledMessages;
import io.sluice.server.events.HeldWork;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Predicate;

/**
 * Backpressure from the broker core to one publisher, the same for every protocol adapter (and any other path
 * that reads a socket into {@code Broker.publish}). It sits between a protocol's decoder and its handlers. While
 * a publish waits for room in a full subscriber queue, its adapter {@linkplain #pause() pauses} the gate and
 * withholds the acknowledgement; the decoded packets or frames after it wait here, in order, and
 * {@link #resume()} replays them when the publish completes. Nothing is dropped and nothing is reordered, which
 * is why a receipt or acknowledgement is never written before the work ahead of it is done.
 *
 * <p>Some inbound messages must pass even while paused, and the adapter says which ({@code passesWhilePaused}):
 * the client's acknowledgements of the broker's own deliveries (MQTT PUBACK/PUBREC/PUBCOMP, STOMP ACK/NACK
 * outside a transaction) free room in this client's own queue, and holding them behind a publish that waits for
 * room (a client subscribed to its own topics, or consuming a queue it sends to) could wait forever; a
 * keep-alive (MQTT PINGREQ) orders nothing and a client that waits too long for its answer drops the connection.
 *
 * <p><b>The bound.</b> To let those pass, the gate goes on reading while paused, holding everything else, until
 * {@code maxHeld} messages wait; then the channel stops reading, and TCP's flow control takes the pressure to
 * the client. So a paused connection holds at most {@code maxHeld} messages plus what one read delivered, each no
 * larger than {@code --max-packet-size}: the bound is a memory limit ({@code --max-held-inbound}). A larger value
 * lets more acknowledgements through to a client that interleaves them with its publishes, at that memory cost
 * per paused connection; a smaller one stops reading sooner.
 *
 * <p>A {@link Runnable} put in with {@link #pushFront} runs when its turn comes (STOMP replays a committed
 * transaction's frames through the same path, then writes the COMMIT's RECEIPT). The gate also flushes what the
 * handlers wrote once a read (or a replay) is done, so the answers to one read go out in one write;
 * {@link #inRead()} tells a writer that such a flush is coming.
 *
 * <p>Only touched on the channel's event loop.
 */
public final class InboundGate extends ChannelInboundHandlerAdapter {
    private final int maxHeld;
    private final Predicate<Object> passesWhilePaused;
    // empty on almost every connection almost always: start at the smallest capacity, grow when a publish waits
    private final ArrayDeque<Object> held = new ArrayDeque<>(1);
    private ChannelHandlerContext ctx;
    private boolean paused;
    /** Held back for a while by a rate limit ({@link #throttle}), independently of a publish's pause. */
    private boolean throttled;
    private boolean draining;
    private boolean discarding;
    private boolean inRead;
    /** Counted in {@link HeldWork} on the event loop while paused. */
    private boolean holding;

    /**
     * @param maxHeld           messages held while paused before the channel stops reading (at least 1)
     * @param passesWhilePaused what the protocol lets through while paused (acknowledgements, keep-alives)
     */
    public InboundGate(int maxHeld, Predicate<Object> passesWhilePaused) {
        if (maxHeld < 1) {
            throw new IllegalArgumentException("maxHeld must be at least 1: " + maxHeld);
        }
        this.maxHeld = maxHeld;
        this.passesWhilePaused = passesWhilePaused;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        inRead = true;
        HandledMessages.add(1);
        if (discarding) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!paused && !throttled && held.isEmpty()) {
            ctx.fireChannelRead(msg);
            return;
        }
        if ((paused || throttled) && passesWhilePaused.test(msg)) {
            ctx.fireChannelRead(msg);
            return;
        }
        held.addLast(msg);
        drain();
        stopReadingIfFull();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        inRead = false;
        ctx.flush();
        ctx.fireChannelReadComplete();
    }

    /** True between a read's first message and its end, when the gate flushes what the handlers wrote. */
    public boolean inRead() {
        return inRead;
    }

    public boolean isPaused() {
        return paused;
    }

    /** How many messages wait; for tests and metrics. */
    public int heldCount() {
        return held.size();
    }

    /** The bound this gate was built with. */
    public int maxHeld() {
        return maxHeld;
    }

    /** Hold what arrives from now on (and stop reading once the bound is reached) until {@link #resume()}. */
    public void pause() {
        paused = true;
        if (!holding && ctx.executor().inEventLoop()) {
            holding = true;
            HeldWork.hold(); // this loop wakes for the resuming task at once rather than nap (CoalescedWakeups)
        }
        stopReadingIfFull();
    }

    /** Replay what is held, in order (one of them may pause again), then read again. */
    public void resume() {
        paused = false;
        releaseHold();
        drain();
        ctx.flush();
        if (!paused && !throttled && !discarding && ctx.channel().isActive()) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    /**
     * Hold what arrives, as {@link #pause()} does, for {@code nanos} (a client over its publish rate), then go on
     * unless a publish still holds the gate. The message being handled now is not held back; what follows it is.
     */
    public void throttle(long nanos) {
        if (throttled || discarding) {
            return;
        }
        throttled = true;
        ctx.executor().schedule(() -> {
            throttled = false;
            if (!paused && !discarding) {
                resume();
            }
        }, nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    public boolean isThrottled() {
        return throttled;
    }

    /** Put messages (or Runnables) ahead of everything held, in the given order, and go on if not paused. */
    public void pushFront(List<?> items) {
        for (int i = items.size() - 1; i >= 0; i--) {
            held.addFirst(items.get(i));
        }
        drain();
    }

    /** The connection is closing: drop what is held and whatever still arrives; reading is never resumed. */
    public void discardAll() {
        discarding = true;
        releaseHold();
        Object o;
        while ((o = held.pollFirst()) != null) {
            ReferenceCountUtil.release(o);
        }
    }

    private void releaseHold() {
        if (holding) {
            holding = false;
            if (ctx.executor().inEventLoop()) {
                HeldWork.release();
            } else {
                ctx.executor().execute(HeldWork::release); // counted on the loop's thread, so released there
            }
        }
    }

    private void stopReadingIfFull() {
        if ((paused || throttled) && held.size() >= maxHeld) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void drain() {
        if (draining) {
            return; // a message being replayed resumed or pushed: the loop below goes on with it
        }
        draining = true;
        try {
            Object o;
            while (!paused && !throttled && !discarding && (o = held.pollFirst()) != null) {
                if (o instanceof Runnable r) {
                    r.run();
                } else {
                    ctx.fireChannelRead(o);
                }
            }
        } finally {
            draining = false;
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        discardAll();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        discardAll();
        ctx.fireChannelInactive();
    }
}
