package io.sluice.server.events;

import io.sluice.protocol.ws.Subprotocol;

import java.net.SocketAddress;

/**
 * What the transport knows about a connection when it hands it to a protocol.
 *
 * @param subprotocol the negotiated WebSocket subprotocol, null on TCP or when the client offered none
 * @param path        the WebSocket upgrade path, null on TCP
 */
public record ConnectionInfo(Transport transport, Subprotocol subprotocol, SocketAddress remote, String path) {
}
