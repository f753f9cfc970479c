package io.sluice.server.transport;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.sluice.server.events.ConnectionEvents;

/**
 * Counts a compressed WebSocket's outgoing data frames before and after permessage-deflate: one handler on each
 * side of the deflate encoder, which turns each frame into one frame synchronously on the event loop, so the
 * raw side hands its size to the wire side through a field. Its raw side also holds incoming frames to
 * {@code ws-max-frame-size} once inflated (1009 past it) and answers undecodable deflate data with 1007.
 */
final class CompressionMeter {
    private final int maxInflated;
    private int pendingRaw = -1;
    private ConnectionEvents events;

    CompressionMeter(int maxInflated) {
        this.maxInflated = maxInflated;
    }

    ChannelHandler rawSide() {
        return new ChannelDuplexHandler() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (isData(msg) && ((WebSocketFrame) msg).content().readableBytes() > maxInflated) {
                    ((WebSocketFrame) msg).release();
                    fail(ctx, WebSocketCloseStatus.MESSAGE_TOO_BIG, "compressed frame inflates past ws-max-frame-size", null);
                    return;
                }
                ctx.fireChannelRead(msg);
            }

            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                if (isData(msg)) {
                    pendingRaw = ((WebSocketFrame) msg).content().readableBytes();
                }
                ctx.write(msg, promise);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                DecompressionException inflate = inflateFailure(cause);
                if (inflate == null) {
                    ctx.fireExceptionCaught(cause);
                    return;
                }
                if (String.valueOf(inflate.getMessage()).contains("maximum size")) {
                    fail(ctx, WebSocketCloseStatus.MESSAGE_TOO_BIG, "compressed frame inflates past ws-max-frame-size", inflate);
                } else {
                    fail(ctx, WebSocketCloseStatus.INVALID_PAYLOAD_DATA, "undecodable deflate data", inflate);
                }
            }
        };
    }

    ChannelHandler wireSide() {
        return new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                if (pendingRaw >= 0 && isData(msg)) {
                    if (events == null) {
                        events = ConnectionReporter.events(ctx.channel());
                    }
                    events.compressed(ProtocolInstaller.protocolOf(ctx.channel()), pendingRaw,
                            ((WebSocketFrame) msg).content().readableBytes());
                    pendingRaw = -1;
                }
                ctx.write(msg, promise);
            }
        };
    }

    /** Answered like the frame decoder's violations: the Close goes out, then WebSocketControl logs and closes. */
    private static void fail(ChannelHandlerContext ctx, WebSocketCloseStatus status, String why, Throwable cause) {
        ctx.writeAndFlush(new CloseWebSocketFrame(status, why));
        ctx.fireExceptionCaught(new CorruptedWebSocketFrameException(status, why, cause));
    }

    private static boolean isData(Object msg) {
        return msg instanceof BinaryWebSocketFrame || msg instanceof TextWebSocketFrame
                || msg instanceof ContinuationWebSocketFrame;
    }

    private static DecompressionException inflateFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof DecompressionException d) {
                return d;
            }
        }
        return null;
    }
}
