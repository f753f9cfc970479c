package io.sluice.server.transport;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.server.events.Heartbeat;

import java.util.concurrent.TimeUnit;

/**
 * Detects dead WebSocket peers: sends a Ping every interval (a live client answers with a Pong, RFC 6455 section
 * 5.5.2), and when the {@link io.netty.handler.timeout.IdleStateHandler} in front reports that nothing at all was
 * read for the idle timeout, closes the connection with status 1001 - unless the server itself has stopped
 * reading (autoRead off: a publisher paused by backpressure), when silence proves nothing. Pings are skipped while the channel is not
 * writable: a client that is slow to read is not dead, and pings must not pile up behind its data.
 */
public final class WebSocketHeartbeat extends ChannelInboundHandlerAdapter {
    private final long pingIntervalMillis;
    private final long idleTimeoutMillis;
    private ScheduledFuture<?> pinger;
    private boolean pausedByServer;

    public WebSocketHeartbeat(long pingIntervalMillis, long idleTimeoutMillis) {
        this.pingIntervalMillis = pingIntervalMillis;
        this.idleTimeoutMillis = idleTimeoutMillis;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (pingIntervalMillis > 0) {
            pinger = ctx.executor().scheduleAtFixedRate(() -> {
                if (ctx.channel().isWritable()) {
                    ctx.writeAndFlush(new PingWebSocketFrame());
                    ConnectionReporter.events(ctx.channel())
                            .heartbeat(ProtocolInstaller.protocolOf(ctx.channel()), Heartbeat.WS_PING_SENT);
                }
            }, pingIntervalMillis, pingIntervalMillis, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent idle && idle.state() == IdleState.READER_IDLE) {
            if (!ctx.channel().config().isAutoRead()) {
                // The server has stopped reading (backpressure on a publisher): the silence is ours, not the peer's.
                pausedByServer = true;
                return;
            }
            if (pausedByServer) {
                // Reading resumed since the last check: the peer gets a whole idle period from now.
                pausedByServer = false;
                return;
            }
            ConnectionReporter.events(ctx.channel())
                    .heartbeat(ProtocolInstaller.protocolOf(ctx.channel()), Heartbeat.TIMEOUT);
            ConnectionReporter.closeReason(ctx.channel(), "WebSocket silent for " + idleTimeoutMillis
                    + " ms (no frame, not even a Pong); closed as dead");
            // A dead peer may never drain the socket: close now rather than after the Close frame is written.
            ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.ENDPOINT_UNAVAILABLE, "idle timeout"));
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stop();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        stop();
        ctx.fireChannelInactive();
    }

    private void stop() {
        if (pinger != null) {
            pinger.cancel(false);
            pinger = null;
        }
    }
}
