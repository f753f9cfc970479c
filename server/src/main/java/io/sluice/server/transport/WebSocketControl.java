package io.sluice.server.transport;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.Heartbeat;
import io.sluice.server.events.Rule;
import io.sluice.server.testkit.Probe;

/**
 * The control frames of RFC 6455 section 5.5: a Ping is answered by a Pong with the same payload, a Pong is
 * consumed (any read already counts as life for the idle timeout), and a Close is answered by a Close echoing
 * its status code, after which the server closes the TCP connection (sections 5.5.1, 7.1.1). Data frames pass on.
 *
 * <p>When a handler behind this one closes the connection without having sent a Close frame (a protocol
 * adapter ending a session, say), a Close goes out first: 1000, or 1001 when the server is going away, so
 * WebSocket clients learn why instead of seeing the TCP connection drop (section 7.1.1, 7.4.1).
 *
 * <p>It also notes why a connection ends: a Close frame the server sends and the protocol violations Netty's
 * frame decoder reports (it has already sent the RFC's close status, e.g. 1002 or 1009) become the
 * connection's close reason in the log.
 */
public final class WebSocketControl extends ChannelDuplexHandler {
    private boolean closeSent;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof PingWebSocketFrame ping) {
            events(ctx).heartbeat(ProtocolInstaller.protocolOf(ctx.channel()), Heartbeat.WS_PING_RECEIVED);
            ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
        } else if (msg instanceof PongWebSocketFrame pong) {
            events(ctx).heartbeat(ProtocolInstaller.protocolOf(ctx.channel()), Heartbeat.WS_PONG_RECEIVED);
            pong.release();
        } else if (msg instanceof CloseWebSocketFrame close) {
            int status = close.statusCode();
            ConnectionReporter.closeReason(ctx.channel(), "client closed the WebSocket"
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
            if (close.statusCode() == WebSocketCloseStatus.INVALID_MESSAGE_TYPE.code()
                    && String.valueOf(close.reasonText()).startsWith("text frames are not allowed")) {
                Probe.violated(ctx.channel(), Rule.WS_TEXT_FRAME_ON_BINARY_PROTOCOL, null,
                        "a text frame on a binary protocol; closed with 1003");
            }
            closeSent = true;
            ConnectionReporter.closeReason(ctx.channel(), "server closed the WebSocket with status " + close.statusCode()
                    + reason(close.reasonText()));
        }
        ctx.write(msg, promise);
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        if (!closeSent && ctx.channel().isActive()) {
            WebSocketCloseStatus status = events(ctx).goingAway()
                    ? WebSocketCloseStatus.ENDPOINT_UNAVAILABLE : WebSocketCloseStatus.NORMAL_CLOSURE;
            write(ctx, new CloseWebSocketFrame(status), ctx.voidPromise());
            ctx.flush();
        }
        ctx.close(promise);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof CorruptedWebSocketFrameException bad) {
            // The decoder has answered with the close status already and closes the connection.
            closeSent = true;
            Probe.violated(ctx.channel(), bad.closeStatus().code() == WebSocketCloseStatus.MESSAGE_TOO_BIG.code()
                    ? Rule.WS_FRAME_TOO_LARGE : Rule.WS_FRAME_INVALID, null,
                    bad.getMessage() + "; closed with " + bad.closeStatus().code());
            ConnectionReporter.closeReason(ctx.channel(), "WebSocket protocol violation (close status "
                    + bad.closeStatus().code() + "): " + bad.getMessage());
            ctx.close();
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    private static ConnectionEvents events(ChannelHandlerContext ctx) {
        return ConnectionReporter.events(ctx.channel());
    }

    private static String reason(String text) {
        return text == null || text.isEmpty() ? "" : " (" + text + ")";
    }
}
