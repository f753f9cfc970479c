package io.sluice.server.store;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageProperties;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The records' strings are {@link DataOutputStream#writeUTF}'s bytes, as every store written so far holds them, now
 * written into a buffer: every class of character (ASCII, NUL, two- and three-byte, a surrogate pair, a lone
 * surrogate), the longest string that fits and one past it.
 */
class RecordsTest {
    private static final List<String> STRINGS = List.of("", "a/b/c", "nul\0inside", "caf\u00e9", "\u00ff\u0080",
            "\u6e29\u5ea6/\u0800\uffff", "emoji \ud83d\ude00", "lone \ud800 surrogate", "\u007f\u0001",
            "a".repeat(65535), "\u00e9".repeat(32767));

    @Test
    void stringsAreWrittenAsWriteUtfWritesThem() throws IOException {
        for (String s : STRINGS) {
            ByteBuf out = Unpooled.buffer();
            Records.writeUtf(out, s);
            assertArrayEquals(writeUtf(s), ByteBufUtil.getBytes(out), () -> "for " + s.substring(0, Math.min(20, s.length())));
        }
    }

    @Test
    void aStringPastWriteUtfsLimitIsRefusedAsBefore() {
        assertThrows(RuntimeException.class, () -> Records.writeUtf(Unpooled.buffer(), "a".repeat(65536)));
        assertThrows(RuntimeException.class, () -> Records.writeUtf(Unpooled.buffer(), "\u00e9".repeat(32768)));
    }

    @Test
    void aMessageWithEveryFieldComesBack() {
        for (String s : STRINGS.subList(0, STRINGS.size() - 2)) {
            Message m = Message.builder("t/" + s).payload(s.getBytes(StandardCharsets.UTF_8)).qos(2).retain(true)
                    .expiresAtMillis(4_000_000_000_000L).publisherId("p" + s)
                    .properties(new MessageProperties("ct" + s, false, "re/" + s, new byte[] {0, 1, 2},
                            List.of(Map.entry("k" + s, "v" + s), Map.entry("k", "")))).build();
            Message back = Records.message(Records.message(m));
            assertEquals(m.topic(), back.topic());
            assertArrayEquals(m.payload(), back.payload());
            assertEquals(m.qos(), back.qos());
            assertEquals(m.retain(), back.retain());
            assertEquals(m.expiresAtMillis(), back.expiresAtMillis());
            assertEquals(m.publisherId(), back.publisherId());
            assertEquals(m.properties().contentType(), back.properties().contentType());
            assertEquals(m.properties().payloadFormatUtf8(), back.properties().payloadFormatUtf8());
            assertEquals(m.properties().responseTopic(), back.properties().responseTopic());
            assertArrayEquals(m.properties().correlationData(), back.properties().correlationData());
            assertEquals(m.properties().userProperties(), back.properties().userProperties());
        }
    }

    private static byte[] writeUtf(String s) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeUTF(s);
        }
        return bytes.toByteArray();
    }
}
