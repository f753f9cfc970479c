package io.sluice.server.broker;

/** Why the core ends a connection; adapters translate it into their protocol's answer. */
public enum CloseReason {
    /** Another connection opened the same client id (MQTT 5 reason 0x8E). */
    SESSION_TAKEN_OVER,
    /** The in-flight window stayed full with no acknowledgement for the configured time. */
    STUCK_CONSUMER,
    /** The broker is shutting down (MQTT 5 reason 0x8B, WebSocket 1001). */
    SERVER_SHUTTING_DOWN,
    /** An administrator or a limit removed the session. */
    ADMINISTRATIVE
}
