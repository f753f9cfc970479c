package io.sluice.server.transport;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

import java.net.SocketAddress;

/**
 * What the transport reports to whoever counts (the server wires this to its metrics): connections refused
 * before reaching a protocol, WebSocket heartbeats, and whether the server is going away (a WebSocket it closes
 * then gets status 1001 instead of 1000). Every method has a no-op default. Each connection carries the
 * listener's instance as a channel attribute, so handlers find it without being handed it.
 */
public interface TransportEvents {
    TransportEvents NONE = new TransportEvents() {
    };

    /** Why the transport turned a connection away. */
    enum Refusal {
        /** Unknown subprotocols only, first bytes of no protocol, a malformed upgrade or HTTP request. */
        BAD_HANDSHAKE,
        /** No protocol reached within {@code handshake-timeout}. */
        HANDSHAKE_TIMEOUT,
        /** A WebSocket version other than 13. */
        UNSUPPORTED_VERSION,
        /** The HTTP request head exceeded {@code http-max-header-size}. */
        HEADER_TOO_LARGE
    }

    /** WebSocket keep-alive traffic. */
    enum Heartbeat {
        PING_SENT, PING_RECEIVED, PONG_RECEIVED,
        /** A WebSocket closed because nothing, not even a Pong, arrived within {@code ws-idle-timeout}. */
        TIMEOUT
    }

    default void refused(Transport transport, SocketAddress remote, Refusal reason) {
    }

    /** {@code protocol}: the module serving the connection ("mqtt", "stomp"), or "ws" before one is chosen. */
    default void heartbeat(String protocol, Heartbeat kind) {
    }

    /** True once the server is shutting down. */
    default boolean goingAway() {
        return false;
    }

    AttributeKey<TransportEvents> KEY = AttributeKey.valueOf("sluice.transportEvents");

    static void attach(Channel channel, TransportEvents events) {
        channel.attr(KEY).set(events);
    }

    static TransportEvents of(Channel channel) {
        TransportEvents e = channel.attr(KEY).get();
        return e == null ? NONE : e;
    }
}
