package io.sluice.protocol.delta;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * The Fossil delta format (Fossil SCM's {@code delta.c}, the format Centrifugo sends and the npm package
 * {@code fossil-delta} reads): a target described as copies from a source and literal inserts, ended by a
 * checksum of the target.
 *
 * <pre>
 *   delta   = size "\n" command* checksum ";"
 *   command = count "@" offset ","      copy count bytes of the source from offset
 *           | count ":" byte{count}     insert count literal bytes
 * </pre>
 * Integers are written most significant digit first in a base-64 alphabet
 * ({@code 0-9 A-Z _ a-z ~}); the checksum is the sum of the target's big-endian 32-bit words (the last, short
 * word padded with zeros on the right), modulo 2<sup>32</sup>.
 *
 * <p>{@link #apply} checks everything a delta claims (sizes, bounds, checksum) and throws
 * {@link FossilDeltaException} rather than return a wrong target. {@link Encoder} finds copies with a rolling
 * hash over 16-byte blocks of the source, as Fossil does; it keeps its hash tables between calls, so one
 * encoder per thread allocates nothing but the delta.
 */
public final class FossilDelta {
    /** Width of the rolling hash window and of the source blocks it indexes. */
    static final int NHASH = 16;
    private static final byte[] DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final int[] VALUES = new int[128];

    static {
        Arrays.fill(VALUES, -1);
        for (int i = 0; i < DIGITS.length; i++) {
            VALUES[DIGITS[i]] = i;
        }
    }

    private FossilDelta() {
    }

    /** A delta that turns {@code source} into {@code target} (one call to a fresh {@link Encoder}). */
    public static byte[] create(byte[] source, byte[] target) {
        return new Encoder().create(source, target);
    }

    /** The size of the target a delta describes, read from its header. */
    public static int targetSize(byte[] delta) {
        Reader r = new Reader(delta);
        long size = r.integer();
        if (!r.more() || r.next() != '\n') {
            throw new FossilDeltaException("size integer not terminated by '\\n'");
        }
        return checkedSize(size);
    }

    /** The target {@code delta} describes against {@code source}; throws if the delta is malformed or does not fit. */
    public static byte[] apply(byte[] source, byte[] delta) {
        Reader r = new Reader(delta);
        int limit = targetSize(delta);
        r.integer();
        r.next();
        byte[] out = new byte[limit];
        int total = 0;
        while (r.more()) {
            long count = r.integer();
            if (!r.more()) {
                break;
            }
            switch (r.next()) {
                case '@' -> {
                    long offset = r.integer();
                    if (!r.more() || r.next() != ',') {
                        throw new FossilDeltaException("copy command not terminated by ','");
                    }
                    if (total + count > limit) {
                        throw new FossilDeltaException("copy exceeds output file size");
                    }
                    if (offset + count > source.length) {
                        throw new FossilDeltaException("copy extends past end of input");
                    }
                    System.arraycopy(source, (int) offset, out, total, (int) count);
                    total += (int) count;
                }
                case ':' -> {
                    if (total + count > limit) {
                        throw new FossilDeltaException("insert command gives an output larger than predicted");
                    }
                    if (count > r.remaining()) {
                        throw new FossilDeltaException("insert count exceeds size of delta");
                    }
                    r.copy(out, total, (int) count);
                    total += (int) count;
                }
                case ';' -> {
                    if (total != limit) {
                        throw new FossilDeltaException("generated size does not match predicted size");
                    }
                    if (count != (checksum(out, limit) & 0xffffffffL)) {
                        throw new FossilDeltaException("bad checksum");
                    }
                    return out;
                }
                default -> throw new FossilDeltaException("unknown delta operator");
            }
        }
        throw new FossilDeltaException("unterminated delta");
    }

    /** Fossil's checksum of the first {@code n} bytes. */
    static int checksum(byte[] z, int n) {
        int sum0 = 0;
        int sum1 = 0;
        int sum2 = 0;
        int sum3 = 0;
        int i = 0;
        for (; n - i >= 4; i += 4) {
            sum0 += z[i] & 0xff;
            sum1 += z[i + 1] & 0xff;
            sum2 += z[i + 2] & 0xff;
            sum3 += z[i + 3] & 0xff;
        }
        sum3 += (sum2 << 8) + (sum1 << 16) + (sum0 << 24);
        switch (n - i) {
            case 3:
                sum3 += (z[i + 2] & 0xff) << 8;
                // fall through
            case 2:
                sum3 += (z[i + 1] & 0xff) << 16;
                // fall through
            case 1:
                sum3 += (z[i] & 0xff) << 24;
                // fall through
            default:
                break;
        }
        return sum3;
    }

    private static int checkedSize(long size) {
        if (size > Integer.MAX_VALUE - 8) {
            throw new FossilDeltaException("target size " + size + " too large");
        }
        return (int) size;
    }

    /** Digits of {@code v} in the delta's base 64. */
    static int digitCount(int v) {
        int i = 1;
        for (long x = 64; v >= x; i++, x <<= 6) {
            // counting
        }
        return i;
    }

    static void putInt(ByteArrayOutputStream out, long v) {
        if (v == 0) {
            out.write('0');
            return;
        }
        int shift = 0;
        while ((v >>> shift) >= 64) {
            shift += 6;
        }
        for (; shift >= 0; shift -= 6) {
            out.write(DIGITS[(int) ((v >>> shift) & 0x3f)]);
        }
    }

    /** Reads a delta: base-64 integers, operators and literal bytes. */
    private static final class Reader {
        private final byte[] a;
        private int pos;

        Reader(byte[] a) {
            this.a = a;
        }

        boolean more() {
            return pos < a.length;
        }

        int remaining() {
            return a.length - pos;
        }

        byte next() {
            return a[pos++];
        }

        /** Digits up to the first non-digit (not consumed); too many of them is a malformed delta, not an overflow. */
        long integer() {
            long v = 0;
            int digits = 0;
            while (pos < a.length) {
                byte b = a[pos];
                int d = b < 0 ? -1 : VALUES[b];
                if (d < 0) {
                    break;
                }
                if (++digits > 6) {
                    throw new FossilDeltaException("integer too large");
                }
                v = (v << 6) + d;
                pos++;
            }
            return v;
        }

        void copy(byte[] out, int at, int count) {
            System.arraycopy(a, pos, out, at, count);
            pos += count;
        }
    }

    /**
     * Makes deltas, keeping its hash tables for the next call: one per thread (an event loop), not shared.
     */
    public static final class Encoder {
        private int[] landmark = new int[0];
        private int[] collide = new int[0];
        private final ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        private final RollingHash hash = new RollingHash();

        /** A delta that turns {@code source} into {@code target}. */
        public byte[] create(byte[] source, byte[] target) {
            out.reset();
            int lenOut = target.length;
            int lenSrc = source.length;
            putInt(out, lenOut);
            out.write('\n');
            if (lenSrc <= NHASH) {
                // no copy can pay for itself: the whole target as one insert
                insert(target, 0, lenOut);
                return finish(target);
            }
            int nHash = (lenSrc + NHASH - 1) / NHASH;
            if (landmark.length < nHash) {
                landmark = new int[nHash];
                collide = new int[nHash];
            }
            Arrays.fill(landmark, 0, nHash, -1);
            Arrays.fill(collide, 0, nHash, -1);
            for (int i = 0; i < lenSrc - NHASH; i += NHASH) {
                hash.init(source, i);
                int hv = (int) (hash.value() % nHash);
                collide[i / NHASH] = landmark[hv];
                landmark[hv] = i / NHASH;
            }
            int base = 0;
            while (base + NHASH < lenOut) {
                int bestOffset = 0;
                int bestLiteral = 0;
                int bestCount = 0;
                hash.init(target, base);
                int i = 0; // matching a landmark against target[base + i]
                while (true) {
                    int limit = 250;
                    int block = landmark[(int) (hash.value() % nHash)];
                    while (block >= 0 && limit-- > 0) {
                        // a candidate block: extend the match forwards from it, then backwards
                        int src = block * NHASH;
                        int j = 0;
                        for (int x = src, y = base + i; x < lenSrc && y < lenOut && source[x] == target[y]; x++, y++) {
                            j++;
                        }
                        j--;
                        int k = 1;
                        while (k < src && k <= i && source[src - k] == target[base + i - k]) {
                            k++;
                        }
                        k--;
                        int offset = src - k;
                        int count = j + k + 1;
                        int literal = i - k;
                        // the copy (and the insert before it) must cost less than the bytes it saves
                        int cost = digitCount(i - k) + digitCount(count) + digitCount(offset) + 3;
                        if (count >= cost && count > bestCount) {
                            bestCount = count;
                            bestOffset = offset;
                            bestLiteral = literal;
                        }
                        block = collide[block];
                    }
                    if (bestCount > 0) {
                        if (bestLiteral > 0) {
                            insert(target, base, bestLiteral);
                            base += bestLiteral;
                        }
                        base += bestCount;
                        putInt(out, bestCount);
                        out.write('@');
                        putInt(out, bestOffset);
                        out.write(',');
                        break;
                    }
                    if (base + i + NHASH >= lenOut) {
                        // no match up to the end: the rest goes as an insert
                        insert(target, base, lenOut - base);
                        base = lenOut;
                        break;
                    }
                    hash.next(target[base + i + NHASH] & 0xff);
                    i++;
                }
            }
            if (base < lenOut) {
                insert(target, base, lenOut - base);
            }
            return finish(target);
        }

        private void insert(byte[] target, int from, int count) {
            putInt(out, count);
            out.write(':');
            out.write(target, from, count);
        }

        private byte[] finish(byte[] target) {
            putInt(out, checksum(target, target.length) & 0xffffffffL);
            out.write(';');
            return out.toByteArray();
        }
    }

    /** Fossil's rolling hash of a 16-byte window: two 16-bit sums. */
    private static final class RollingHash {
        private int a;
        private int b;
        private int i;
        private final int[] z = new int[NHASH];

        void init(byte[] s, int pos) {
            int a = 0;
            int b = 0;
            for (int k = 0; k < NHASH; k++) {
                int x = s[pos + k] & 0xff;
                a = (a + x) & 0xffff;
                b = (b + (NHASH - k) * x) & 0xffff;
                z[k] = x;
            }
            this.a = a;
            this.b = b;
            this.i = 0;
        }

        void next(int c) {
            int old = z[i];
            z[i] = c;
            i = (i + 1) & (NHASH - 1);
            a = (a - old + c) & 0xffff;
            b = (b - NHASH * old + a) & 0xffff;
        }

        long value() {
            return (a & 0xffffL) | ((b & 0xffffL) << 16);
        }
    }
}
