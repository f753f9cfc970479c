package io.sluice.server.stomp;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeaders;
import io.netty.util.concurrent.EventExecutor;
import io.sluice.protocol.stomp.StompDestination;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.PublishOutcome;
import io.sluice.server.broker.SessionId;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.events.Limit;

import java.util.function.Consumer;

/**
 * SEND: the frame becomes a QoS 1 publish on the shared trie. {@code Broker.publish} says when every matching
 * queue holds the message, possibly later, from another thread, when a subscriber's queue was full; until
 * then later frames wait in order in the {@link io.sluice.server.transport.InboundGate} (which stops reading when enough wait), and
 * only then is the RECEIPT written. That withheld receipt and the stopped reads are STOMP's form of the QoS 1
 * backpressure MQTT publishers get through PUBACK.
 */
final class StompSendHandler extends ChannelInboundHandlerAdapter {
    private final StompConnection conn;

    StompSendHandler(StompConnection conn) {
        this.conn = conn;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof StompFrame frame) || frame.command() != StompCommand.SEND) {
            ctx.fireChannelRead(msg);
            return;
        }
        StompDestination destination;
        Message message;
        String receipt;
        try {
            destination = destination(frame);
            receipt = StompFrames.header(frame, StompHeaders.RECEIPT);
            if (destination.kind() == StompDestination.Kind.QUEUE) {
                conn.queues.declare(destination);
            }
            message = StompMessages.toMessage(frame, destination, new SessionId(StompModule.NAMESPACE, conn.id));
        } finally {
            frame.release();
        }
        conn.events.messageIn("stomp", conn.info, 1, message.payload().length);
        Completion done = new Completion(ctx, destination, receipt);
        conn.broker.publish(message, destination.kind() == StompDestination.Kind.QUEUE, done);
        if (conn.publishRate != null) {
            conn.publishRate.published(conn.gate, message.payload().length);
        }
        done.publishReturned();
    }

    /** The frame's destination, parsed for a SEND and within the topic limits; the ERROR says what is wrong. */
    StompDestination destination(StompFrame frame) {
        String d = StompFrames.required(frame, StompHeaders.DESTINATION);
        StompDestination destination;
        try {
            destination = StompDestination.forSend(d);
        } catch (StompDestination.InvalidDestinationException e) {
            throw StompFrames.bad(frame, "invalid destination", e.getMessage());
        }
        StompFrames.checkLimits(conn, frame, destination);
        if (!conn.access.mayPublish(destination.mqttTopic())) {
            throw conn.denied("send", destination.mqttTopic(), StompFrames.header(frame, StompHeaders.RECEIPT));
        }
        return destination;
    }

    /** Runs once the broker holds the message: RECEIPT, then reading resumes if it had to stop. */
    private final class Completion implements Consumer<PublishOutcome> {
        private final ChannelHandlerContext ctx;
        private final EventExecutor loop;
        private final StompDestination destination;
        private final String receipt;
        private boolean inPublishCall = true;
        private PublishOutcome immediate;
        private boolean paused;

        Completion(ChannelHandlerContext ctx, StompDestination destination, String receipt) {
            this.ctx = ctx;
            this.loop = ctx.executor();
            this.destination = destination;
            this.receipt = receipt;
        }

        @Override
        public void accept(PublishOutcome outcome) {
            if (inPublishCall && loop.inEventLoop()) {
                immediate = outcome;
            } else {
                loop.execute(() -> finish(outcome));
            }
        }

        void publishReturned() {
            inPublishCall = false;
            if (immediate != null) {
                finish(immediate);
            } else {
                paused = true;
                conn.gate.pause();
            }
        }

        private void finish(PublishOutcome outcome) {
            if (outcome.storeFailed()) {
                conn.errors.fail(DisconnectReason.STORE_FAILING, "message store failing", "The broker's message store "
                        + "cannot write, so this message was not accepted; send it again later.", receipt);
                return;
            }
            if (outcome.quotaExceeded() && destination.kind() == StompDestination.Kind.QUEUE) {
                conn.errors.fail(DisconnectReason.LIMIT_EXCEEDED, "queue full", "The queue " + destination + " holds as many messages as it may "
                        + "while it has no consumer (settings max-queued-messages, max-queued-bytes); this message was "
                        + "not accepted. Attach a consumer, then send again.", receipt);
                return;
            }
            if (receipt != null && ctx.channel().isActive()) {
                ctx.writeAndFlush(StompFrames.receipt(receipt));
            }
            if (paused) {
                conn.gate.resume();
            }
        }
    }
}
