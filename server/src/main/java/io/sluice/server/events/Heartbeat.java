package io.sluice.server.events;

import java.util.Locale;

/** One keep-alive exchange, as counted in {@code sluice_heartbeats_total{kind}}. */
public enum Heartbeat {
    /** The server sent a WebSocket Ping. */
    WS_PING_SENT,
    /** A WebSocket Pong arrived. */
    WS_PONG_RECEIVED,
    /** A client's WebSocket Ping arrived (and was answered). */
    WS_PING_RECEIVED,
    /** MQTT PINGREQ arrived (and PINGRESP went out). */
    MQTT_PINGREQ,
    /** A STOMP heart-beat (an EOL between frames) arrived. */
    STOMP_HEARTBEAT_RECEIVED,
    /** The server sent a STOMP heart-beat. */
    STOMP_HEARTBEAT_SENT,
    /** The server sent a comment line on an idle SSE stream. */
    SSE_COMMENT_SENT,
    /** A connection was closed because nothing, not even a heartbeat, arrived in time. */
    TIMEOUT;

    private final String label = name().toLowerCase(Locale.ROOT);

    public String label() {
        return label;
    }
}
