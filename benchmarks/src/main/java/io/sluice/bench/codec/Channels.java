package io.sluice.bench.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;

import java.util.SplittableRandom;

/** Helpers shared by the codec benchmarks: payloads, and draining an {@link EmbeddedChannel}. */
final class Channels {
    private Channels() {
    }

    static ByteBuf payload(int size) {
        byte[] bytes = new byte[size];
        new SplittableRandom(size).nextBytes(bytes);
        return Unpooled.directBuffer(size).writeBytes(bytes);
    }

    /** Read and release every outbound message; returns the bytes written. */
    static int drainOutbound(EmbeddedChannel ch) {
        int bytes = 0;
        Object o;
        while ((o = ch.readOutbound()) != null) {
            if (o instanceof ByteBuf b) {
                bytes += b.readableBytes();
            }
            ReferenceCountUtil.release(o);
        }
        return bytes;
    }

    /** Everything the channel wrote, as one unreleased buffer (the input of a decode benchmark). */
    static ByteBuf collectOutbound(EmbeddedChannel ch) {
        CompositeByteBuf all = Unpooled.compositeBuffer();
        Object o;
        while ((o = ch.readOutbound()) != null) {
            all.addComponent(true, (ByteBuf) o);
        }
        ByteBuf copy = Unpooled.directBuffer(all.readableBytes()).writeBytes(all);
        all.release();
        return copy;
    }
}
