package io.sluice.server.cluster;

/**
 * The stream sequences JetStream has handed this node, over a sliding window of the most recent ones: one bit each in
 * a ring, so marking one allocates nothing.
 *
 * <p>Why: JetStream hands a message again when its ack wait runs out before the node's acknowledgement reaches it (a
 * busy machine, an acknowledgement lost with a connection). A copy that comes after the first was put in every local
 * queue and acknowledged would be published twice. A copy that was handed before and is no longer in hand is that
 * case: the node acknowledges it and drops it.
 *
 * <p>A sequence older than the window reads as not handed: such a copy is published again (at-least-once, as before).
 * The window (2<sup>20</sup> sequences, 128 KiB) spans far more than JetStream keeps unacknowledged for one node
 * ({@code --cluster-max-ack-pending}). Used by one thread, the consumer's; synchronized so another may read it.
 */
final class HandedSequences {
    static final int DEFAULT_WINDOW_BITS = 1 << 20;

    private final long[] words;
    private final long window;
    /** The highest sequence marked; the window is {@code (highest - window, highest]}. */
    private long highest;

    HandedSequences() {
        this(DEFAULT_WINDOW_BITS);
    }

    /** {@code windowBits}: a power of two, at least 64. */
    HandedSequences(int windowBits) {
        if (windowBits < 64 || Integer.bitCount(windowBits) != 1) {
            throw new IllegalArgumentException("window must be a power of two of at least 64: " + windowBits);
        }
        this.words = new long[windowBits / 64];
        this.window = windowBits;
    }

    synchronized void mark(long seq) {
        if (seq > highest) {
            clear(highest + 1, seq);
            highest = seq;
        } else if (seq <= highest - window) {
            return; // older than the window
        }
        int bit = (int) (seq & (window - 1));
        words[bit >>> 6] |= 1L << bit;
    }

    synchronized boolean contains(long seq) {
        if (seq > highest || seq <= highest - window || seq <= 0) {
            return false;
        }
        int bit = (int) (seq & (window - 1));
        return (words[bit >>> 6] & (1L << bit)) != 0;
    }

    /** Clear the ring's bits for sequences {@code from..to}, about to be reused for them. */
    private void clear(long from, long to) {
        if (to - from + 1 >= window) {
            java.util.Arrays.fill(words, 0L);
            return;
        }
        for (long s = from; s <= to; ) {
            int bit = (int) (s & (window - 1));
            int word = bit >>> 6;
            int offset = bit & 63;
            long inWord = Math.min(64 - offset, to - s + 1);
            long mask = inWord == 64 ? -1L : ((1L << inWord) - 1) << offset;
            words[word] &= ~mask;
            s += inWord;
        }
    }
}
