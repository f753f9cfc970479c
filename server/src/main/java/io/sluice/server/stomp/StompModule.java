package io.sluice.server.stomp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeaders;
import io.sluice.protocol.stomp.StompFrameAggregator;
import io.sluice.protocol.ws.Subprotocol;
import io.sluice.server.security.PublishRate;
import io.sluice.server.security.Security;
import io.sluice.server.broker.Broker;
import io.sluice.server.config.Settings;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.Refusal;
import io.sluice.server.ops.TopicLimits;
import io.sluice.server.transport.InboundGate;
import io.sluice.server.transport.ProtocolModule;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * STOMP 1.0, 1.1 and 1.2 on the shared broker, over TCP and WebSocket ({@code v10.stomp}, {@code v11.stomp},
 * {@code v12.stomp}, path {@code /stomp}). Frames are parsed and written by Netty's STOMP codec; see
 * {@link io.sluice.protocol.stomp.StompDestination} for how destinations map onto MQTT topics.
 *
 * <p>The pipeline, one concern per handler: decoder (heart-beat EOLs, per-version unescaping), aggregator
 * (body limit), encoder (per-version escaping), inbound gate (order and backpressure), connect (CONNECT,
 * DISCONNECT, heart-beats), transactions, send, subscriptions (SUBSCRIBE, ACK, deliveries), errors.
 */
public final class StompModule implements ProtocolModule {
    /**
     * The namespace of the broker sessions STOMP opens (one per SUBSCRIBE, {@code stomp-<conn>-<n>}, and one per
     * queue holding messages while it has no consumer): no MQTT client id can reach them.
     */
    public static final String NAMESPACE = "stomp";

    private static final byte[] CONNECT = "CONNECT".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] STOMP = "STOMP".getBytes(StandardCharsets.US_ASCII);

    private final Broker broker;
    private final StompConfig config;
    private final StompQueues queues;
    private final Security security;
    private final java.util.function.Supplier<PublishRate> publishRates;
    private final ConnectionEvents events;
    private final TopicLimits topicLimits;
    private final AtomicLong connections = new AtomicLong();

    public StompModule(Broker broker, Settings settings) {
        this(broker, settings, Security.allowAll());
    }

    /** With the security policy that checks CONNECT's login and passcode and each destination (the one MQTT uses). */
    public StompModule(Broker broker, Settings settings, Security security) {
        this(broker, settings, security, ConnectionEvents.NONE);
    }

    /** {@code events}: where connects, disconnects, traffic and errors are reported (metrics, log). */
    public StompModule(Broker broker, Settings settings, Security security, ConnectionEvents events) {
        this.publishRates = () -> PublishRate.from(settings);
        this.broker = broker;
        this.security = security;
        this.events = events;
        this.topicLimits = TopicLimits.from(settings);
        this.config = StompConfig.of(settings);
        this.queues = new StompQueues(broker, config.maxQueues());
    }

    @Override
    public String name() {
        return "stomp";
    }

    @Override
    public List<Subprotocol> subprotocols() {
        return List.of(Subprotocol.STOMP_12, Subprotocol.STOMP_11, Subprotocol.STOMP_10);
    }

    @Override
    public List<String> paths() {
        return List.of("/stomp");
    }

    /** A STOMP connection starts with CONNECT or STOMP on a line of its own, maybe after heart-beat EOLs. */
    @Override
    public Recognition recognize(ByteBuf head) {
        int i = head.readerIndex();
        int end = head.writerIndex();
        while (i < end && (head.getByte(i) == '\n' || head.getByte(i) == '\r')) {
            i++;
        }
        if (i == end) {
            return Recognition.NEED_MORE;
        }
        Recognition connect = command(head, i, end, CONNECT);
        return connect == Recognition.NO ? command(head, i, end, STOMP) : connect;
    }

    private static Recognition command(ByteBuf head, int start, int end, byte[] command) {
        int i = start;
        for (byte b : command) {
            if (i == end) {
                return Recognition.NEED_MORE;
            }
            if (head.getByte(i++) != b) {
                return Recognition.NO;
            }
        }
        if (i == end) {
            return Recognition.NEED_MORE;
        }
        byte next = head.getByte(i++);
        if (next == '\n') {
            return Recognition.YES;
        }
        if (next != '\r') {
            return Recognition.NO;
        }
        if (i == end) {
            return Recognition.NEED_MORE;
        }
        return head.getByte(i) == '\n' ? Recognition.YES : Recognition.NO;
    }

    @Override
    public boolean acceptsTextFrames() {
        return true;
    }

    /**
     * What the {@link InboundGate} lets through while a SEND waits for room: ACK and NACK outside a transaction
     * free room in this connection's own subscriptions, and holding them behind a SEND that waits for room (say,
     * in a queue this same connection consumes) could wait forever. Everything else waits in order, so a RECEIPT
     * (a DISCONNECT's too) is never written before the frames ahead of it are done.
     */
    static boolean passesWhilePaused(Object msg) {
        return msg instanceof StompFrame f && f.decoderResult().isSuccess()
                && (f.command() == StompCommand.ACK || f.command() == StompCommand.NACK)
                && !f.headers().contains(StompHeaders.TRANSACTION);
    }

    /**
     * An ERROR frame at once, whatever the client sent (STOMP 1.2: the server may send ERROR and close at any
     * time); the client needs no CONNECT answered to learn it was refused.
     */
    @Override
    public ByteBuf refusal(ByteBuf head, Refusal refusal) {
        return StompFrames.encodedError(refusal.message(), refusal.message() + ".");
    }

    @Override
    public void install(ChannelPipeline pipeline, ConnectionInfo info) {
        StompConnection conn = new StompConnection("stomp-" + connections.incrementAndGet(), info, broker, config, queues,
                events, topicLimits);
        conn.publishRate = publishRates.get();
        pipeline.addLast("stomp-decoder", conn.decoder);
        pipeline.addLast("stomp-aggregator", new StompFrameAggregator(config.maxFrameBody()));
        pipeline.addLast("stomp-encoder", conn.encoder);
        pipeline.addLast("stomp-gate", conn.gate);
        pipeline.addLast("stomp-connect", new StompConnectHandler(conn, security));
        StompSendHandler send = new StompSendHandler(conn);
        pipeline.addLast("stomp-transactions", new StompTransactionHandler(conn, send));
        pipeline.addLast("stomp-send", send);
        pipeline.addLast("stomp-subscriptions", new StompSubscriptionHandler(conn));
        pipeline.addLast("stomp-errors", conn.errors);
    }

    /** Queues holding messages, for metrics and tests. */
    public int queueCount() {
        return queues.count();
    }
}
