package io.sluice.protocol.sse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The text/event-stream fields, event ids and the JSON envelope, byte for byte. */
class EventFormatTest {
    private static String text(ByteBuf b) {
        try {
            return b.toString(StandardCharsets.UTF_8);
        } finally {
            b.release();
        }
    }

    @Test
    void eventsCommentsRetryAndIdOnlyBlocks() {
        ByteBuf b = Unpooled.buffer();
        EventStream.retry(b, 3000);
        EventStream.position(b, "x-1");
        EventStream.event(b, "x-2", "reset", "{}");
        EventStream.event(b, null, null, "plain");
        EventStream.comment(b);
        assertEquals("retry:3000\n\nid:x-1\n\nid:x-2\nevent:reset\ndata:{}\n\ndata:plain\n\n:\n", text(b));
        assertThrows(IllegalArgumentException.class, () -> EventStream.event(Unpooled.buffer(), "a\nb", null, "d"));
        assertThrows(IllegalArgumentException.class, () -> EventStream.event(Unpooled.buffer(), null, null, "a\rb"));
    }

    @Test
    void idsRoundTripAndAnythingElseIsNotAnId() {
        EventId id = new EventId(1_764_478_000_123L, 42);
        assertEquals(id, EventId.parse(id.format()));
        for (String bad : new String[] {null, "", "-", "abc", "-1", "1-", "1--2", "!!-3", "1-x", "1-99999999999999999999",
                "1".repeat(41) + "-1"}) {
            assertNull(EventId.parse(bad), bad);
        }
    }

    @Test
    void theEnvelopeCarriesTextAsIsAndAnythingElseInBase64() {
        ByteBuf b = Unpooled.buffer();
        Envelope.write(b, null, "a/b", "21.5 °C \"quoted\"\nline".getBytes(StandardCharsets.UTF_8), false, false, 1, null);
        assertEquals("{\"topic\":\"a/b\",\"payload\":\"21.5 °C \\\"quoted\\\"\\nline\"}", text(b));
        b = Unpooled.buffer();
        Envelope.write(b, "e-1", "bin", new byte[] {(byte) 0xc3, 0x28}, true, false, 0, null);
        assertEquals("{\"id\":\"e-1\",\"topic\":\"bin\",\"payload\":\"wyg=\",\"encoding\":\"base64\",\"retained\":true}", text(b));
    }

    @Test
    void theFullEnvelopeAddsQosAndProperties() {
        ByteBuf b = Unpooled.buffer();
        Envelope.write(b, null, "t", "x".getBytes(), false, true, 1, new Envelope.Properties("text/plain", true,
                "reply/here", new byte[] {1, 2}, List.of(Map.entry("k", "v"), Map.entry("k", "w"))));
        assertEquals("{\"topic\":\"t\",\"payload\":\"x\",\"qos\":1,\"properties\":{\"contentType\":\"text/plain\","
                + "\"payloadFormat\":\"utf-8\",\"responseTopic\":\"reply/here\",\"correlationData\":\"AQI=\","
                + "\"userProperties\":[[\"k\",\"v\"],[\"k\",\"w\"]]}}", text(b));
        b = Unpooled.buffer();
        Envelope.write(b, null, "t", new byte[0], false, true, 0, Envelope.Properties.NONE);
        assertEquals("{\"topic\":\"t\",\"payload\":\"\",\"qos\":0}", text(b));
    }
}
