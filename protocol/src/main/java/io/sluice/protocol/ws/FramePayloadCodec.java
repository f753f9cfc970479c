package io.sluice.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionEncoder;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Turns WebSocket data frames into the byte stream a protocol decoder reads, and the protocol's outbound
 * {@link ByteBuf}s into frames. Frame boundaries carry no meaning for MQTT or a byte-stream STOMP decoder: a
 * packet may span several frames (continuation frames included) and one frame may carry several packets, so
 * each payload is passed on as it arrives, without copying.
 *
 * <p>Text frames reach the protocol only when it accepts them (STOMP); on any other protocol a text frame
 * closes the connection with status 1003 (MQTT 5 section 6.0, MQTT 3.1.1 section 6.0). Outbound frames mirror
 * the type of the client's data frames, so a STOMP client that speaks text is answered in text (unless the bytes
 * are not UTF-8, which a text frame cannot carry); otherwise they are binary. Control frames (ping, pong, close) are not this handler's business and pass through untouched.
 *
 * <p>A binary frame on a connection without extensions is framed in place when the protocol left room for the
 * header in front of its bytes ({@link #HEADROOM}): the header goes there and the one buffer leaves as the whole
 * frame, instead of a frame object that Netty's frame encoder copies into a second buffer. A server's frames are
 * not masked (RFC 6455 section 5.1), so the header is all it takes. Where an extension (permessage-deflate) is on,
 * it works on frame objects, and every message goes as one.
 */
public final class FramePayloadCodec extends MessageToMessageCodec<WebSocketFrame, ByteBuf> {
    /**
     * Bytes a protocol may leave in front of an outbound buffer's content (before its reader index) for this codec
     * to write a binary frame header into: the longest header of an unmasked frame (RFC 6455 section 5.2). Such a
     * buffer must be the protocol's own to give: direct, allocated (not wrapping memory someone else owns), and
     * referenced by nobody else.
     */
    public static final int HEADROOM = 10;

    private static final int FIN_BINARY = 0x80 | 0x2;

    /** Whether no extension encoder works on this connection's frames; null until the first outbound message. */
    private Boolean plainFrames;
    private boolean acceptsText;
    /** The type of the message the last data frame belonged to (continuations belong to the message they continue). */
    private boolean inboundText;
    private boolean closing;

    public FramePayloadCodec(boolean acceptsText) {
        this.acceptsText = acceptsText;
    }

    @Override
    public boolean acceptInboundMessage(Object msg) {
        return msg instanceof BinaryWebSocketFrame || msg instanceof TextWebSocketFrame
                || msg instanceof ContinuationWebSocketFrame;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, WebSocketFrame frame, List<Object> out) {
        if (closing) {
            return;
        }
        if (frame instanceof TextWebSocketFrame) {
            inboundText = true;
        } else if (frame instanceof BinaryWebSocketFrame) {
            inboundText = false;
        }
        if (inboundText && !acceptsText) {
            closing = true;
            ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.INVALID_MESSAGE_TYPE,
                            "text frames are not allowed on this protocol"))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (frame.content().isReadable()) {
            out.add(frame.content().retain());
        }
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, ByteBuf bytes, List<Object> out) {
        bytes.retain();
        // a text frame must hold valid UTF-8 (RFC 6455 section 8.1): a STOMP MESSAGE whose body is binary (an
        // MQTT payload, say) goes out as a binary frame even to a client that speaks text
        boolean text = inboundText && ByteBufUtil.isText(bytes, StandardCharsets.UTF_8);
        if (!text && frameInPlace(ctx, bytes)) {
            out.add(bytes);
            return;
        }
        out.add(text ? new TextWebSocketFrame(bytes) : new BinaryWebSocketFrame(bytes));
    }

    /** Write a binary frame's header into the room in front of {@code bytes}, when there is room and no extension. */
    private boolean frameInPlace(ChannelHandlerContext ctx, ByteBuf bytes) {
        if (bytes.readerIndex() < headerSize(bytes.readableBytes()) || !bytes.isDirect() || bytes.isReadOnly()
                || bytes instanceof CompositeByteBuf || bytes.refCnt() != 2) {
            return false; // refCnt 2: the protocol's reference and the one encode() took, nobody else's
        }
        if (!plainFrames(ctx)) {
            return false;
        }
        frameBinary(bytes);
        return true;
    }

    /** Whether frames leave this connection as they are, with no extension (permessage-deflate) working on them. */
    private boolean plainFrames(ChannelHandlerContext ctx) {
        if (plainFrames == null) {
            plainFrames = ctx.pipeline().get(WebSocketExtensionEncoder.class) == null;
        }
        return plainFrames;
    }

    /**
     * Whether a protocol may hand the frame codec's own context (from which a write skips this codec) bytes it has
     * framed itself with {@link #frameBinary}: no extension works on this connection's frames, and the client's
     * data frames are binary, which the frames going back then mirror.
     */
    public boolean acceptsFramedBytes(ChannelHandlerContext ctx) {
        return !inboundText && plainFrames(ctx);
    }

    private static int headerSize(int length) {
        return length <= 125 ? 2 : length <= 0xFFFF ? 4 : 10;
    }

    /**
     * Make {@code bytes} (its readable bytes) one final binary frame of a server, by writing the frame header into
     * the room the owner left in front of them, at least {@link #HEADROOM} bytes (RFC 6455 section 5.2; a server's
     * frames are not masked).
     */
    public static void frameBinary(ByteBuf bytes) {
        int length = bytes.readableBytes();
        int header = headerSize(length);
        int start = bytes.readerIndex() - header;
        bytes.setByte(start, FIN_BINARY);
        if (header == 2) {
            bytes.setByte(start + 1, length);
        } else if (header == 4) {
            bytes.setByte(start + 1, 126);
            bytes.setShort(start + 2, length);
        } else {
            bytes.setByte(start + 1, 127);
            bytes.setLong(start + 2, length);
        }
        bytes.readerIndex(start);
    }

    /**
     * Set once the protocol is known, when it was recognised from the first bytes (which may have arrived in
     * either frame type).
     */
    public void acceptsText(boolean accepts) {
        this.acceptsText = accepts;
    }

    /** Whether the client's last data frame was text (so replies go out as text). */
    public boolean clientSpeaksText() {
        return inboundText;
    }
}
