package io.sluice.server.delta;

import java.util.Locale;

/**
 * The delta encodings a subscriber may ask for (MQTT 5 user property {@code sluice-delta}, STOMP header
 * {@code delta}, SSE query parameter {@code delta}); the same word marks a message sent as a delta. Adapters use
 * the constant as the subscription's tag, so a delivery says whether its subscription asked.
 */
public enum DeltaFormat {
    /** The Fossil delta format ({@link io.sluice.protocol.delta.FossilDelta}). */
    FOSSIL;

    /** MQTT 5 user property name on SUBSCRIBE (asking) and on PUBLISH (marking a delta). */
    public static final String MQTT_PROPERTY = "sluice-delta";
    /** STOMP header on SUBSCRIBE (asking) and on MESSAGE (marking a delta). */
    public static final String STOMP_HEADER = "delta";

    /** The word on the wire: "fossil". */
    public String token() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The format a subscriber named, or null for none or one the broker does not know (it then gets full messages). */
    public static DeltaFormat parse(String value) {
        return value != null && value.trim().equalsIgnoreCase("fossil") ? FOSSIL : null;
    }
}
