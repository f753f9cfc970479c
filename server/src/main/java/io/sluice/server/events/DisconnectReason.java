package io.sluice.server.events;

import io.sluice.server.broker.CloseReason;

import java.util.Locale;

/** Why an accepted connection ended; a metric label and a word in the log line. */
public enum DisconnectReason {
    /** The client said goodbye (MQTT DISCONNECT, STOMP DISCONNECT). */
    CLIENT_DISCONNECT,
    /** The socket closed or failed without a goodbye. */
    CONNECTION_LOST,
    /** Nothing arrived within the keep-alive, heart-beat or ping timeout. */
    KEEP_ALIVE_TIMEOUT,
    /** The client broke its protocol; the broker answered as the spec says and closed. */
    PROTOCOL_ERROR,
    /** A limit (subscriptions, topic length or levels, packet size) ended the connection. */
    LIMIT_EXCEEDED,
    /** Another connection took the client id over. */
    SESSION_TAKEN_OVER,
    /** The in-flight window stayed full with no acknowledgement. */
    STUCK_CONSUMER,
    /** The broker is shutting down. */
    SERVER_SHUTTING_DOWN,
    /** An administrator ended it. */
    ADMINISTRATIVE,
    /** The client's credential expired, or it did what it may not (a STOMP SEND or SUBSCRIBE the ACL refuses). */
    NOT_AUTHORIZED,
    /** The message store could not write a message the client sent, so it was not accepted. */
    STORE_FAILING;

    private final String label = name().toLowerCase(Locale.ROOT);

    public String label() {
        return label;
    }

    /** The reason of a connection the core closed. */
    public static DisconnectReason of(CloseReason reason) {
        return switch (reason) {
            case SESSION_TAKEN_OVER -> SESSION_TAKEN_OVER;
            case STUCK_CONSUMER -> STUCK_CONSUMER;
            case SERVER_SHUTTING_DOWN -> SERVER_SHUTTING_DOWN;
            case ADMINISTRATIVE -> ADMINISTRATIVE;
        };
    }
}
