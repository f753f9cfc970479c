package io.sluice.conformance.matrix;

import java.util.EnumSet;
import java.util.Set;

/**
 * What the broker must offer for a cell to be tested. {@link #BUILT} lists what the main branch offers; a cell
 * that needs anything else shows "not built" in the matrix instead of running (and never shows a pass).
 */
public enum Capability {
    /** The embeddable server with its listeners (SluiceServer). */
    SERVER,
    MQTT_TCP,
    MQTT_WS,
    MQTT_31,
    MQTT_5,
    STOMP_WS,
    STOMP_TCP,
    STOMP_QUEUES,
    STOMP_HEARTBEAT,
    /** HTTPS/WSS with a certificate, and JSON Web Tokens on the WebSocket upgrade. */
    TLS;

    /** Update in the same commit that enables the cells of a feature that has landed. */
    public static final Set<Capability> BUILT = EnumSet.of(
            SERVER, MQTT_TCP, MQTT_WS, MQTT_31, MQTT_5, STOMP_WS, STOMP_TCP, STOMP_QUEUES, STOMP_HEARTBEAT, TLS);
}
