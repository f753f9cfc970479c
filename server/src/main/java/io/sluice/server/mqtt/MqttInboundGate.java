package io.sluice.server.mqtt;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;

/**
 * Backpressure from the broker core to one publisher. While a PUBLISH waits for room in a full subscriber
 * queue (see {@code Broker.publish}), its acknowledgement is withheld and the packets after it wait here, in
 * order; {@link #resume()} replays them. Reading goes on until {@value #MAX_HELD} packets wait, then the channel
 * stops reading: held packets are bounded by that plus what one read delivers, and a publisher that is also a
 * subscriber of the full queue (a client subscribed to its own topics) still gets its acknowledgements read,
 * which is what frees the queue it waits for.
 *
 * <p>Acknowledgements of the broker's own deliveries (PUBACK, PUBREC, PUBCOMP) pass even while paused: they
 * free room in this client's queue, and holding them behind a publish that waits for room could wait forever.
 * PINGREQ passes too: it orders nothing, and a client that waits too long for PINGRESP drops the connection.
 * It also flushes what the handlers wrote once a read (or a replay) is done, so acknowledgements of one read
 * go out in one write.
 */
final class MqttInboundGate extends ChannelInboundHandlerAdapter {
    /** Packets held before the channel stops reading. */
    static final int MAX_HELD = 16;

    private final MqttConnection connection;
    private final ArrayDeque<Object> held = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private boolean paused;
    private boolean replaying;

    MqttInboundGate(MqttConnection connection) {
        this.connection = connection;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        connection.inRead(true);
        if ((paused || !held.isEmpty()) && !passesWhilePaused(msg)) {
            held.addLast(msg);
            if (held.size() >= MAX_HELD) {
                ctx.channel().config().setAutoRead(false);
            }
            return;
        }
        ctx.fireChannelRead(msg);
    }

    private static boolean passesWhilePaused(Object msg) {
        if (!(msg instanceof MqttMessage m) || m.decoderResult().isFailure()) {
            return false;
        }
        MqttMessageType type = m.fixedHeader().messageType();
        return type == MqttMessageType.PUBACK || type == MqttMessageType.PUBREC || type == MqttMessageType.PUBCOMP
                || type == MqttMessageType.PINGREQ;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        connection.inRead(false);
        ctx.flush();
        ctx.fireChannelReadComplete();
    }

    boolean isPaused() {
        return paused;
    }

    /** Hold inbound packets (and stop reading once {@value #MAX_HELD} wait) until {@link #resume()}. On the event loop. */
    void pause() {
        paused = true;
        if (held.size() >= MAX_HELD) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    /** Replay the held packets in order (one of them may pause again), then read again. On the event loop. */
    void resume() {
        paused = false;
        if (replaying) {
            return;
        }
        replaying = true;
        try {
            while (!paused && !held.isEmpty()) {
                ctx.fireChannelRead(held.pollFirst());
            }
        } finally {
            replaying = false;
        }
        ctx.flush();
        if (!paused && ctx.channel().isActive() && !connection.isClosing()) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseHeld();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseHeld();
    }

    private void releaseHeld() {
        Object m;
        while ((m = held.pollFirst()) != null) {
            ReferenceCountUtil.release(m);
        }
    }
}
