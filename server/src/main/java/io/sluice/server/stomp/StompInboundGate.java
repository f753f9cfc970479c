package io.sluice.server.stomp;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeaders;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;
import java.util.List;

/**
 * Keeps decoded frames in order while the connection waits for the broker. A SEND whose publish is not yet
 * done (a subscriber's queue is full) {@linkplain #pause pauses} the gate: later frames wait here, in order,
 * until the publish completes and {@link #resume} lets them through, and once {@value #MAX_HELD} wait the
 * channel stops reading. This is how backpressure reaches a STOMP publisher, and why a RECEIPT (for a
 * DISCONNECT too) is never written before the frames ahead of it are done.
 *
 * <p>ACK and NACK outside a transaction pass even while paused: they free room in this connection's own
 * subscriptions, and holding them behind a SEND that waits for room (say, in a queue this same connection
 * consumes) could wait forever. Reading goes on for that reason until the bound is reached.
 *
 * <p>COMMIT uses {@link #pushFront} to replay a transaction's frames through the same path, ahead of
 * anything read after it; a {@link Runnable} queued here runs when its turn comes (a COMMIT's RECEIPT).
 */
final class StompInboundGate extends ChannelInboundHandlerAdapter {
    /** Frames held while paused before the channel stops reading. */
    static final int MAX_HELD = 8;

    private final ArrayDeque<Object> held = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private boolean paused;
    private boolean draining;
    private boolean discarding;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (discarding) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (paused && passesWhilePaused(msg)) {
            ctx.fireChannelRead(msg);
            return;
        }
        held.addLast(msg);
        drain();
        stopReadingIfFull();
    }

    private static boolean passesWhilePaused(Object msg) {
        return msg instanceof StompFrame f && f.decoderResult().isSuccess()
                && (f.command() == StompCommand.ACK || f.command() == StompCommand.NACK)
                && !f.headers().contains(StompHeaders.TRANSACTION);
    }

    private void stopReadingIfFull() {
        if (paused && held.size() >= MAX_HELD) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    void pause() {
        paused = true;
        stopReadingIfFull();
    }

    void resume() {
        paused = false;
        drain();
        if (!paused && !discarding) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    boolean isPaused() {
        return paused;
    }

    /** Put frames (or Runnables) ahead of everything held, in the given order. */
    void pushFront(List<Object> items) {
        for (int i = items.size() - 1; i >= 0; i--) {
            held.addFirst(items.get(i));
        }
        drain();
    }

    /** The connection is closing: drop what is held and whatever still arrives. */
    void discardAll() {
        discarding = true;
        Object o;
        while ((o = held.pollFirst()) != null) {
            ReferenceCountUtil.release(o);
        }
    }

    private void drain() {
        if (draining) {
            return;
        }
        draining = true;
        try {
            Object o;
            while (!paused && !discarding && (o = held.pollFirst()) != null) {
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
