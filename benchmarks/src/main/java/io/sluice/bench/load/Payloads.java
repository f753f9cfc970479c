package io.sluice.bench.load;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Every message the generator sends starts with who sent it, its sequence number and its send time, so the
 * receiving side can count losses and duplicates and measure latency without any shared state.
 * Layout (big-endian): publisher index (int), sequence (long), send time in {@link System#nanoTime()} (long),
 * then filler up to the payload size.
 */
final class Payloads {
    static final int HEADER = 20;

    private Payloads() {
    }

    static ByteBuf stamp(ByteBufAllocator alloc, int size, int publisher, long seq, long sentNanos) {
        ByteBuf b = alloc.buffer(size);
        b.writeInt(publisher).writeLong(seq).writeLong(sentNanos);
        b.writeZero(size - HEADER);
        return b;
    }

    static int publisher(ByteBuf b) {
        return b.getInt(b.readerIndex());
    }

    static long seq(ByteBuf b) {
        return b.getLong(b.readerIndex() + 4);
    }

    static long sentNanos(ByteBuf b) {
        return b.getLong(b.readerIndex() + 12);
    }
}
