package io.sluice.server.ops;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Transport;
import io.sluice.server.transport.HttpResponses;

/**
 * The HTTP port's request gate, just before the router: a WebSocket upgrade on a connection {@link Admission}
 * refused, or accepted while the broker was overloaded ({@link AcceptGate}), gets the refusal's status (429 or
 * 503) with Retry-After, and the connection closes. Every other
 * request passes, so {@code /healthz}, {@code /readyz} and {@code /metrics} still answer when the broker is
 * full or draining, and so do requests the HTTP decoder failed on (the router answers those).
 */
public final class UpgradeRefusalHandler extends ChannelInboundHandlerAdapter {
    private final Admission admission;
    private final ConnectionEvents log;
    private final ConnectionEvents metrics;

    UpgradeRefusalHandler(Admission admission, ConnectionEvents log, ConnectionEvents metrics) {
        this.admission = admission;
        this.log = log;
        this.metrics = metrics;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof FullHttpRequest request && request.decoderResult().isSuccess()) {
            Refusal refusal = Admission.refusal(ctx.channel());
            if (refusal != null && isUpgrade(request)) {
                // counted by AdmissionHandler when the socket opened; logged here, where it is answered. A socket
                // accepted while overloaded was only marked (its plain requests are served): counted here
                log.refused(Transport.WEBSOCKET, ctx.channel().remoteAddress(), null, null, refusal, null);
                if (refusal == Refusal.OVERLOADED) {
                    metrics.refused(Transport.WEBSOCKET, ctx.channel().remoteAddress(), null, null, refusal, null);
                }
                ReferenceCountUtil.release(msg);
                refuse(ctx, refusal);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    private void refuse(ChannelHandlerContext ctx, Refusal refusal) {
        ctx.channel().config().setAutoRead(false);
        // Retry-After (RFC 9110 section 10.2.3) tells a well-behaved client when to come back
        HttpResponses.textAndClose(ctx, HttpResponseStatus.valueOf(refusal.httpStatus()), refusal.message() + "\n",
                HttpHeaderNames.RETRY_AFTER, Long.toString(admission.retryAfterSeconds(refusal)));
    }

    static boolean isUpgrade(FullHttpRequest request) {
        return request.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }
}
