package io.sluice.server.transport;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;

/**
 * Serves one path of the HTTP port (e.g. {@code /metrics}, {@code /healthz}, an SSE stream). Called on the
 * connection's event loop; it must answer (see {@link HttpResponses}) or take the connection over (SSE). The
 * request is released after this returns: retain it to keep it. A keep-alive connection must send its next
 * request within {@code handshake-timeout}; an endpoint that keeps the connection for a stream (SSE) fires
 * {@link HandshakeTimeout#ESTABLISHED} down the pipeline to lift that.
 */
@FunctionalInterface
public interface HttpEndpoint {
    void handle(ChannelHandlerContext ctx, FullHttpRequest request) throws Exception;
}
