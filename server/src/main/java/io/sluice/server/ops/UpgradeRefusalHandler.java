package io.sluice.server.ops;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import io.sluice.server.transport.Transport;

import java.nio.charset.StandardCharsets;

/**
 * Sits right after the HTTP codec on the HTTP port and answers, in HTTP, the requests that must not go on:
 * a WebSocket upgrade on a connection {@link Admission} refused (429 or 503 with Retry-After), and a request
 * whose head broke {@code max-http-header-size} (431) or the line limit (414). Everything else passes, so
 * {@code /healthz}, {@code /readyz} and {@code /metrics} still answer when the broker is full or draining.
 * One log line per refusal, naming the remote address.
 */
public final class UpgradeRefusalHandler extends ChannelInboundHandlerAdapter {
    private final Admission admission;
    private final ConnectionEvents metrics;
    private final ConnectionEvents log;

    UpgradeRefusalHandler(Admission admission, ConnectionEvents metrics, ConnectionEvents log) {
        this.admission = admission;
        this.metrics = metrics;
        this.log = log;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HttpRequest request)) {
            ctx.fireChannelRead(msg);
            return;
        }
        DecoderResult result = request.decoderResult();
        if (result.isFailure() && result.cause() instanceof TooLongFrameException) {
            boolean line = result.cause() instanceof TooLongHttpLineException;
            ReferenceCountUtil.release(msg);
            Refusal why = Refusal.HEADER_TOO_LARGE;
            metrics.refused(Transport.WEBSOCKET, ctx.channel().remoteAddress(), null, null, why);
            log.refused(Transport.WEBSOCKET, ctx.channel().remoteAddress(), null, null, why);
            // the header case is the one with a setting; a too long request line is the same defence
            refuse(ctx, line ? HttpResponseStatus.REQUEST_URI_TOO_LONG : HttpResponseStatus.valueOf(431),
                    line ? "request line too long\n" : "request headers larger than max-http-header-size\n", -1);
            return;
        }
        Refusal refusal = Admission.refusal(ctx.channel());
        if (refusal != null && isUpgrade(request)) {
            ReferenceCountUtil.release(msg);
            // counted by AdmissionHandler when the socket opened
            log.refused(Transport.WEBSOCKET, ctx.channel().remoteAddress(), null, null, refusal);
            refuse(ctx, HttpResponseStatus.valueOf(refusal.httpStatus()), refusal.message() + "\n",
                    admission.retryAfterSeconds(refusal));
            return;
        }
        ctx.fireChannelRead(msg);
    }

    static boolean isUpgrade(HttpRequest request) {
        return request.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }

    private static void refuse(ChannelHandlerContext ctx, HttpResponseStatus status, String body, long retryAfter) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                ctx.alloc().buffer(bytes.length).writeBytes(bytes));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        if (retryAfter > 0) {
            r.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(retryAfter));
        }
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        ctx.channel().config().setAutoRead(false);
    }
}
