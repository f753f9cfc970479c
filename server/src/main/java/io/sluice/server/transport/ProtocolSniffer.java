package io.sluice.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.util.ReferenceCountUtil;
import io.sluice.protocol.ws.FramePayloadCodec;

/**
 * Recognises the protocol of a WebSocket whose client named neither a subprotocol nor a protocol path, from the
 * first bytes it sends (an MQTT CONNECT, a STOMP {@code CONNECT} or {@code STOMP} frame): the bytes are held
 * until a registered module says it is its protocol, then the module is installed and receives them all, in
 * order. Bounded: past the sniff limit, or when every module says no, the connection is closed (1008, 1003); a
 * client that sends nothing is left to the handshake timeout.
 */
public final class ProtocolSniffer extends ChannelInboundHandlerAdapter {
    private final ProtocolRegistry registry;
    private final String path;
    private final int limit;
    private CompositeByteBuf head;
    private boolean refused;

    public ProtocolSniffer(ProtocolRegistry registry, String path, int limit) {
        this.registry = registry;
        this.path = path;
        this.limit = limit;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf bytes)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (refused) {
            bytes.release();
            return;
        }
        if (head == null) {
            head = ctx.alloc().compositeBuffer();
        }
        head.addComponent(true, bytes);
        ProtocolModule chosen = null;
        boolean undecided = false;
        for (ProtocolModule module : registry.modules()) {
            ProtocolModule.Recognition r = module.recognize(head.duplicate());
            if (r == ProtocolModule.Recognition.YES) {
                chosen = module;
                break;
            }
            undecided |= r == ProtocolModule.Recognition.NEED_MORE;
        }
        if (chosen != null) {
            hand(ctx, chosen);
        } else if (!undecided) {
            refuse(ctx, WebSocketCloseStatus.INVALID_MESSAGE_TYPE, "the first bytes match no protocol of this server");
        } else if (head.readableBytes() >= limit) {
            refuse(ctx, WebSocketCloseStatus.POLICY_VIOLATION, "no protocol recognised in the first "
                    + head.readableBytes() + " bytes (ws-sniff-limit " + limit + ")");
        }
    }

    private void hand(ChannelHandlerContext ctx, ProtocolModule module) {
        FramePayloadCodec codec = ctx.pipeline().get(FramePayloadCodec.class);
        if (codec != null) {
            if (codec.clientSpeaksText() && !module.acceptsTextFrames()) {
                refuse(ctx, WebSocketCloseStatus.INVALID_MESSAGE_TYPE, "text frames are not allowed on " + module.name());
                return;
            }
            codec.acceptsText(module.acceptsTextFrames());
        }
        ProtocolInstaller.install(ctx.channel(), module,
                new ConnectionInfo(Transport.WEBSOCKET, null, ctx.channel().remoteAddress(), path));
        ByteBuf buffered = head;
        head = null;
        ctx.pipeline().remove(this);
        ctx.fireChannelRead(buffered);
        ctx.fireChannelReadComplete();
    }

    private void refuse(ChannelHandlerContext ctx, WebSocketCloseStatus status, String reason) {
        ConnectionLog.refused(ctx.channel(), TransportEvents.Refusal.BAD_HANDSHAKE, "WebSocket on " + path + ": " + reason);
        refused = true;
        release();
        ctx.writeAndFlush(new CloseWebSocketFrame(status, reason.length() > 120 ? reason.substring(0, 120) : reason))
                .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        release();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        release();
        ctx.fireChannelInactive();
    }

    private void release() {
        if (head != null) {
            ReferenceCountUtil.safeRelease(head);
            head = null;
        }
    }
}
