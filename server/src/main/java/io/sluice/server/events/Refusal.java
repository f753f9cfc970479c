package io.sluice.server.events;

import java.util.Locale;

/**
 * Why a connection was refused before it was accepted, with each protocol's own answer for it: the HTTP
 * status of a refused WebSocket upgrade, the MQTT 5 CONNACK reason code, the MQTT 3.1.1 CONNACK return code
 * (which has only "server unavailable" for all of these), and the text of a STOMP ERROR frame.
 */
public enum Refusal {
    /** {@code max-connections} reached. */
    CONNECTION_LIMIT(503, 0x97, 0x03, "server busy: connection limit reached, retry later"),
    /** {@code max-sessions} reached: a client that would open a new broker session. */
    SESSION_LIMIT(503, 0x97, 0x03, "server busy: session limit reached, retry later"),
    /** {@code max-connections-per-address} reached for the client's IP address. */
    ADDRESS_LIMIT(429, 0x97, 0x03, "too many connections from this address, retry later"),
    /** The {@code connect-rate} token bucket is empty: a reconnect storm is being paced. */
    RATE_LIMIT(429, 0x9F, 0x03, "connection rate exceeded, retry after a backoff"),
    /**
     * The broker's I/O threads run later than {@code overload-lag}: it is overloaded and refuses new sockets as it
     * accepts them, before any protocol work, answered off the I/O threads (MQTT 5 0x89 server busy, 3.1.1 0x03,
     * STOMP ERROR, a WebSocket upgrade 503).
     */
    OVERLOADED(503, 0x89, 0x03, "server busy, retry after a backoff"),
    /** The broker is draining for shutdown. */
    SHUTTING_DOWN(503, 0x88, 0x03, "server shutting down, connect to another server or retry later"),
    /** The broker is still reading its message store back after a start. */
    STARTING(503, 0x88, 0x03, "server starting: reading its message store back, retry shortly"),
    /** The HTTP request head exceeded {@code max-http-header-size}. */
    HEADER_TOO_LARGE(431, 0x95, 0x03, "request headers too large"),
    /** The upgrade or the first bytes matched no protocol, subprotocol or path. */
    BAD_HANDSHAKE(400, 0x81, 0x01, "bad handshake"),
    /** Neither the upgrade nor the CONNECT completed within the handshake timeout. */
    HANDSHAKE_TIMEOUT(408, 0x88, 0x03, "handshake timeout"),
    /** The protocol version is not supported. */
    UNSUPPORTED_VERSION(400, 0x84, 0x01, "unsupported protocol version"),
    /** The client identifier is not valid. */
    CLIENT_ID_REJECTED(400, 0x85, 0x02, "client identifier not valid"),
    /** Credentials were missing or wrong. */
    NOT_AUTHORIZED(403, 0x87, 0x05, "not authorized");

    private final int httpStatus;
    private final int mqtt5ReasonCode;
    private final int mqtt3ReturnCode;
    private final String message;
    private final String label = name().toLowerCase(Locale.ROOT);

    Refusal(int httpStatus, int mqtt5ReasonCode, int mqtt3ReturnCode, String message) {
        this.httpStatus = httpStatus;
        this.mqtt5ReasonCode = mqtt5ReasonCode;
        this.mqtt3ReturnCode = mqtt3ReturnCode;
        this.message = message;
    }

    /** Status of the HTTP response that refuses a WebSocket upgrade (RFC 6585 429/431, RFC 9110 503). */
    public int httpStatus() {
        return httpStatus;
    }

    /** MQTT 5 CONNACK reason code (section 3.2.2.2): 0x97 quota exceeded, 0x9F connection rate exceeded... */
    public int mqtt5ReasonCode() {
        return mqtt5ReasonCode;
    }

    /** MQTT 3.1.1 CONNACK return code (section 3.2.2.3): 0x03 server unavailable for every limit. */
    public int mqtt3ReturnCode() {
        return mqtt3ReturnCode;
    }

    /** A short text for a STOMP ERROR frame's message header, an MQTT 5 Reason String or an HTTP body. */
    public String message() {
        return message;
    }

    public String label() {
        return label;
    }

    /** Decided by {@link Admission} when the socket opened (and counted then), not by a protocol. */
    public boolean isAdmission() {
        return this == CONNECTION_LIMIT || this == ADDRESS_LIMIT || this == RATE_LIMIT || this == OVERLOADED
                || this == SHUTTING_DOWN || this == STARTING;
    }
}
