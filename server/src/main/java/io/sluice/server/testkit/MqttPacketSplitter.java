package io.sluice.server.testkit;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.sluice.server.events.Violation;

import java.util.List;

/**
 * Strict mode only, in front of the MQTT decoder: cuts the byte stream into whole packets by their fixed header
 * (MQTT 5 section 2.1.4) so that a violation found while a packet is handled can quote that packet's bytes. A
 * stream that cannot be cut (a remaining length of more than four bytes, a packet over the size limit) is
 * passed on as it comes, for the decoder to refuse, with its first bytes as the quote.
 */
final class MqttPacketSplitter extends ByteToMessageDecoder {
    private final Probe probe;
    private final int maxPacketSize;
    private boolean passThrough;

    MqttPacketSplitter(Probe probe, int maxPacketSize) {
        this.probe = probe;
        this.maxPacketSize = maxPacketSize;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (passThrough) {
            out.add(in.readRetainedSlice(in.readableBytes()));
            return;
        }
        int start = in.readerIndex();
        int i = start + 1;
        long remaining = 0;
        int shift = 0;
        while (true) {
            if (i >= in.writerIndex()) {
                return;
            }
            int b = in.getUnsignedByte(i++);
            remaining |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                break;
            }
            shift += 7;
            if (shift == 28) {
                quoteAndPass(in, out);
                return;
            }
        }
        long total = (i - start) + remaining;
        if (total > maxPacketSize) {
            quoteAndPass(in, out);
            return;
        }
        if (in.readableBytes() < total) {
            return;
        }
        probe.lastInbound = copy(in, start, (int) total);
        out.add(in.readRetainedSlice((int) total));
    }

    private void quoteAndPass(ByteBuf in, List<Object> out) {
        passThrough = true;
        probe.lastInbound = copy(in, in.readerIndex(), in.readableBytes());
        out.add(in.readRetainedSlice(in.readableBytes()));
    }

    private static byte[] copy(ByteBuf in, int from, int length) {
        byte[] b = new byte[Math.min(length, Violation.MAX_BYTES)];
        in.getBytes(from, b);
        return b;
    }
}
