package io.sluice.server.stomp;

import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.protocol.delta.FossilDelta;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static io.sluice.server.stomp.StompTestClient.frame;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Opt-in delta delivery over STOMP ({@code delta:fossil} on SUBSCRIBE): MESSAGE bodies decoded with the Java
 * Fossil decoder equal what was sent, a delta is marked {@code delta:fossil} with its own content-length, a
 * NACK's redelivery goes in full, and a subscription without the header never sees a delta.
 */
class StompDeltaTest {
    static byte[] document(int version) {
        Random r = new Random(5);
        StringBuilder sb = new StringBuilder("{\"rows\":[");
        for (int i = 0; sb.length() < 2000; i++) {
            sb.append("{\"id\":").append(i).append(",\"price\":").append(r.nextInt(10_000) + (i % 10 == version % 10 ? version : 0))
                    .append(",\"name\":\"row ").append(i).append("\"},");
        }
        return sb.append("{\"version\":").append(version).append("}]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A client library's side: the last body per subscription and destination, deltas applied to it. */
    private static final class Decoder {
        final Map<String, byte[]> last = new HashMap<>();
        int deltas;

        byte[] accept(StompTestClient.Frame m) {
            String key = m.header("subscription") + " " + m.header("destination");
            boolean delta = "fossil".equals(m.header("delta"));
            assertEquals(m.body().length, Integer.parseInt(m.header("content-length")));
            byte[] body = delta ? FossilDelta.apply(last.get(key), m.body()) : m.body();
            if (delta) {
                deltas++;
                assertTrue(m.body().length * 5 < body.length, "a delta of a few changed fields: " + m.body().length);
            }
            last.put(key, body);
            return body;
        }
    }

    @Test
    void deltasDecodeToTheMessagesSentAndANackedOneComesBackInFull() throws Exception {
        try (StompTestServer server = new StompTestServer(Settings.defaults().with(Settings.DELTA_FULL_EVERY, 100));
             StompTestClient sub = new StompTestClient(server.port());
             StompTestClient plain = new StompTestClient(server.port());
             StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            plain.connect("1.2");
            pub.connect("1.2");
            sub.subscribe("/topic/live/#", "d", "ack", "client-individual", "delta", "fossil");
            plain.subscribe("/topic/live/#", "p");
            Decoder decoder = new Decoder();
            for (int v = 0; v < 6; v++) {
                pub.send(StompTestClient.sendFrame("/topic/live/score", document(v), "content-type", "application/json",
                        "delta", "fossil")); // a sender's own delta header is not passed on
                StompTestClient.Frame m = sub.next(StompCommand.MESSAGE);
                assertEquals(v > 0 && v != 4, "fossil".equals(m.header("delta")), "version " + v + " (4 follows a redelivery)");
                assertEquals("application/json", m.header("content-type"));
                assertArrayEquals(document(v), decoder.accept(m), "version " + v);
                StompTestClient.Frame p = plain.next(StompCommand.MESSAGE);
                assertNull(p.header("delta"), "a subscription without the header never sees a delta");
                assertArrayEquals(document(v), p.body());
                if (v == 3) {
                    sub.send(frame(StompCommand.NACK, "id", m.header("ack")));
                    StompTestClient.Frame again = sub.next(StompCommand.MESSAGE);
                    assertEquals("true", again.header("redelivered"));
                    assertNull(again.header("delta"), "a redelivery goes in full");
                    assertArrayEquals(document(v), decoder.accept(again));
                    m = again;
                }
                sub.send(frame(StompCommand.ACK, "id", m.header("ack")));
            }
            assertEquals(4, decoder.deltas, "versions 1-3 and 5; 4 follows the redelivery, in full");
        }
    }
}
