package io.sluice.server.transport;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;

/**
 * The control frames of RFC 6455 section 5.5: a Ping is answered by a Pong with the same payload, a Pong is
 * consumed (any read already counts as life for the idle timeout), and a Close is answered by a Close echoing
 * its status code, after which the server closes the TCP connection (section 5.5.1, 7.1.1). Data frames pass on.
 *
 * <p>It also notes why a connection ends: a Close frame the server sends (from any handler behind this one) and
 * the protocol violations Netty's frame decoder reports (it has already sent the RFC's close status, e.g. 1002
 * or 1009) become the connection's close reason in the log.
 */
public final class WebSocketControl extends ChannelDuplexHandler {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof PingWebSocketFrame ping) {
            ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
        } else if (msg instanceof PongWebSocketFrame pong) {
            pong.release();
        } else if (msg instanceof CloseWebSocketFrame close) {
            int status = close.statusCode();
            ConnectionLog.closeReason(ctx.channel(), "client closed the WebSocket"
                    + (status < 0 ? "" : " with status " + status + reason(close.reasonText())));
            CloseWebSocketFrame reply = status < 0 ? new CloseWebSocketFrame() : new CloseWebSocketFrame(status, "");
            close.release();
            ctx.writeAndFlush(reply).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof CloseWebSocketFrame close) {
            ConnectionLog.closeReason(ctx.channel(), "server closed the WebSocket with status " + close.statusCode()
                    + reason(close.reasonText()));
        }
        ctx.write(msg, promise);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof CorruptedWebSocketFrameException bad) {
            // The decoder has answered with the close status already and closes the connection.
            ConnectionLog.closeReason(ctx.channel(), "WebSocket protocol violation (close status "
                    + bad.closeStatus().code() + "): " + bad.getMessage());
            ctx.close();
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    private static String reason(String text) {
        return text == null || text.isEmpty() ? "" : " (" + text + ")";
    }
}
