package io.sluice.server.mqtt;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.mqtt.MqttConnectVariableHeader;
import io.netty.handler.codec.mqtt.MqttIdentifierRejectedException;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttUnacceptableProtocolVersionException;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.ReferenceCountUtil;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.events.Rule;

/**
 * Packet order and decoding failures, before any packet reaches the handlers that act on it: a packet that
 * could not be decoded, anything but CONNECT first, a second CONNECT, and packets only a server sends each
 * end this connection with the spec's answer (MQTT 5 section 4.13, 3.1.1 section 4.8). Once the connection
 * is closing, nothing more gets through.
 */
final class MqttProtocolGuard extends ChannelInboundHandlerAdapter {
    private final MqttConnection connection;
    private final MqttConnectRefusal refusal;

    MqttProtocolGuard(MqttConnection connection, MqttConnectRefusal refusal) {
        this.connection = connection;
        this.refusal = refusal;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof MqttMessage m) || connection.isClosing()) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (m.decoderResult().isFailure()) {
            ReferenceCountUtil.release(msg);
            decodingFailed(m);
            return;
        }
        MqttMessageType type = m.fixedHeader().messageType();
        if (!connection.isConnected()) {
            if (type != MqttMessageType.CONNECT
                    && !(type == MqttMessageType.AUTH && connection.isAuthenticating())) {
                ReferenceCountUtil.release(msg);
                connection.closeForViolation(Rule.MQTT_FIRST_PACKET_CONNECT, ReasonCode.PROTOCOL_ERROR,
                        type + " before CONNECT (the first packet must be CONNECT, MQTT 5 section 3.1)");
                return;
            }
        } else if (type == MqttMessageType.CONNECT) {
            ReferenceCountUtil.release(msg);
            connection.closeForViolation(Rule.MQTT_SECOND_CONNECT, ReasonCode.PROTOCOL_ERROR,
                    "second CONNECT on one connection (MQTT 5 section 3.1)");
            return;
        }
        switch (type) {
            case CONNACK, SUBACK, UNSUBACK, PINGRESP -> {
                ReferenceCountUtil.release(msg);
                connection.closeForViolation(Rule.MQTT_SERVER_ONLY_PACKET, ReasonCode.PROTOCOL_ERROR,
                        type + " is sent only by servers");
            }
            default -> ctx.fireChannelRead(msg);
        }
    }

    private void decodingFailed(MqttMessage m) {
        Throwable cause = m.decoderResult().cause();
        String packet = m.fixedHeader() == null ? "packet" : m.fixedHeader().messageType().toString();
        String what;
        ReasonCode reason;
        Rule rule;
        if (cause instanceof MqttPacketCheck.Violation v) {
            what = packet + ": " + v.description;
            reason = v.violation.reason();
            rule = v.violation.rule();
        } else {
            what = packet + " could not be decoded: " + cause.getMessage();
            reason = reasonFor(cause);
            rule = ruleFor(cause, reason);
        }
        if (!connection.isConnected()) {
            if (m.variableHeader() instanceof MqttConnectVariableHeader h) {
                connection.version(MqttVersion.fromProtocolNameAndLevel(h.name(), (byte) h.version()));
            } else if (cause instanceof MqttPacketCheck.Violation v && v.version != null) {
                connection.version(v.version);
            }
            if (rule == null) {
                refusal.refuse(reason, what);
            } else {
                refusal.refuse(rule, reason, what);
            }
            return;
        }
        connection.closeForViolation(rule, reason, what);
    }

    /**
     * The rule a packet that failed to decode broke; null when the failure is the server's choice (a protocol
     * level or a client id it does not take), not the client's fault.
     */
    private static Rule ruleFor(Throwable cause, ReasonCode reason) {
        return switch (reason) {
            case PACKET_TOO_LARGE -> Rule.MQTT_PACKET_TOO_LARGE;
            case UNSUPPORTED_PROTOCOL_VERSION, CLIENT_IDENTIFIER_NOT_VALID -> null;
            case TOPIC_NAME_INVALID -> Rule.MQTT_PUBLISH_TOPIC_WILDCARD;
            default -> {
                String text = String.valueOf(cause.getMessage()).toLowerCase(java.util.Locale.ROOT);
                if (!text.contains("qos level in fixed header")) {
                    yield Rule.MQTT_MALFORMED_PACKET;
                }
                // Netty checks QoS bits: 3 on a PUBLISH, anything but 1 on SUBSCRIBE, UNSUBSCRIBE and PUBREL
                yield text.contains("of publish") ? Rule.MQTT_PUBLISH_QOS_3 : Rule.MQTT_RESERVED_FLAGS;
            }
        };
    }

    private static ReasonCode reasonFor(Throwable cause) {
        if (cause instanceof TooLongFrameException) {
            return ReasonCode.PACKET_TOO_LARGE;
        }
        if (cause instanceof MqttUnacceptableProtocolVersionException) {
            return ReasonCode.UNSUPPORTED_PROTOCOL_VERSION;
        }
        if (cause instanceof MqttIdentifierRejectedException) {
            return ReasonCode.CLIENT_IDENTIFIER_NOT_VALID;
        }
        String text = String.valueOf(cause.getMessage());
        if (text.contains("publish topic name")) {
            return ReasonCode.TOPIC_NAME_INVALID;
        }
        return ReasonCode.MALFORMED_PACKET;
    }
}
