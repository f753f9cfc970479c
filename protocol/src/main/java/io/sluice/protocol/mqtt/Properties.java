package io.sluice.protocol.mqtt;

import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.MqttProperty;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Typed reads of Netty's {@link MqttProperties}, which hands values out as raw objects. */
public final class Properties {
    private Properties() {
    }

    /** An integer property, or {@code absent} when the packet does not carry it. */
    public static long integer(MqttProperties props, int id, long absent) {
        MqttProperty<?> p = props.getProperty(id);
        if (p == null || !(p.value() instanceof Integer n)) {
            return absent;
        }
        // four-byte integers arrive as signed ints; MQTT's are unsigned
        return Integer.toUnsignedLong(n);
    }

    public static boolean has(MqttProperties props, int id) {
        return props.getProperty(id) != null;
    }

    public static String string(MqttProperties props, int id) {
        MqttProperty<?> p = props.getProperty(id);
        return p != null && p.value() instanceof String s ? s : null;
    }

    public static byte[] binary(MqttProperties props, int id) {
        MqttProperty<?> p = props.getProperty(id);
        return p != null && p.value() instanceof byte[] b ? b : null;
    }

    /** User properties in the order the packet carried them (MQTT 5 section 3.3.2.3.7). */
    public static List<Map.Entry<String, String>> userProperties(MqttProperties props) {
        List<? extends MqttProperty> all = props.getProperties(MqttProperties.USER_PROPERTY);
        if (all.isEmpty()) {
            return List.of();
        }
        List<Map.Entry<String, String>> out = new ArrayList<>(all.size());
        for (MqttProperty<?> p : all) {
            if (p.value() instanceof MqttProperties.StringPair pair) {
                out.add(Map.entry(pair.key, pair.value));
            } else if (p.value() instanceof List<?> pairs) {
                for (Object o : pairs) {
                    MqttProperties.StringPair pair = (MqttProperties.StringPair) o;
                    out.add(Map.entry(pair.key, pair.value));
                }
            }
        }
        return out;
    }
}
