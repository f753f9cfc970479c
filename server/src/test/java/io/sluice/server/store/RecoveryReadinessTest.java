package io.sluice.server.store;

import io.sluice.server.BrokerProcess;
import io.sluice.server.broker.Delivery;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.SubscriptionOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A broker reading back a large store listens already but is not ready: {@code /readyz} answers 503 until the
 * store is read, then 200, and the log says what was recovered and how long it took.
 */
class RecoveryReadinessTest {
    private static final int QUEUED = 300_000;

    @Test
    void readyzAnswers503WhileTheStoreIsReadBackThen200(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        try (RocksMessageStore store = RocksMessageStore.open(data, false)) {
            store.putSession("big", Long.MAX_VALUE, System.currentTimeMillis());
            store.putSubscription("big", "big/#", null, SubscriptionOptions.ofQos(1));
            byte[] payload = new byte[64];
            for (int i = 1; i <= QUEUED; i++) {
                Message m = Message.builder("big/" + i).payload(payload).qos(1).build();
                store.putQueued("big", i, new Delivery(m, 1, false, new int[0], null));
            }
            RocksMessageStoreTest.awaitWrites(store);
        }
        BrokerProcess.Ports ports = BrokerProcess.Ports.free();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest readyz = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ports.http() + "/readyz"))
                .timeout(Duration.ofSeconds(5)).build();
        List<Integer> beforeReady = new CopyOnWriteArrayList<>();
        AtomicBoolean polling = new AtomicBoolean(true);
        Thread poller = new Thread(() -> {
            while (polling.get()) {
                try {
                    beforeReady.add(http.send(readyz, HttpResponse.BodyHandlers.discarding()).statusCode());
                } catch (Exception notListeningYet) {
                    // the process is still starting its JVM
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "readyz-poller");
        poller.start();
        try (BrokerProcess broker = BrokerProcess.start(ports, data, dir.resolve("broker.log"),
                "--max-queued-messages", Integer.toString(QUEUED))) {
            polling.set(false);
            poller.join(10_000);
            // 503 while reading the store back, then 200 for good (the last polls may race the ready line)
            int firstReady = beforeReady.indexOf(200);
            assertTrue(beforeReady.indexOf(503) == 0 && firstReady != 0, "no 503 first while recovering " + QUEUED
                    + " deliveries: " + beforeReady + "; log:\n" + broker.log());
            if (firstReady > 0) {
                assertFalse(beforeReady.subList(firstReady, beforeReady.size()).contains(503), beforeReady.toString());
            }
            assertEquals(200, http.send(readyz, HttpResponse.BodyHandlers.discarding()).statusCode());
            assertTrue(broker.log().contains(QUEUED + " queued deliveries"), broker.log());
        }
    }
}
