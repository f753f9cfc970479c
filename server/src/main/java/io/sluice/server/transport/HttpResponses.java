package io.sluice.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

/** Small complete HTTP responses, honouring keep-alive. */
public final class HttpResponses {
    private HttpResponses() {
    }

    /** Answer with a text body; the connection stays open if the request allows it. */
    public static ChannelFuture text(ChannelHandlerContext ctx, HttpRequest request, HttpResponseStatus status,
                                     String contentType, String body) {
        return send(ctx, request, status, contentType, body, HttpUtil.isKeepAlive(request));
    }

    /** Answer with a text body and close the connection (refusals and errors). */
    public static ChannelFuture textAndClose(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
        return send(ctx, null, status, "text/plain; charset=utf-8", body, false);
    }

    /** The same, with one more header (Retry-After on a 429 or 503, say). */
    public static ChannelFuture textAndClose(ChannelHandlerContext ctx, HttpResponseStatus status, String body,
                                             CharSequence header, String value) {
        return send(ctx, null, status, "text/plain; charset=utf-8", body, false, header, value);
    }

    private static ChannelFuture send(ChannelHandlerContext ctx, HttpRequest request, HttpResponseStatus status,
                                      String contentType, String body, boolean keepAlive, CharSequence... extra) {
        ByteBuf content = ByteBufUtil.writeUtf8(ctx.alloc(), body);
        HttpVersion version = request == null ? HttpVersion.HTTP_1_1 : request.protocolVersion();
        FullHttpResponse response = new DefaultFullHttpResponse(version, status, content);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        for (int i = 0; i + 1 < extra.length; i += 2) {
            response.headers().set(extra[i], extra[i + 1]);
        }
        HttpUtil.setContentLength(response, content.readableBytes());
        if (keepAlive) {
            if (version.equals(HttpVersion.HTTP_1_0)) {
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
            return ctx.writeAndFlush(response);
        }
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
}
