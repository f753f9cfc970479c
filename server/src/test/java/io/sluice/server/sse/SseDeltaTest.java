package io.sluice.server.sse;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.protocol.delta.FossilDelta;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static io.sluice.server.sse.FallbackBroker.WAIT;
import static io.sluice.server.sse.FallbackBroker.enc;
import static io.sluice.server.sse.FallbackBroker.json;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /sse?...&delta=fossil}: events decoded with the Java Fossil decoder equal the messages published,
 * a delta is marked {@code "delta":"fossil"}, a reconnected stream starts from whole payloads, a reader without
 * the parameter never sees a delta, and a parameter naming another format is refused.
 */
class SseDeltaTest {
    private FallbackBroker broker;

    @AfterEach
    void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    static byte[] document(int version) {
        Random r = new Random(9);
        StringBuilder sb = new StringBuilder("{\"rows\":[");
        for (int i = 0; sb.length() < 2000; i++) {
            sb.append("{\"id\":").append(i).append(",\"price\":").append(r.nextInt(10_000) + (i % 10 == version % 10 ? version : 0))
                    .append(",\"name\":\"ligne é ").append(i).append("\"},");
        }
        return sb.append("{\"version\":").append(version).append("}]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    /** An EventSource page's side: the last payload per topic, deltas applied to it. */
    private static final class Decoder {
        final Map<String, byte[]> last = new HashMap<>();
        int deltas;

        byte[] accept(JsonNode event) {
            JsonNode p = event.get("payload");
            byte[] wire = event.has("encoding") ? Base64.getDecoder().decode(p.asText())
                    : p.asText().getBytes(StandardCharsets.UTF_8);
            String topic = event.get("topic").asText();
            boolean delta = event.has("delta");
            if (delta) {
                assertEquals("fossil", event.get("delta").asText());
                deltas++;
            }
            byte[] payload = delta ? FossilDelta.apply(last.get(topic), wire) : wire;
            last.put(topic, payload);
            return payload;
        }
    }

    @Test
    void aDeltaStreamDecodesToTheMessagesAndStartsWholeAgainAfterAReconnect() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.HISTORY_FILTERS, java.util.List.of("live/#")));
        MqttClient pub = broker.mqtt("sse-delta-pub");
        Decoder decoder = new Decoder();
        String lastId;
        try (SseClient sse = SseClient.open(broker.http("/sse?filter=" + enc("live/#") + "&delta=fossil"), null);
             SseClient plain = broker.sse("live/#", null)) {
            for (int v = 0; v < 5; v++) {
                pub.publish("live/score", document(v), 1, false);
                JsonNode e = json(sse.next(WAIT));
                assertEquals(v > 0, e.has("delta"), "version " + v);
                assertArrayEquals(document(v), decoder.accept(e), "version " + v);
                JsonNode p = json(plain.next(WAIT));
                assertFalse(p.has("delta"), "a reader without delta=fossil never sees a delta");
                assertArrayEquals(document(v), p.get("payload").asText().getBytes(StandardCharsets.UTF_8));
            }
            lastId = sse.lastEventId();
        }
        for (int v = 5; v < 8; v++) { // published while the reader is away: replayed from the history on resume
            pub.publish("live/score", document(v), 1, false);
        }
        try (SseClient again = SseClient.open(broker.http("/sse?filter=" + enc("live/#") + "&delta=fossil"), lastId)) {
            for (int v = 5; v < 8; v++) {
                JsonNode e = json(again.next(WAIT));
                assertEquals(v > 5, e.has("delta"), "version " + v + ": a new stream starts whole");
                assertArrayEquals(document(v), decoder.accept(e), "version " + v);
            }
        }
        assertEquals(6, decoder.deltas);
        pub.disconnect();
    }

    @Test
    void anUnknownDeltaFormatIsRefused() throws Exception {
        broker = new FallbackBroker();
        var r = broker.get("/sse?filter=a&delta=xdelta");
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("delta must be fossil"), r.body());
    }
}
