package io.sluice.server.transport;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.sluice.server.events.Refusal;

import java.util.Optional;

/**
 * The HTTP port's front door: a WebSocket upgrade goes to the {@link WebSocketUpgrader}, any other request to
 * the {@link HttpEndpoints} registered for its path, anything else gets 404. Requests the HTTP decoder could
 * not read get 431, 414 or 400 and the connection is closed.
 */
public final class HttpRouter extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final HttpEndpoints endpoints;
    private final WebSocketUpgrader upgrader;

    public HttpRouter(HttpEndpoints endpoints, WebSocketUpgrader upgrader) {
        this.endpoints = endpoints;
        this.upgrader = upgrader;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) throws Exception {
        if (request.decoderResult().isFailure()) {
            refuseUnreadable(ctx, request.decoderResult().cause());
            return;
        }
        if (WebSocketUpgrader.isUpgrade(request)) {
            upgrader.upgrade(ctx, request);
            return;
        }
        String path = new QueryStringDecoder(request.uri()).path();
        Optional<HttpEndpoint> endpoint = endpoints.find(path);
        ctx.pipeline().fireUserEventTriggered(HandshakeTimeout.RESTART);
        if (endpoint.isEmpty()) {
            HttpResponses.text(ctx, request, HttpResponseStatus.NOT_FOUND, "text/plain; charset=utf-8",
                    "not found: " + path + "\n");
            return;
        }
        endpoint.get().handle(ctx, request);
    }

    private static void refuseUnreadable(ChannelHandlerContext ctx, Throwable cause) {
        HttpResponseStatus status = cause instanceof TooLongHttpHeaderException
                ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                : cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                : cause instanceof TooLongFrameException ? HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE
                : HttpResponseStatus.BAD_REQUEST;
        ConnectionReporter.refused(ctx.channel(), status == HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                ? Refusal.HEADER_TOO_LARGE : Refusal.BAD_HANDSHAKE, "unreadable HTTP request (" + status + "): " + cause.getMessage());
        HttpResponses.textAndClose(ctx, status, "bad request: " + cause.getMessage() + "\n");
    }
}
