package io.sluice.server.mqtt;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.sluice.protocol.ws.FramePayloadCodec;
import io.sluice.protocol.ws.Subprotocol;
import io.sluice.server.security.PublishRate;
import io.sluice.server.security.Security;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.SessionId;
import io.sluice.server.config.Settings;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Transport;
import io.sluice.server.ops.TopicLimits;
import io.sluice.server.transport.InboundGate;
import io.sluice.server.transport.ProtocolModule;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * MQTT 3.1, 3.1.1 and 5.0 for the transport: Netty's MQTT codec plus one handler per concern, over TCP or
 * WebSocket alike. Pipeline, inbound order:
 * <pre>
 *   MqttPacketCheck (whole packets, their rules; PUBLISH and its acknowledgements decoded at once)
 *   -> MqttDecoder (every other packet) -> InboundGate (flow control)
 *   -> MqttProtocolGuard (decode failures, packet order) -> MqttConnectHandler (CONNECT, PINGREQ, DISCONNECT;
 *      keep-alive, watched by the event loop's {@link io.sluice.server.transport.IdleSweep} rather than a handler)
 *   -> MqttPublishHandler (PUBLISH, PUBREL) -> MqttSubscribeHandler (SUBSCRIBE, UNSUBSCRIBE)
 *   -> MqttDeliverySink (deliveries out, PUBACK/PUBREC/PUBCOMP in) -> MqttErrorHandler
 * </pre>
 * Outbound, {@link MqttPublishEncoder} encodes PUBLISH packets without properties (leaving room for a WebSocket
 * frame header) and Netty's {@code MqttEncoder} every other packet.
 */
public final class MqttModule implements ProtocolModule {
    /** The namespace of MQTT client ids among the broker's sessions: no other protocol's client can reach them. */
    public static final String NAMESPACE = "mqtt";

    private static final byte[] MQTT = "MQTT".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MQISDP = "MQIsdp".getBytes(StandardCharsets.US_ASCII);

    private final Broker broker;
    private final MqttLimits limits;
    private final Security security;
    private final java.util.function.Supplier<PublishRate> publishRates;
    private final ConnectionEvents events;
    private final TopicLimits topicLimits;
    private final int maxHeldInbound;

    public MqttModule(Broker broker, Settings settings) {
        this(broker, settings, Security.allowAll());
    }

    public MqttModule(Broker broker, Settings settings, Security security) {
        this(broker, settings, security, ConnectionEvents.NONE);
    }

    /** {@code events}: where connects, disconnects, traffic and errors are reported (metrics, log). */
    public MqttModule(Broker broker, Settings settings, Security security, ConnectionEvents events) {
        this.publishRates = () -> PublishRate.from(settings);
        this.broker = broker;
        this.limits = MqttLimits.from(settings);
        this.security = security;
        this.events = events;
        this.topicLimits = TopicLimits.from(settings);
        this.maxHeldInbound = settings.get(Settings.MAX_HELD_INBOUND);
    }

    /** The broker session of the MQTT client with this client id. */
    public static SessionId sessionId(String clientId) {
        return new SessionId(NAMESPACE, clientId);
    }

    @Override
    public String name() {
        return "mqtt";
    }

    @Override
    public List<Subprotocol> subprotocols() {
        return List.of(Subprotocol.MQTT, Subprotocol.MQTT_V31);
    }

    @Override
    public List<String> paths() {
        return List.of("/mqtt");
    }

    /** A CONNECT fixed header (0x10), its remaining length, then the protocol name "MQTT" or "MQIsdp". */
    @Override
    public Recognition recognize(ByteBuf head) {
        int i = head.readerIndex();
        int end = head.writerIndex();
        if (i >= end) {
            return Recognition.NEED_MORE;
        }
        if (head.getUnsignedByte(i++) != 0x10) {
            return Recognition.NO;
        }
        for (int n = 0; ; n++) {
            if (i >= end) {
                return Recognition.NEED_MORE;
            }
            if (n == 4) {
                return Recognition.NO;
            }
            if ((head.getUnsignedByte(i++) & 0x80) == 0) {
                break;
            }
        }
        if (end - i < 2) {
            return Recognition.NEED_MORE;
        }
        int nameLength = head.getUnsignedShort(i);
        i += 2;
        if (nameLength != MQTT.length && nameLength != MQISDP.length) {
            return Recognition.NO;
        }
        byte[] expected = nameLength == MQTT.length ? MQTT : MQISDP;
        for (int k = 0; k < expected.length; k++, i++) {
            if (i >= end) {
                return Recognition.NEED_MORE;
            }
            if (head.getByte(i) != expected[k]) {
                return Recognition.NO;
            }
        }
        return Recognition.YES;
    }

    /**
     * CONNACK refusing the CONNECT in {@code head} with {@code refusal}: MQTT 5 with the refusal's reason code
     * (0x89 server busy, section 3.2.2.2) and no properties, 3.1.1 and 3.1 with its return code (0x03 server
     * unavailable, 3.1.1 section 3.2.2.3), read from the protocol level that follows the protocol name. No
     * Reason String: the client's Maximum Packet Size, which a CONNACK must respect, is further on in the CONNECT.
     */
    @Override
    public ByteBuf refusal(ByteBuf head, Refusal refusal) {
        Recognition r = recognize(head);
        if (r == Recognition.NO) {
            return Unpooled.EMPTY_BUFFER;
        }
        int level = r == Recognition.YES ? protocolLevel(head) : -1;
        if (level < 0) {
            return null;
        }
        return switch (level) {
            case 5 -> Unpooled.wrappedBuffer(new byte[] {0x20, 3, 0, (byte) refusal.mqtt5ReasonCode(), 0});
            case 3, 4 -> Unpooled.wrappedBuffer(new byte[] {0x20, 2, 0, (byte) refusal.mqtt3ReturnCode()});
            default -> Unpooled.EMPTY_BUFFER; // a level no version has: 0x01 would do, but no answer is as clear
        };
    }

    /** The protocol level byte of a recognized CONNECT head, -1 while it has not arrived. */
    private static int protocolLevel(ByteBuf head) {
        int i = head.readerIndex() + 1;
        while ((head.getUnsignedByte(i++) & 0x80) != 0) {
            // the remaining length, already checked by recognize
        }
        i += 2 + head.getUnsignedShort(i);
        return i < head.writerIndex() ? head.getUnsignedByte(i) : -1;
    }

    /**
     * No: MQTT keep-alive, enforced at 1.5 times the client's interval, finds dead MQTT peers on every transport,
     * and Eclipse Paho's Java WebSocket transport (1.2.5) takes a server Ping frame for MQTT data and drops
     * the connection.
     */
    @Override
    public boolean wantsWebSocketPings() {
        return false;
    }

    @Override
    public boolean acceptsTextFrames() {
        return false;
    }

    /**
     * What the {@link InboundGate} lets through while a publish waits: acknowledgements of the broker's own
     * deliveries (PUBACK, PUBREC, PUBCOMP) free room in this client's queue, and PINGREQ orders nothing while a
     * client waiting too long for PINGRESP drops the connection. A packet that failed to decode waits in line.
     */
    static boolean passesWhilePaused(Object msg) {
        if (!(msg instanceof MqttMessage m) || m.decoderResult().isFailure()) {
            return false;
        }
        MqttMessageType type = m.fixedHeader().messageType();
        return type == MqttMessageType.PUBACK || type == MqttMessageType.PUBREC || type == MqttMessageType.PUBCOMP
                || type == MqttMessageType.PINGREQ;
    }

    @Override
    public void install(ChannelPipeline pipeline, ConnectionInfo info) {
        InboundGate gate = new InboundGate(maxHeldInbound, MqttModule::passesWhilePaused);
        MqttConnection connection = new MqttConnection(pipeline.channel(), info, broker, limits, events, topicLimits,
                gate);
        connection.publishRate = publishRates.get();
        MqttConnectRefusal refusal = new MqttConnectRefusal(connection);
        MqttDeliverySink sink = new MqttDeliverySink(connection);
        // Netty's limit counts the whole packet, fixed header included, as Maximum Packet Size does (MQTT 5 3.1.2.11.4)
        pipeline.addLast("mqtt-check", new MqttPacketCheck(limits.maxPacketSize()));
        pipeline.addLast("mqtt-decoder", new MqttDecoder(limits.maxPacketSize()));
        pipeline.addLast("mqtt-codec-encoder", MqttEncoder.INSTANCE);
        pipeline.addLast("mqtt-encoder", new MqttPublishEncoder(connection::isV5,
                info.transport() == Transport.WEBSOCKET ? FramePayloadCodec.HEADROOM : 0));
        pipeline.addLast("mqtt-gate", gate);
        pipeline.addLast("mqtt-guard", new MqttProtocolGuard(connection, refusal));
        pipeline.addLast("mqtt-connect", new MqttConnectHandler(connection, refusal, sink, security));
        pipeline.addLast("mqtt-publish", new MqttPublishHandler(connection));
        pipeline.addLast("mqtt-subscribe", new MqttSubscribeHandler(connection));
        pipeline.addLast("mqtt-delivery", sink);
        pipeline.addLast("mqtt-errors", new MqttErrorHandler(connection));
    }
}
