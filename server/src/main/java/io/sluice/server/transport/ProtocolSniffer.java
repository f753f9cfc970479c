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
import io.sluice.protocol.ws.Subprotocol;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Transport;

import java.util.Locale;

/**
 * Recognises the protocol of a WebSocket from the first bytes its client sends (an MQTT CONNECT, a STOMP
 * {@code CONNECT} or {@code STOMP} frame): the bytes are held until a registered module says it is its protocol,
 * then the module is installed and receives them all, in order. A client that sends nothing is left to the
 * handshake timeout.
 * <ul>
 *   <li>A client that named neither a subprotocol nor a protocol path is served by what its first bytes are.
 *       Bounded: past the sniff limit, or when every module says no, the connection is closed (1008, 1003).</li>
 *   <li>A client that negotiated a subprotocol ({@link #expecting}) is served by that subprotocol's module,
 *       unless its first bytes are recognisably another protocol's opening frame: that contradiction closes
 *       the WebSocket with 1002 (protocol error, RFC 6455 section 7.4.1) and a reason naming both, e.g.
 *       "negotiated mqtt, first frame is STOMP CONNECT". Bytes that no module recognises, or that stay
 *       undecided past the sniff limit, go to the negotiated module, whose own parser answers them.</li>
 * </ul>
 */
public final class ProtocolSniffer extends ChannelInboundHandlerAdapter {
    private final ProtocolRegistry registry;
    private final ProtocolModule expected;
    private final Subprotocol negotiated;
    private final String path;
    private final int limit;
    private CompositeByteBuf head;
    private boolean refused;

    public ProtocolSniffer(ProtocolRegistry registry, String path, int limit) {
        this(registry, null, null, path, limit);
    }

    private ProtocolSniffer(ProtocolRegistry registry, ProtocolModule expected, Subprotocol negotiated, String path,
                            int limit) {
        this.registry = registry;
        this.expected = expected;
        this.negotiated = negotiated;
        this.path = path;
        this.limit = limit;
    }

    /** For a connection that negotiated {@code subprotocol}, served by {@code module}: checks its first bytes. */
    public static ProtocolSniffer expecting(ProtocolRegistry registry, ProtocolModule module, Subprotocol subprotocol,
                                            String path, int limit) {
        return new ProtocolSniffer(registry, module, subprotocol, path, limit);
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
        if (expected != null) {
            if (chosen != null && chosen != expected) {
                refuse(ctx, WebSocketCloseStatus.PROTOCOL_ERROR, "negotiated " + negotiated.token()
                        + ", first frame is " + chosen.name().toUpperCase(Locale.ROOT) + " CONNECT");
            } else if (chosen != null || !undecided || head.readableBytes() >= limit) {
                hand(ctx, expected);
            }
        } else if (chosen != null) {
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
                new ConnectionInfo(Transport.WEBSOCKET, negotiated, ctx.channel().remoteAddress(), path));
        ByteBuf buffered = head;
        head = null;
        ctx.pipeline().remove(this);
        ctx.fireChannelRead(buffered);
        ctx.fireChannelReadComplete();
    }

    private void refuse(ChannelHandlerContext ctx, WebSocketCloseStatus status, String reason) {
        ConnectionReporter.refused(ctx.channel(), Refusal.BAD_HANDSHAKE, "WebSocket on " + path + ": " + reason);
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
