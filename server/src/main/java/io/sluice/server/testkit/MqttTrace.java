package io.sluice.server.testkit;

import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.handler.codec.mqtt.MqttConnAckVariableHeader;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import io.netty.handler.codec.mqtt.MqttUnsubAckMessage;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;

import java.io.IOException;

/** The decoded fields of an MQTT packet, as a trace line shows them. */
final class MqttTrace {
    private MqttTrace() {
    }

    static int payloadSize(MqttMessage m) {
        return m instanceof MqttPublishMessage p ? p.payload().readableBytes() : 0;
    }

    static byte[] payloadPrefix(MqttMessage m) {
        return m instanceof MqttPublishMessage p ? Payloads.prefix(p.payload()) : null;
    }

    static void fields(MqttMessage m, JsonGenerator g) throws IOException {
        if (m.fixedHeader() == null) {
            return;
        }
        if (m.decoderResult().isFailure()) {
            g.writeStringField("error", String.valueOf(m.decoderResult().cause().getMessage()));
            return;
        }
        switch (m.fixedHeader().messageType()) {
            case CONNECT -> {
                MqttConnectMessage c = (MqttConnectMessage) m;
                g.writeStringField("protocol", c.variableHeader().name());
                g.writeNumberField("level", c.variableHeader().version());
                g.writeStringField("clientId", c.payload().clientIdentifier());
                g.writeBooleanField("cleanStart", c.variableHeader().isCleanSession());
                g.writeNumberField("keepAlive", c.variableHeader().keepAliveTimeSeconds());
                g.writeBooleanField("username", c.variableHeader().hasUserName());
                g.writeBooleanField("password", c.variableHeader().hasPassword());
                if (c.variableHeader().isWillFlag()) {
                    g.writeStringField("willTopic", c.payload().willTopic());
                    g.writeNumberField("willQos", c.variableHeader().willQos());
                    g.writeBooleanField("willRetain", c.variableHeader().isWillRetain());
                }
                properties(g, c.variableHeader().properties());
            }
            case CONNACK -> {
                MqttConnAckVariableHeader h = (MqttConnAckVariableHeader) m.variableHeader();
                g.writeStringField("reasonCode", hex(h.connectReturnCode().byteValue()));
                g.writeBooleanField("sessionPresent", h.isSessionPresent());
                properties(g, h.properties());
            }
            case PUBLISH -> {
                MqttPublishMessage p = (MqttPublishMessage) m;
                g.writeStringField("topic", p.variableHeader().topicName());
                g.writeNumberField("qos", p.fixedHeader().qosLevel().value());
                g.writeBooleanField("retain", p.fixedHeader().isRetain());
                g.writeBooleanField("dup", p.fixedHeader().isDup());
                if (p.variableHeader().packetId() > 0) {
                    g.writeNumberField("packetId", p.variableHeader().packetId());
                }
                properties(g, p.variableHeader().properties());
            }
            case SUBSCRIBE -> {
                MqttSubscribeMessage s = (MqttSubscribeMessage) m;
                MqttMessageIdAndPropertiesVariableHeader h = s.idAndPropertiesVariableHeader();
                g.writeNumberField("packetId", h.messageId());
                g.writeArrayFieldStart("filters");
                for (MqttTopicSubscription t : s.payload().topicSubscriptions()) {
                    g.writeStartObject();
                    g.writeStringField("filter", t.topicName());
                    g.writeNumberField("qos", t.qualityOfService().value());
                    g.writeBooleanField("noLocal", t.option().isNoLocal());
                    g.writeBooleanField("retainAsPublished", t.option().isRetainAsPublished());
                    g.writeStringField("retainHandling", t.option().retainHandling().name());
                    g.writeEndObject();
                }
                g.writeEndArray();
                properties(g, h.properties());
            }
            case SUBACK -> {
                MqttSubAckMessage s = (MqttSubAckMessage) m;
                g.writeNumberField("packetId", s.variableHeader().messageId());
                g.writeArrayFieldStart("reasonCodes");
                for (int code : s.payload().reasonCodes()) {
                    g.writeString(hex(code));
                }
                g.writeEndArray();
            }
            case UNSUBSCRIBE -> {
                MqttUnsubscribeMessage u = (MqttUnsubscribeMessage) m;
                g.writeNumberField("packetId", u.idAndPropertiesVariableHeader().messageId());
                g.writeArrayFieldStart("filters");
                for (String t : u.payload().topics()) {
                    g.writeString(t);
                }
                g.writeEndArray();
            }
            case UNSUBACK -> {
                MqttUnsubAckMessage u = (MqttUnsubAckMessage) m;
                g.writeNumberField("packetId", u.variableHeader().messageId());
                if (u.payload() != null) {
                    g.writeArrayFieldStart("reasonCodes");
                    for (short code : u.payload().unsubscribeReasonCodes()) {
                        g.writeString(hex(code));
                    }
                    g.writeEndArray();
                }
            }
            case PUBACK, PUBREC, PUBREL, PUBCOMP -> {
                g.writeNumberField("packetId", packetId(m));
                if (m.variableHeader() instanceof MqttPubReplyMessageVariableHeader h) {
                    g.writeStringField("reasonCode", hex(h.reasonCode()));
                    properties(g, h.properties());
                }
            }
            case DISCONNECT, AUTH -> {
                if (m.variableHeader() instanceof MqttReasonCodeAndPropertiesVariableHeader h) {
                    g.writeStringField("reasonCode", hex(h.reasonCode()));
                    properties(g, h.properties());
                }
            }
            default -> {
                // PINGREQ, PINGRESP: the type says it all
            }
        }
    }

    /** The packet identifier of a PUBACK, PUBREC, PUBREL or PUBCOMP (MQTT 3.1.1 or 5 form), -1 if none. */
    static int packetId(MqttMessage m) {
        if (m.variableHeader() instanceof MqttPubReplyMessageVariableHeader h) {
            return h.messageId();
        }
        if (m.variableHeader() instanceof MqttMessageIdVariableHeader h) {
            return h.messageId();
        }
        return -1;
    }

    private static void properties(JsonGenerator g, MqttProperties props) throws IOException {
        if (props == null || props.isEmpty()) {
            return;
        }
        g.writeObjectFieldStart("properties");
        for (MqttProperties.MqttProperty<?> p : props.listAll()) {
            String name;
            try {
                name = MqttProperties.MqttPropertyType.valueOf(p.propertyId()).name();
            } catch (IllegalArgumentException e) {
                name = hex(p.propertyId());
            }
            Object v = p.value();
            if (v instanceof byte[] b) {
                g.writeNumberField(name + "_bytes", b.length);
            } else if (v instanceof Integer i) {
                g.writeNumberField(name, i);
            } else if (v instanceof java.util.List<?> list) {
                g.writeStringField(name, list.toString());
            } else {
                g.writeStringField(name, String.valueOf(v));
            }
        }
        g.writeEndObject();
    }

    static String hex(int code) {
        return String.format("0x%02X", code & 0xFF);
    }
}
