package io.sluice.protocol.stomp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeaders;
import io.netty.handler.codec.stomp.StompSubframe;
import io.netty.handler.codec.stomp.StompSubframeEncoder;

import java.util.List;
import java.util.Map;

/**
 * Netty's {@link StompSubframeEncoder}, made to write each version's header encoding. Netty escapes
 * {@code \r \n : \\} (the 1.2 rules) in every frame but CONNECT/CONNECTED. That is right for 1.2; for 1.1
 * CRs, which 1.1 cannot escape, are dropped first ({@link StompVersion#toEncodable}); and a 1.0 client would
 * read Netty's escapes literally (a ':' in a value would arrive as {@code \c}), so 1.0 frames are written
 * here without escaping, only line breaks, which 1.0 cannot carry in a header, replaced by spaces.
 */
public final class StompFrameEncoder extends StompSubframeEncoder {
    private StompVersion version = StompVersion.V1_2;

    /** The negotiated version; frames before it is known (an ERROR answering a bad CONNECT) use 1.2 rules. */
    public void version(StompVersion version) {
        this.version = version;
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, StompSubframe msg, List<Object> out) throws Exception {
        if (msg instanceof StompFrame frame && frame.command() != StompCommand.CONNECTED) {
            if (version == StompVersion.V1_0) {
                out.add(encodeUnescaped(ctx, frame));
                return;
            }
            if (version == StompVersion.V1_1) {
                dropCarriageReturns(frame.headers());
            }
        }
        super.encode(ctx, msg, out);
    }

    private static void dropCarriageReturns(StompHeaders headers) {
        boolean any = false;
        for (Map.Entry<CharSequence, CharSequence> e : headers) {
            any |= indexOfCr(e.getKey()) >= 0 || indexOfCr(e.getValue()) >= 0;
        }
        if (!any) {
            return;
        }
        List<Map.Entry<CharSequence, CharSequence>> copy = new java.util.ArrayList<>();
        headers.forEach(copy::add);
        headers.clear();
        for (Map.Entry<CharSequence, CharSequence> e : copy) {
            headers.add(StompVersion.V1_1.toEncodable(e.getKey().toString()),
                    StompVersion.V1_1.toEncodable(e.getValue().toString()));
        }
    }

    private static int indexOfCr(CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\r') {
                return i;
            }
        }
        return -1;
    }

    /** A whole 1.0 frame: command, raw headers, blank line, body, NUL. */
    private static ByteBuf encodeUnescaped(ChannelHandlerContext ctx, StompFrame frame) {
        ByteBuf body = frame.content();
        ByteBuf buf = ctx.alloc().buffer(64 + 32 * frame.headers().size() + body.readableBytes());
        ByteBufUtil.writeAscii(buf, frame.command().name());
        buf.writeByte('\n');
        for (Map.Entry<CharSequence, CharSequence> e : frame.headers()) {
            String name = oneLine(e.getKey()).replace(':', '_');
            ByteBufUtil.writeUtf8(buf, name);
            buf.writeByte(':');
            ByteBufUtil.writeUtf8(buf, oneLine(e.getValue()));
            buf.writeByte('\n');
        }
        buf.writeByte('\n');
        buf.writeBytes(body, body.readerIndex(), body.readableBytes());
        buf.writeByte(0);
        return buf;
    }

    private static String oneLine(CharSequence s) {
        String v = s.toString();
        return v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0 ? v.replace('\n', ' ').replace('\r', ' ') : v;
    }
}
