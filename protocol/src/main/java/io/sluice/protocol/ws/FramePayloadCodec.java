package io.sluice.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

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
 */
public final class FramePayloadCodec extends MessageToMessageCodec<WebSocketFrame, ByteBuf> {
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
        out.add(text ? new TextWebSocketFrame(bytes) : new BinaryWebSocketFrame(bytes));
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
