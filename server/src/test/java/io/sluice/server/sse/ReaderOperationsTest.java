package io.sluice.server.sse;

import io.sluice.server.broker.BrokerStats;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.sse.FallbackBroker.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Readers as connections like the others: bounded buffers with counted drops, metrics, shutdown, admission. */
class ReaderOperationsTest {
    private FallbackBroker broker;

    @AfterEach
    void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void aStreamThatStopsReadingNeverHoldsAPublisherBackAndItsLossIsCounted() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.MAX_QOS0_QUEUED, 10));
        try (Socket stalled = new Socket("127.0.0.1", broker.sluice.port("http"))) {
            stalled.setReceiveBufferSize(4096);
            OutputStream out = stalled.getOutputStream();
            out.write("GET /sse?filter=flood HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = stalled.getInputStream();
            byte[] head = new byte[256];
            assertTrue(in.read(head) > 0, "the stream answered");
            // the reader reads nothing more; a publisher goes on at full speed, QoS 1, and is never held back
            MqttClient pub = broker.mqtt("flooder");
            byte[] payload = new byte[8192];
            BrokerStats stats = broker.sluice.server().broker().stats();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            int sent = 0;
            while (stats.drops(BrokerStats.Drop.QOS0_OVERFLOW) == 0 && System.nanoTime() < deadline && sent < 20_000) {
                pub.publish("flood", payload, 1, false);
                sent++;
            }
            assertTrue(stats.drops(BrokerStats.Drop.QOS0_OVERFLOW) > 0, "no drop counted after " + sent + " messages");
            var session = broker.sluice.server().broker().sessions().stream()
                    .filter(s -> s.clientId().startsWith("$sse/")).findFirst().orElseThrow();
            assertTrue(session.queue().queuedQos0() <= 10, "the buffer stays within max-qos0-queued");
            pub.disconnect();
        }
    }

    @Test
    void streamsAndHeldPollsAreConnectionsInTheMetrics() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.POLL_TIMEOUT, 20_000L));
        String next = broker.poll("m", null).get("next").asText();
        CompletableFuture<com.fasterxml.jackson.databind.JsonNode> held = CompletableFuture.supplyAsync(() -> {
            try {
                return broker.poll("m", next);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        try (SseClient sse = broker.sse("m", null)) {
            sse.nextRaw(WAIT);
            long deadline = System.nanoTime() + WAIT.toNanos();
            String metrics;
            do {
                metrics = broker.get("/metrics").body();
            } while (!(metrics.contains("sluice_connections{protocol=\"sse\",transport=\"sse\"} 1")
                    && metrics.contains("sluice_connections{protocol=\"poll\",transport=\"sse\"} 1"))
                    && System.nanoTime() < deadline);
            assertTrue(metrics.contains("sluice_connections{protocol=\"sse\",transport=\"sse\"} 1"), metrics);
            assertTrue(metrics.contains("sluice_connections{protocol=\"poll\",transport=\"sse\"} 1"), metrics);
            broker.publish("m", 0, "x");
            held.get(10, TimeUnit.SECONDS);
            sse.next(WAIT);
            metrics = broker.get("/metrics").body();
            assertTrue(metrics.contains("sluice_messages_sent_total{protocol=\"sse\",qos=\"0\"}"), metrics);
            assertTrue(metrics.contains("sluice_messages_received_total{protocol=\"http\",qos=\"0\"} 1"), metrics);
        }
    }

    @Test
    void readersPastTheSessionLimitAreTold503AndTheOthersKeepGoing() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.MAX_SESSIONS, 1));
        String next = broker.poll("cap", null).get("next").asText(); // a first poll holds no session
        try (SseClient first = broker.sse("cap", null)) {
            first.nextRaw(WAIT);
            HttpResponse<String> stream = broker.get("/sse?filter=cap");
            assertEquals(503, stream.statusCode(), stream.body());
            assertTrue(stream.headers().firstValue("Retry-After").isPresent(), "a refused stream is told when to retry");
            assertTrue(stream.body().contains("sessions"), stream.body());
            HttpResponse<String> held = broker.get("/poll?filter=cap&since=" + FallbackBroker.enc(next));
            assertEquals(503, held.statusCode(), held.body());
            assertTrue(held.headers().firstValue("Retry-After").isPresent());
            // the reader that was admitted is unaffected by the refusals
            assertEquals(200, broker.publish("cap", 1, "still here").statusCode());
            assertTrue(first.next(WAIT).data().contains("still here"));
        }
    }

    @Test
    void shutdownEndsStreamsAndRefusesNewReaders() throws Exception {
        broker = new FallbackBroker();
        try (SseClient sse = broker.sse("s", null)) {
            sse.nextRaw(WAIT);
            CompletableFuture<Void> closing = CompletableFuture.runAsync(broker::close);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!sse.ended() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(sse.ended(), "the stream ended with the broker");
            closing.get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aConnectionOverTheLimitsIsRefusedWithRetryAfter() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.MAX_CONNECTIONS, 1));
        try (SseClient first = broker.sse("a", null)) {
            first.nextRaw(WAIT);
            HttpResponse<String> second = broker.get("/sse?filter=a");
            assertEquals(503, second.statusCode(), second.body());
            assertTrue(second.headers().firstValue("retry-after").isPresent());
        }
    }
}
