package io.sluice.server.events;

import io.sluice.protocol.ws.Subprotocol;

import java.net.SocketAddress;
import java.util.Objects;

/**
 * What the transport knows about a connection when it hands it to a protocol.
 *
 * <p>Equal by value (an HTTP fallback reader's connect and disconnect are told with two equal instances), but
 * {@link #hashCode} and {@link #equals} are written out: the admin API's connection table looks an instance up for
 * every message in and out, and a record's generated methods (method handles over every component) were a tenth
 * of an event loop's Java time under fan-out. The remote address alone tells connections apart almost always.
 *
 * @param subprotocol the negotiated WebSocket subprotocol, null on TCP or when the client offered none
 * @param path        the WebSocket upgrade path, null on TCP
 */
public record ConnectionInfo(Transport transport, Subprotocol subprotocol, SocketAddress remote, String path) {
    @Override
    public int hashCode() {
        return 31 * Objects.hashCode(remote) + Objects.hashCode(transport);
    }

    @Override
    public boolean equals(Object o) {
        return this == o || o instanceof ConnectionInfo c && transport == c.transport && subprotocol == c.subprotocol
                && Objects.equals(remote, c.remote) && Objects.equals(path, c.path);
    }
}
