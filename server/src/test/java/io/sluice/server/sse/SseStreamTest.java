package io.sluice.server.sse;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.sluice.server.sse.FallbackBroker.WAIT;
import static io.sluice.server.sse.FallbackBroker.enc;
import static io.sluice.server.sse.FallbackBroker.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GET /sse with java.net.http against the real broker: delivery, retained first, heartbeats, resume, reset. */
class SseStreamTest {
    private FallbackBroker broker;

    @AfterEach
    void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void mqttPublisherReachesTheStreamRetainedFirstThenLive() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.SSE_HEARTBEAT, 200L).set(Settings.SSE_RETRY, 1500L));
        MqttClient pub = broker.mqtt("pub");
        pub.publish("home/state", "on".getBytes(StandardCharsets.UTF_8), 1, true);
        try (SseClient sse = broker.sse("home/#", null)) {
            assertEquals(200, sse.response.statusCode());
            assertTrue(sse.response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
            JsonNode retained = json(sse.next(WAIT));
            assertEquals("home/state", retained.get("topic").asText());
            assertEquals("on", retained.get("payload").asText());
            assertTrue(retained.get("retained").asBoolean());
            pub.publish("home/temp", "21.5".getBytes(StandardCharsets.UTF_8), 0, false);
            SseClient.Event live = sse.next(WAIT);
            assertEquals("message", live.type());
            assertEquals("home/temp", json(live).get("topic").asText());
            assertEquals("21.5", json(live).get("payload").asText());
            assertFalse(json(live).has("retained"));
            assertTrue(live.id().matches("[0-9a-z]+-[0-9]+"), live.id());
            // an idle stream carries comment lines
            assertHeartbeat(sse);
        }
        pub.disconnect();
    }

    private static void assertHeartbeat(SseClient sse) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            if (sse.nextRaw(WAIT).type().equals(":")) {
                return;
            }
        }
        throw new AssertionError("no heartbeat comment");
    }

    @Test
    void theStreamTellsTheRetryDelayAndItsStartingPosition() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.SSE_RETRY, 1234L));
        HttpResponse<java.io.InputStream> r = SseClient.HTTP.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(broker.http("/sse?filter=x"))).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            assertEquals("retry:1234", in.readLine());
            assertEquals("", in.readLine());
            assertTrue(in.readLine().matches("id:[0-9a-z]+-0"));
        }
    }

    @Test
    void resumingWithLastEventIdGetsWhatWasMissedWithoutGapOrDuplicate() throws Exception {
        broker = new FallbackBroker();
        String lastId;
        try (SseClient sse = broker.sse("feed/#", null)) {
            awaitSubscribed(sse);
            for (int i = 1; i <= 3; i++) {
                broker.publish("feed/" + (i % 2), 1, "m" + i);
            }
            for (int i = 1; i <= 3; i++) {
                assertEquals("m" + i, json(sse.next(WAIT)).get("payload").asText());
            }
            lastId = sse.lastEventId();
        }
        for (int i = 4; i <= 6; i++) {
            broker.publish("feed/" + (i % 2), 1, "m" + i);
        }
        broker.publish("other/topic", 1, "not for this reader");
        try (SseClient sse = broker.sse("feed/#", lastId)) {
            for (int i = 4; i <= 6; i++) {
                assertEquals("m" + i, json(sse.next(WAIT)).get("payload").asText());
            }
            broker.publish("feed/x", 1, "m7");
            assertEquals("m7", json(sse.next(WAIT)).get("payload").asText());
            assertEquals(List.of(), sse.drain(Duration.ofMillis(300)));
        }
    }

    /**
     * The history keeps messages only from the first reader on: one published before any reader is in nobody's
     * history, the first reader's position and every later one resume with everything after them, and an id from
     * before the first reader is a reset, never a short answer.
     */
    @Test
    void theHistoryStartsWithTheFirstReaderAndEveryPositionAReaderWasGivenResumes() throws Exception {
        broker = new FallbackBroker();
        MqttClient pub = broker.mqtt("pub");
        for (int i = 1; i <= 3; i++) {
            pub.publish("feed/" + (i % 2), ("early" + i).getBytes(StandardCharsets.UTF_8), 1, false);
        }
        String startId;
        String lastId;
        try (SseClient sse = broker.sse("feed/#", null)) {
            awaitSubscribed(sse);
            startId = sse.lastEventId();
            for (int i = 1; i <= 3; i++) {
                pub.publish("feed/" + (i % 2), ("m" + i).getBytes(StandardCharsets.UTF_8), 1, false);
            }
            for (int i = 1; i <= 3; i++) {
                assertEquals("m" + i, json(sse.next(WAIT)).get("payload").asText());
            }
            lastId = sse.lastEventId();
        }
        for (int i = 4; i <= 6; i++) {
            pub.publish("feed/" + (i % 2), ("m" + i).getBytes(StandardCharsets.UTF_8), 1, false);
        }
        try (SseClient sse = broker.sse("feed/#", lastId)) {
            for (int i = 4; i <= 6; i++) {
                assertEquals("m" + i, json(sse.next(WAIT)).get("payload").asText());
            }
            assertEquals(List.of(), sse.drain(Duration.ofMillis(200)));
        }
        try (SseClient sse = broker.sse("feed/#", startId)) {
            for (int i = 1; i <= 6; i++) {
                assertEquals("m" + i, json(sse.next(WAIT)).get("payload").asText());
            }
            assertEquals(List.of(), sse.drain(Duration.ofMillis(200)));
        }
        // the early messages took positions 1 to 3 and were kept by nobody: resuming from one of them is a gap
        String epoch = startId.substring(0, startId.indexOf('-'));
        assertTrue(Long.parseLong(startId.substring(startId.indexOf('-') + 1)) >= 3, startId);
        for (String early : List.of(epoch + "-0", epoch + "-2")) {
            try (SseClient sse = broker.sse("feed/#", early)) {
                SseClient.Event reset = sse.next(WAIT);
                assertEquals("reset", reset.type(), early + ": " + reset.data());
                assertTrue(json(reset).get("reason").asText().contains("no longer holds"), reset.data());
            }
            JsonNode poll = broker.poll("feed/#", early);
            assertTrue(poll.path("reset").asText().contains("no longer holds"), early + ": " + poll);
        }
        pub.disconnect();
    }

    /** The stream is subscribed once its first block (retry, then its position) has arrived. */
    private static void awaitSubscribed(SseClient sse) throws InterruptedException {
        while (sse.nextRaw(WAIT).id().isEmpty()) {
            // retry block
        }
    }

    @Test
    void aResumeFromBeyondTheHistoryIsAnExplicitReset() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.HISTORY_MESSAGES, 3));
        MqttClient pub = broker.mqtt("pub");
        pub.publish("dev/state", "s0".getBytes(StandardCharsets.UTF_8), 1, true);
        String lastId;
        try (SseClient sse = broker.sse("dev/#", null)) {
            assertEquals("s0", json(sse.next(WAIT)).get("payload").asText());
            lastId = sse.lastEventId();
        }
        for (int i = 1; i <= 5; i++) {
            broker.publish("dev/data", 1, "d" + i);
        }
        try (SseClient sse = broker.sse("dev/#", lastId)) {
            SseClient.Event reset = sse.next(WAIT);
            assertEquals("reset", reset.type());
            assertTrue(json(reset).get("reason").asText().contains("no longer holds"), reset.data());
            // a reader told of a gap starts afresh: retained state first, then live
            JsonNode state = json(sse.next(WAIT));
            assertEquals("s0", state.get("payload").asText());
            assertTrue(state.get("retained").asBoolean());
            broker.publish("dev/data", 1, "after");
            assertEquals("after", json(sse.next(WAIT)).get("payload").asText());
        }
        pub.disconnect();
    }

    @ParameterizedTest
    @ValueSource(strings = {"garbage", "zz-1", "1-99999999"})
    void anIdThisBrokerDidNotGiveOutIsAReset(String id) throws Exception {
        broker = new FallbackBroker();
        try (SseClient sse = broker.sse("any/#", id)) {
            SseClient.Event reset = sse.next(WAIT);
            assertEquals("reset", reset.type());
            assertNotEquals(id, sse.lastEventId());
        }
    }

    @Test
    void withoutHistoryEveryResumeIsAReset() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.HISTORY_MESSAGES, 0));
        String lastId;
        try (SseClient sse = broker.sse("t", null)) {
            awaitSubscribed(sse);
            broker.publish("t", 0, "live without id");
            SseClient.Event e = sse.next(WAIT);
            assertEquals("live without id", json(e).get("payload").asText());
            lastId = sse.lastEventId();
        }
        try (SseClient sse = broker.sse("t", lastId)) {
            assertEquals("reset", sse.next(WAIT).type());
        }
    }

    @Test
    void binaryPayloadsTravelInBase64AndTheFullEnvelopeCarriesProperties() throws Exception {
        broker = new FallbackBroker();
        try (SseClient sse = SseClient.open(broker.http("/sse?filter=bin/%23&envelope=json"), null)) {
            awaitSubscribed(sse);
            byte[] binary = {(byte) 0xff, 0x00, (byte) 0xfe};
            broker.publish("bin/raw", 1, false, binary, "application/octet-stream");
            JsonNode e = json(sse.next(WAIT));
            assertEquals("base64", e.get("encoding").asText());
            assertEquals("/wD+", e.get("payload").asText());
            assertEquals(1, e.get("qos").asInt());
            assertEquals("application/octet-stream", e.get("properties").get("contentType").asText());
        }
    }

    @Test
    void aStreamIsAnOrdinarySessionOfItsOwnNamespaceAndLeavesWithItsConnection() throws Exception {
        broker = new FallbackBroker();
        var core = broker.sluice.server().broker();
        try (SseClient sse = broker.sse("a", null)) {
            awaitSubscribed(sse);
            assertTrue(core.sessions().stream().anyMatch(s -> s.clientId().startsWith("$sse/")));
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (core.sessions().stream().anyMatch(s -> s.clientId().startsWith("$sse/"))) {
            assertTrue(System.nanoTime() < deadline, "the stream's session outlived its connection");
            Thread.sleep(20);
        }
    }

    @Test
    void badRequestsAreAnsweredWithWhatIsWrong() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.MAX_SUBSCRIPTIONS_PER_CLIENT, 2)
                .set(Settings.MAX_TOPIC_LEVELS, 3));
        record Case(String query, int status, String says) {
        }
        List<Case> cases = new ArrayList<>(List.of(
                new Case("", 400, "filter"),
                new Case("?filter=" + enc("a/#/b"), 400, "invalid filter"),
                new Case("?filter=" + enc("a+"), 400, "invalid filter"),
                new Case("?filter=" + enc("$share/g/a"), 400, "shared"),
                new Case("?filter=a&filter=b&filter=c", 400, "max-subscriptions-per-client"),
                new Case("?filter=a&filter=b", 200, ""),
                new Case("?filter=" + enc("a/b/c/d"), 400, "max-topic-levels"),
                new Case("?filter=a&envelope=xml", 400, "envelope")));
        for (Case c : cases) {
            if (c.status() == 200) {
                try (SseClient ok = SseClient.open(broker.http("/sse" + c.query()), null)) {
                    assertEquals(200, ok.response.statusCode(), c.query());
                }
                continue;
            }
            HttpResponse<String> r = broker.get("/sse" + c.query());
            assertEquals(c.status(), r.statusCode(), c.query());
            assertTrue(r.body().contains(c.says()), c.query() + ": " + r.body());
        }
        HttpResponse<String> post = SseClient.HTTP.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(broker.http("/sse?filter=a")))
                .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(405, post.statusCode());
        assertEquals("GET", post.headers().firstValue("allow").orElse(""));
    }
}
