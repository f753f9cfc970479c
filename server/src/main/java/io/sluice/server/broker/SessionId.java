package io.sluice.server.broker;

import java.util.Objects;

/**
 * Who a broker session belongs to: a namespace chosen by the adapter that opened it, never by a client, and the
 * id its client gave (or the adapter made up). Two protocols may both have a client called {@code sensor-1}, and a
 * STOMP subscription's own session ({@code stomp-1-0}) is a name an MQTT client may pick as its client id: in
 * separate namespaces they are separate sessions, so no client of one protocol can take over, end or read
 * another protocol's session, whatever id it sends.
 *
 * @param namespace the adapter's, e.g. "mqtt", "stomp"; never empty, never containing ':'
 * @param clientId  the id within it, as the client or adapter wrote it (may be empty for none)
 */
public record SessionId(String namespace, String clientId) {
    public SessionId {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(clientId, "clientId");
        if (namespace.isEmpty() || namespace.indexOf(':') >= 0) {
            throw new IllegalArgumentException("a namespace is a non-empty name without ':': '" + namespace + "'");
        }
    }

    /** {@code namespace:clientId}: unique across namespaces (the namespace has no ':'), for stores and logs. */
    public String key() {
        return namespace + ":" + clientId;
    }

    /**
     * The id a {@link #key()} names. A key without ':' (written before sessions had namespaces) is an MQTT client
     * id, the only kind of session that outlived a connection then.
     */
    public static SessionId parse(String key) {
        int colon = key.indexOf(':');
        return colon <= 0 ? new SessionId("mqtt", key) : new SessionId(key.substring(0, colon), key.substring(colon + 1));
    }

    @Override
    public String toString() {
        return key();
    }
}
