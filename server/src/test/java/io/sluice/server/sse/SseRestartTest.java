package io.sluice.server.sse;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.server.BrokerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.sluice.server.sse.FallbackBroker.WAIT;
import static io.sluice.server.sse.FallbackBroker.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SSE positions across a restart of a real broker process: with persistence, a reader resuming with
 * Last-Event-ID after a SIGTERM restart, and after a kill -9 in the middle of a QoS 1 stream, gets exactly what
 * it missed (every acknowledged message, in order, none twice, no reset); without persistence, an id from before
 * the restart gets an explicit reset.
 */
class SseRestartTest {
    private static final String FILTER = "feed/#";
    private static final String[] FLAGS = {"--history-messages", "100000", "--shutdown-drain", "1000"};

    @Test
    void aReaderResumesAcrossARestartAndAKillNineWithNoGapNoDuplicateNoReset(@TempDir Path dir) throws Exception {
        BrokerProcess.Ports ports = BrokerProcess.Ports.free();
        Path data = dir.resolve("data");
        Path log = dir.resolve("broker.log");
        String lastId;
        try (BrokerProcess first = BrokerProcess.start(ports, data, log, FLAGS)) {
            Mqtt5BlockingClient pub = publisher(ports);
            try (SseClient sse = open(ports, null)) {
                awaitSubscribed(sse);
                publish(pub, 1, 20);
                assertEquals(range(1, 20), read(sse, 20));
                lastId = sse.lastEventId();
            }
            publish(pub, 21, 50); // missed by the reader
            assertEquals(0, first.stop(), "SIGTERM exits cleanly");
        }

        List<Integer> acknowledged = new ArrayList<>();
        try (BrokerProcess second = BrokerProcess.start(ports, data, log, FLAGS)) {
            Mqtt5BlockingClient pub = publisher(ports);
            publish(pub, 51, 60); // after the restart, before the reader is back
            try (SseClient sse = open(ports, lastId)) {
                List<Integer> got = read(sse, 40);
                assertEquals(range(21, 60), got, "resumed after a SIGTERM restart: exactly what it missed");
                publish(pub, 61, 70);
                assertEquals(range(61, 70), read(sse, 10), "then live");
                lastId = sse.lastEventId();
            }
            // a QoS 1 stream the broker is killed in the middle of; acknowledged: send() returned
            Set<Integer> acked = new ConcurrentSkipListSet<>();
            AtomicBoolean stop = new AtomicBoolean();
            Thread stream = new Thread(() -> {
                for (int i = 71; i < 100_000 && !stop.get(); i++) {
                    try {
                        pub.publishWith().topic("feed/k").payload(bytes(i)).qos(MqttQos.AT_LEAST_ONCE).send();
                        acked.add(i);
                    } catch (RuntimeException gone) {
                        return;
                    }
                }
            }, "qos1-stream");
            stream.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (acked.size() < 200 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            second.kill();
            stop.set(true);
            stream.join(10_000);
            assertTrue(acked.size() >= 200, "only " + acked.size() + " acknowledged before the kill");
            acknowledged.addAll(acked);
        }

        try (BrokerProcess third = BrokerProcess.start(ports, data, log, FLAGS)) {
            int highest = acknowledged.get(acknowledged.size() - 1);
            try (SseClient sse = open(ports, lastId)) {
                Mqtt5BlockingClient pub = publisher(ports);
                int after = 1_000_000;
                publish(pub, after, after);
                List<Integer> got = new ArrayList<>();
                while (true) {
                    SseClient.Event e = sse.next(WAIT);
                    assertEquals("message", e.type(), "no reset: " + e.data());
                    int n = Integer.parseInt(json(e).get("payload").asText());
                    if (n == after) {
                        break;
                    }
                    got.add(n);
                }
                // every acknowledged message, in order, none twice; the one in flight at the kill may be there too
                for (int i = 1; i < got.size(); i++) {
                    assertTrue(got.get(i) > got.get(i - 1), "out of order or twice at " + i + ": " + got);
                }
                assertTrue(got.containsAll(acknowledged), "acknowledged and missing: "
                        + acknowledged.stream().filter(n -> !got.contains(n)).limit(10).toList());
                assertTrue(got.isEmpty() || got.get(got.size() - 1) <= highest + 1, "never published: " + got);
                assertEquals(71, got.get(0), "the first message after the reader's id");
            }
            // a long-poll from the same position reads the same history
            HttpResponse<String> r = SseClient.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + ports.http() + "/poll?filter=" + FILTER.replace("#", "%23") + "&since=" + lastId)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            JsonNode batch = FallbackBroker.JSON.readTree(r.body());
            assertTrue(!batch.has("reset") && batch.get("messages").size() > 0, r.body());
            assertEquals("71", batch.get("messages").get(0).get("payload").asText());
            assertTrue(third.isAlive());
        }
    }

    @Test
    void withoutPersistenceAnIdFromBeforeARestartIsAnExplicitReset(@TempDir Path dir) throws Exception {
        BrokerProcess.Ports ports = BrokerProcess.Ports.free();
        Path log = dir.resolve("broker.log");
        String lastId;
        try (BrokerProcess first = BrokerProcess.start(ports, dir.resolve("data"), log, "--persistence", "none", "--shutdown-drain", "1000")) {
            Mqtt5BlockingClient pub = publisher(ports);
            try (SseClient sse = open(ports, null)) {
                awaitSubscribed(sse);
                publish(pub, 1, 3);
                assertEquals(range(1, 3), read(sse, 3));
                lastId = sse.lastEventId();
            }
            assertEquals(0, first.stop());
        }
        try (BrokerProcess second = BrokerProcess.start(ports, dir.resolve("data"), log, "--persistence", "none", "--shutdown-drain", "1000");
             SseClient sse = open(ports, lastId)) {
            SseClient.Event reset = sse.next(WAIT);
            assertEquals("reset", reset.type());
            assertTrue(json(reset).get("reason").asText().contains("restart"), reset.data());
            publish(publisher(ports), 4, 4);
            assertEquals(List.of(4), read(sse, 1));
        }
    }

    private static SseClient open(BrokerProcess.Ports ports, String lastId) throws Exception {
        return SseClient.open("http://127.0.0.1:" + ports.http() + "/sse?filter=" + FILTER.replace("#", "%23"), lastId);
    }

    /** The stream is subscribed once its first block (retry, then its position) has arrived. */
    private static void awaitSubscribed(SseClient sse) throws InterruptedException {
        while (sse.nextRaw(WAIT).id().isEmpty()) {
            // retry block
        }
    }

    private static List<Integer> read(SseClient sse, int n) throws Exception {
        List<Integer> out = new ArrayList<>();
        while (out.size() < n) {
            SseClient.Event e = sse.next(WAIT);
            assertEquals("message", e.type(), e.data());
            out.add(Integer.parseInt(json(e).get("payload").asText()));
        }
        return out;
    }

    private static Mqtt5BlockingClient publisher(BrokerProcess.Ports ports) {
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("pub-" + System.nanoTime()).serverHost("127.0.0.1")
                .serverPort(ports.mqtt()).buildBlocking();
        c.connect();
        return c;
    }

    private static void publish(Mqtt5BlockingClient pub, int from, int to) {
        for (int i = from; i <= to; i++) {
            pub.publishWith().topic("feed/" + (i % 3)).payload(bytes(i)).qos(MqttQos.AT_LEAST_ONCE).send();
        }
    }

    private static byte[] bytes(int i) {
        return Integer.toString(i).getBytes(StandardCharsets.UTF_8);
    }

    private static List<Integer> range(int from, int to) {
        List<Integer> out = new ArrayList<>();
        for (int i = from; i <= to; i++) {
            out.add(i);
        }
        return out;
    }
}
