package io.sluice.protocol.delta;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Fossil delta format: round trips over many edit shapes, the size it reaches, and every malformed delta refused. */
class FossilDeltaTest {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A JSON document of about {@code size} bytes, fields numbered, values from {@code seed}. */
    static byte[] document(int size, long seed) {
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; sb.length() < size; i++) {
            sb.append("\"field").append(i).append("\":{\"price\":").append(r.nextInt(100_000))
                    .append(",\"name\":\"item ").append(i).append("\",\"ok\":").append(r.nextBoolean()).append("},");
        }
        sb.setLength(sb.length() - 1);
        return utf8(sb.append('}').toString());
    }

    @Test
    void roundTripsOverEveryEditShape() {
        Random r = new Random(42);
        FossilDelta.Encoder encoder = new FossilDelta.Encoder();
        for (int round = 0; round < 2000; round++) {
            byte[] source = new byte[r.nextInt(3000)];
            r.nextBytes(source);
            if (r.nextBoolean()) { // low-entropy sources have many hash collisions
                for (int i = 0; i < source.length; i++) {
                    source[i] = (byte) ('a' + (source[i] & 3));
                }
            }
            byte[] target = edit(source, r);
            byte[] delta = encoder.create(source, target);
            assertArrayEquals(target, FossilDelta.apply(source, delta), "round " + round);
            assertEquals(target.length, FossilDelta.targetSize(delta));
        }
    }

    /** Inserts, deletions, overwrites, moves, truncation, growth: a random mix of them. */
    private static byte[] edit(byte[] source, Random r) {
        byte[] t = source.clone();
        int edits = r.nextInt(6);
        for (int e = 0; e < edits; e++) {
            int at = t.length == 0 ? 0 : r.nextInt(t.length);
            switch (r.nextInt(5)) {
                case 0 -> { // insert random bytes
                    byte[] ins = new byte[r.nextInt(100)];
                    r.nextBytes(ins);
                    t = concat(Arrays.copyOf(t, at), ins, Arrays.copyOfRange(t, at, t.length));
                }
                case 1 -> t = concat(Arrays.copyOf(t, at), Arrays.copyOfRange(t, Math.min(t.length, at + r.nextInt(200)), t.length));
                case 2 -> {
                    for (int i = at; i < Math.min(t.length, at + r.nextInt(8)); i++) {
                        t[i] = (byte) r.nextInt();
                    }
                }
                case 3 -> t = concat(Arrays.copyOfRange(t, at, t.length), Arrays.copyOf(t, at)); // rotate: a move
                default -> t = r.nextBoolean() ? Arrays.copyOf(t, at) : concat(t, t);
            }
        }
        return t;
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    @Test
    void aDocumentWithAFewChangedFieldsBecomesAFewDozenBytes() {
        byte[] before = document(2048, 1);
        byte[] after = before.clone();
        String text = new String(after, StandardCharsets.UTF_8);
        text = text.replaceFirst("\"price\":\\d+", "\"price\":1").replaceFirst("\"ok\":(true|false)\\}\\}$", "\"ok\":null}}");
        after = utf8(text.replace("\"name\":\"item 20\"", "\"name\":\"changed\""));
        byte[] delta = FossilDelta.create(before, after);
        assertArrayEquals(after, FossilDelta.apply(before, delta));
        assertTrue(delta.length < 80, "delta of " + delta.length + " bytes for a " + after.length + "-byte document");
    }

    @Test
    void identicalAndEmptyTargets() {
        byte[] doc = document(500, 3);
        for (byte[][] pair : new byte[][][] {{doc, doc}, {doc, new byte[0]}, {new byte[0], doc}, {new byte[0], new byte[0]},
                {utf8("short"), utf8("shorter")}}) {
            assertArrayEquals(pair[1], FossilDelta.apply(pair[0], FossilDelta.create(pair[0], pair[1])));
        }
        String same = new String(FossilDelta.create(doc, doc), StandardCharsets.US_ASCII);
        assertTrue(same.matches("\\w+\\n\\w+@0,\\w+;"), "an unchanged document is one copy: " + same);
    }

    @Test
    void theWireFormatOfASmallDelta() {
        // source too short to copy from: one insert of the target, then Fossil's checksum of "hello":
        // 0x68656c6c + 0x6f000000 = 0xd7656c6c, in the delta's base 64 "3NPMmh"
        assertEquals("5\n5:hello3NPMmh;", new String(FossilDelta.create(utf8("hi"), utf8("hello")), StandardCharsets.US_ASCII));
        assertEquals(0xd7656c6c, FossilDelta.checksum(utf8("hello"), 5));
        // a copy command: 20 bytes from offset 0, then an insert of "!"
        byte[] src = utf8("abcdefghijklmnopqrst");
        byte[] target = utf8("abcdefghijklmnopqrst!");
        String delta = new String(FossilDelta.create(src, target), StandardCharsets.US_ASCII);
        assertTrue(delta.startsWith("L\nK@0,1:!"), delta);
        assertArrayEquals(target, FossilDelta.apply(src, utf8(delta)));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "no newline after the size          | 5",
        "size not terminated by a newline   | 5x5:hello3NPMmh;",
        "unknown operator                   | 5\\n5?hello3NPMmh;",
        "insert past the end of the delta   | 5\\n9:hello",
        "insert larger than the target      | 4\\n5:hello3NPMmh;",
        "copy past the end of the source    | 5\\n5@0,3NPMmh;",
        "copy larger than the target        | 1\\n2@0,0;",
        "copy not terminated by a comma     | 2\\n2@0;0;",
        "generated size differs             | 6\\n5:hello3NPMmh;",
        "bad checksum                       | 5\\n5:hello3NPMmi;",
        "unterminated                       | 5\\n5:hello",
        "integer too large                  | 5\\n5:hello~~~~~~~~;",
    })
    void aMalformedDeltaIsRefused(String why, String delta) {
        byte[] bytes = utf8(delta.replace("\\n", "\n"));
        assertThrows(FossilDeltaException.class, () -> FossilDelta.apply(utf8("ab"), bytes), why);
    }
}
