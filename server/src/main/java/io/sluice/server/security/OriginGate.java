package io.sluice.server.security;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.channel.ChannelFutureListener;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The HTTP port's security, before the router sees a request: a browser {@code Origin} outside
 * {@code --allowed-origins} gets 403 (WebSocket upgrades and HTTP endpoints alike; audited), and the token of
 * a WebSocket upgrade ({@code ?token=} or {@code Authorization: Bearer}, since browsers cannot set headers on
 * a WebSocket) is kept with the connection for the protocol's login. Requests without an Origin (devices,
 * command-line tools) are not browsers and pass.
 */
@ChannelHandler.Sharable
public final class OriginGate extends ChannelInboundHandlerAdapter {
    private final List<String> allowed;
    private final AuditLog audit;

    public OriginGate(List<String> allowedOrigins, AuditLog audit) {
        this.allowed = List.copyOf(allowedOrigins);
        this.audit = audit;
    }

    /** The decision alone: may a request with this Origin header (null: none) be served? */
    public boolean allows(String origin) {
        return origin == null || allowed.isEmpty() || allowed.contains("*") || allowed.contains(origin);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HttpRequest request)) {
            ctx.fireChannelRead(msg);
            return;
        }
        String origin = request.headers().get(HttpHeaderNames.ORIGIN);
        if (!allows(origin)) {
            ReferenceCountUtil.release(msg);
            audit.denied("origin", "http", null, null, ctx.channel().remoteAddress(), origin + " " + request.uri().split("\\?")[0]);
            FullHttpResponse refusal = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.FORBIDDEN,
                    ctx.alloc().buffer().writeBytes(("origin " + origin + " is not allowed here (--allowed-origins)\n")
                            .getBytes(StandardCharsets.UTF_8)));
            refusal.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, refusal.content().readableBytes())
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(refusal).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        String token = token(request);
        if (token != null) {
            ctx.channel().attr(Credentials.UPGRADE_TOKEN).set(token);
        }
        ctx.fireChannelRead(msg);
    }

    /** The bearer token of a request: {@code Authorization: Bearer TOKEN}, else {@code ?token=TOKEN}; null for none. */
    public static String token(HttpRequest request) {
        String auth = request.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return auth.substring(7).trim();
        }
        List<String> q = new QueryStringDecoder(request.uri()).parameters().get("token");
        return q == null || q.isEmpty() ? null : q.get(0);
    }
}
