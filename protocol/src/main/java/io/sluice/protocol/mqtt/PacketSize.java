package io.sluice.protocol.mqtt;

import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.MqttProperty;


/**
 * Encoded sizes of MQTT packets before they are encoded, so the broker can keep to a client's Maximum Packet
 * Size (MQTT 5 section 3.1.2.11.4) without encoding a packet it must not send.
 */
public final class PacketSize {
    private PacketSize() {
    }

    /** Bytes of a Variable Byte Integer (MQTT 5 section 1.5.5). */
    public static int varIntSize(int value) {
        if (value < 128) {
            return 1;
        }
        if (value < 16_384) {
            return 2;
        }
        if (value < 2_097_152) {
            return 3;
        }
        return 4;
    }

    /** A whole packet: fixed header byte, remaining length, and the remaining bytes. */
    public static int packet(int remainingLength) {
        return 1 + varIntSize(remainingLength) + remainingLength;
    }

    /**
     * A PUBLISH packet. {@code properties} is null before MQTT 5, where a PUBLISH has no property section.
     */
    public static int publish(String topic, int qos, MqttProperties properties, int payloadBytes) {
        int remaining = 2 + utf8Length(topic) + (qos > 0 ? 2 : 0) + payloadBytes;
        if (properties != null) {
            int props = properties(properties);
            remaining += varIntSize(props) + props;
        }
        return packet(remaining);
    }

    /** The bytes of a property section's content, without its length prefix (MQTT 5 section 2.2.2). */
    public static int properties(MqttProperties properties) {
        int size = 0;
        for (MqttProperty<?> p : properties.listAll()) {
            if (p instanceof MqttProperties.UserProperties user) {
                for (MqttProperties.StringPair pair : user.value()) {
                    size += 1 + 2 + utf8Length(pair.key) + 2 + utf8Length(pair.value);
                }
                continue;
            }
            size += 1 + valueSize(p);
        }
        return size;
    }

    private static int valueSize(MqttProperty<?> p) {
        Object v = p.value();
        if (v instanceof String s) {
            return 2 + utf8Length(s);
        }
        if (v instanceof byte[] b) {
            return 2 + b.length;
        }
        if (v instanceof MqttProperties.StringPair pair) {
            return 2 + utf8Length(pair.key) + 2 + utf8Length(pair.value);
        }
        int n = (Integer) v;
        switch (p.propertyId()) {
            case MqttProperties.SERVER_KEEP_ALIVE, MqttProperties.RECEIVE_MAXIMUM, MqttProperties.TOPIC_ALIAS_MAXIMUM,
                 MqttProperties.TOPIC_ALIAS:
                return 2;
            case MqttProperties.PUBLICATION_EXPIRY_INTERVAL, MqttProperties.SESSION_EXPIRY_INTERVAL,
                 MqttProperties.WILL_DELAY_INTERVAL, MqttProperties.MAXIMUM_PACKET_SIZE:
                return 4;
            case MqttProperties.SUBSCRIPTION_IDENTIFIER:
                return varIntSize(n);
            default:
                return 1;
        }
    }

    public static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length()) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

}
