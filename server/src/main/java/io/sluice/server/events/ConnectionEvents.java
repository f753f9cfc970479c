package io.sluice.server.events;

import java.net.SocketAddress;
import java.util.List;

/**
 * What the transport and the protocol adapters tell operations about connections and traffic: the one neutral
 * API behind the metrics, the connection log and $SYS. Callers are on an event loop; every method is cheap and
 * never blocks. {@code protocol} is the {@code ProtocolModule} name ("mqtt", "stomp"), null before a protocol
 * was chosen, "ws" for a WebSocket whose protocol is not known yet.
 *
 * <p>Every listener instance is also attached to the connections it serves (see the transport's
 * {@code ConnectionReporter}), so a handler reports without being handed it.
 */
public interface ConnectionEvents {
    /** Hears nothing: for adapters built without operations (tests, embedding). */
    ConnectionEvents NONE = new ConnectionEvents() { };

    /** The transport handed a connection to a protocol. */
    default void opened(String protocol, ConnectionInfo info) {
    }

    /** A connection the transport handed to a protocol closed, after {@code seconds}, for the reason given. */
    default void closed(String protocol, ConnectionInfo info, long seconds, String reason) {
    }

    /** The client's CONNECT (MQTT) or CONNECT/STOMP frame was accepted. */
    default void connected(String protocol, ConnectionInfo info, String clientId) {
    }

    /** An accepted connection ended, for the reason given. */
    default void disconnected(String protocol, ConnectionInfo info, String clientId, DisconnectReason reason) {
    }

    /**
     * A connection was refused before it was accepted: by a limit, a failed handshake or the protocol's CONNECT.
     * An adapter answering a refusal reports it with its {@code protocol}; it logs its own line, with the detail
     * ({@link ConnectionLog} logs only refusals without a protocol), and an {@link Refusal#isAdmission()
     * admission} refusal it answers is not counted again (it was counted when the socket opened).
     *
     * @param detail what exactly was wrong, for the log (null: the refusal's own message)
     */
    default void refused(Transport transport, SocketAddress remote, String protocol, String clientId, Refusal reason,
                         String detail) {
    }

    /** The peer broke its protocol; {@code detail} says how (it goes into the log, not into metric labels). */
    default void protocolError(String protocol, ConnectionInfo info, String clientId, String detail) {
    }

    /** A SUBSCRIBE or PUBLISH went past a limit (max subscriptions, topic length or levels) and was rejected. */
    default void limitExceeded(String protocol, ConnectionInfo info, String clientId, Limit limit) {
    }

    /** An application message arrived from a client: its QoS (STOMP SEND counts as the QoS the adapter maps it to) and payload size. */
    default void messageIn(String protocol, int qos, int bytes) {
    }

    /** The same, said by an adapter that knows the connection (the admin API counts messages per connection). */
    default void messageIn(String protocol, ConnectionInfo info, int qos, int bytes) {
        messageIn(protocol, qos, bytes);
    }

    /** An application message was written to a client. */
    default void messageOut(String protocol, int qos, int bytes) {
    }

    /** The same, said by an adapter that knows the connection. */
    default void messageOut(String protocol, ConnectionInfo info, int qos, int bytes) {
        messageOut(protocol, qos, bytes);
    }

    /**
     * {@code count} application messages of one QoS, {@code bytes} of payload together, written to one connection
     * at once: an adapter that writes a drain's deliveries in one flush reports them in one event, so what the
     * metrics and the admin table count costs per flush, not per message. A listener that does not count in bulk
     * hears each message, the bytes with the first.
     */
    default void messagesOut(String protocol, ConnectionInfo info, int qos, int count, long bytes) {
        for (int i = 0; i < count; i++) {
            messageOut(protocol, info, qos, i == 0 ? (int) Math.min(bytes, Integer.MAX_VALUE) : 0);
        }
    }

    /** A keep-alive exchange: WebSocket ping/pong, MQTT PINGREQ, STOMP heart-beat. */
    default void heartbeat(String protocol, Heartbeat kind) {
    }

    /**
     * An outgoing WebSocket data frame of {@code rawBytes} left as {@code wireBytes} on a connection with
     * permessage-deflate (equal when the frame was too small to compress).
     */
    default void compressed(String protocol, int rawBytes, int wireBytes) {
    }

    /** The memory reserved for WebSocket deflate contexts kept between messages changed by {@code deltaBytes}. */
    default void compressionMemory(long deltaBytes) {
    }

    /**
     * A message to a subscription that asked for deltas was written: {@code fullBytes} of payload as
     * {@code sentBytes} (equal when it went in full).
     */
    default void deltaSent(String protocol, int fullBytes, int sentBytes) {
    }

    /** True once the server is shutting down (a WebSocket closed then gets status 1001 instead of 1000). */
    default boolean goingAway() {
        return false;
    }

    /** Every listener hears every event, in order; going away if any of them says so. */
    static ConnectionEvents all(ConnectionEvents... listeners) {
        List<ConnectionEvents> list = List.of(listeners);
        return new ConnectionEvents() {
            @Override
            public void opened(String protocol, ConnectionInfo info) {
                for (ConnectionEvents l : list) {
                    l.opened(protocol, info);
                }
            }

            @Override
            public void closed(String protocol, ConnectionInfo info, long seconds, String reason) {
                for (ConnectionEvents l : list) {
                    l.closed(protocol, info, seconds, reason);
                }
            }

            @Override
            public void connected(String protocol, ConnectionInfo info, String clientId) {
                for (ConnectionEvents l : list) {
                    l.connected(protocol, info, clientId);
                }
            }

            @Override
            public void disconnected(String protocol, ConnectionInfo info, String clientId, DisconnectReason reason) {
                for (ConnectionEvents l : list) {
                    l.disconnected(protocol, info, clientId, reason);
                }
            }

            @Override
            public void refused(Transport transport, SocketAddress remote, String protocol, String clientId,
                                Refusal reason, String detail) {
                for (ConnectionEvents l : list) {
                    l.refused(transport, remote, protocol, clientId, reason, detail);
                }
            }

            @Override
            public void protocolError(String protocol, ConnectionInfo info, String clientId, String detail) {
                for (ConnectionEvents l : list) {
                    l.protocolError(protocol, info, clientId, detail);
                }
            }

            @Override
            public void limitExceeded(String protocol, ConnectionInfo info, String clientId, Limit limit) {
                for (ConnectionEvents l : list) {
                    l.limitExceeded(protocol, info, clientId, limit);
                }
            }

            @Override
            public void messageIn(String protocol, int qos, int bytes) {
                for (ConnectionEvents l : list) {
                    l.messageIn(protocol, qos, bytes);
                }
            }

            @Override
            public void messageOut(String protocol, int qos, int bytes) {
                for (ConnectionEvents l : list) {
                    l.messageOut(protocol, qos, bytes);
                }
            }

            @Override
            public void messageIn(String protocol, ConnectionInfo info, int qos, int bytes) {
                for (ConnectionEvents l : list) {
                    l.messageIn(protocol, info, qos, bytes);
                }
            }

            @Override
            public void messageOut(String protocol, ConnectionInfo info, int qos, int bytes) {
                for (ConnectionEvents l : list) {
                    l.messageOut(protocol, info, qos, bytes);
                }
            }

            @Override
            public void messagesOut(String protocol, ConnectionInfo info, int qos, int count, long bytes) {
                for (ConnectionEvents l : list) {
                    l.messagesOut(protocol, info, qos, count, bytes);
                }
            }

            @Override
            public void heartbeat(String protocol, Heartbeat kind) {
                for (ConnectionEvents l : list) {
                    l.heartbeat(protocol, kind);
                }
            }

            @Override
            public void compressed(String protocol, int rawBytes, int wireBytes) {
                for (ConnectionEvents l : list) {
                    l.compressed(protocol, rawBytes, wireBytes);
                }
            }

            @Override
            public void compressionMemory(long deltaBytes) {
                for (ConnectionEvents l : list) {
                    l.compressionMemory(deltaBytes);
                }
            }

            @Override
            public void deltaSent(String protocol, int fullBytes, int sentBytes) {
                for (ConnectionEvents l : list) {
                    l.deltaSent(protocol, fullBytes, sentBytes);
                }
            }

            @Override
            public boolean goingAway() {
                for (ConnectionEvents l : list) {
                    if (l.goingAway()) {
                        return true;
                    }
                }
                return false;
            }
        };
    }
}
