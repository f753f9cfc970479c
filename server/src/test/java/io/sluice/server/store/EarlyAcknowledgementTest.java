package io.sluice.server.store;

import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttMessageListener;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A publisher's PUBACK goes out once, for every persistent session the message reached, its queue entry is in the
 * write-ahead log or its client has acknowledged the message; not before. With the store's writer held (nothing is
 * committed), a QoS 1 message for two persistent subscribers is acknowledged to its publisher only when the second
 * of them acknowledges it; one that a subscriber still owes an acknowledgement for is acknowledged only once the
 * writer commits its entry.
 */
class EarlyAcknowledgementTest {
    private static final long WAIT_MS = 10_000;

    @Test
    void pubackWaitsForEveryPersistentSubscribersAcknowledgementOrTheCommit(@TempDir Path dir) throws Exception {
        Settings settings = Settings.defaults().with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, -1).with(Settings.STOMP_PORT, -1).with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.PERSISTENCE, "rocksdb").with(Settings.DATA_DIR, dir);
        try (SluiceServer server = SluiceServer.start(settings)) {
            String url = "tcp://127.0.0.1:" + server.port("mqtt");
            Subscriber a = new Subscriber(url, "a");
            Subscriber b = new Subscriber(url, "b");
            // the publisher also hears what the subscribers say after their acknowledgements: a PUBACK sent because
            // of an acknowledgement reaches it before anything the same subscriber published after it
            MqttAsyncClient pub = new MqttAsyncClient(url, "pub", new MemoryPersistence());
            BlockingQueue<String> heard = new LinkedBlockingQueue<>();
            MqttConnectOptions clean = new MqttConnectOptions();
            clean.setCleanSession(true);
            pub.connect(clean).waitForCompletion(WAIT_MS);
            pub.subscribe("said/#", 0, (IMqttMessageListener) (t, m) -> heard.add(t)).waitForCompletion(WAIT_MS);

            RocksMessageStore store = (RocksMessageStore) server.broker().store();
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch held = new CountDownLatch(1);
            store.onWriterThread(() -> {
                held.countDown();
                try {
                    release.await(WAIT_MS * 3, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            IMqttDeliveryToken second;
            try {
                assertTrue(held.await(WAIT_MS, TimeUnit.MILLISECONDS), "the writer is held");

                // both acknowledge: the PUBACK goes out with nothing committed
                IMqttDeliveryToken first = pub.publish("t", "1".getBytes(StandardCharsets.UTF_8), 1, false);
                int aFirst = a.next();
                int bFirst = b.next();
                a.acknowledge(aFirst, "said/a1");
                assertEquals("said/a1", heard.poll(WAIT_MS, TimeUnit.MILLISECONDS));
                assertFalse(first.isComplete(), "no PUBACK while b owes its acknowledgement and nothing is written");
                b.acknowledge(bFirst, "said/b1");
                assertEquals("said/b1", heard.poll(WAIT_MS, TimeUnit.MILLISECONDS));
                first.waitForCompletion(WAIT_MS);
                assertTrue(first.isComplete(), "every persistent subscriber acknowledged: the PUBACK needs no write");

                // b never acknowledges: only the commit of its entry lets the PUBACK go
                second = pub.publish("t", "2".getBytes(StandardCharsets.UTF_8), 1, false);
                int aSecond = a.next();
                assertTrue(b.next() > 0);
                a.acknowledge(aSecond, "said/a2");
                assertEquals("said/a2", heard.poll(WAIT_MS, TimeUnit.MILLISECONDS));
                assertFalse(second.isComplete(), "no PUBACK while b owes its acknowledgement and nothing is written");
            } finally {
                release.countDown();
            }
            second.waitForCompletion(WAIT_MS);
            assertTrue(second.isComplete(), "the commit of b's entry answers the publisher");
            pub.disconnect().waitForCompletion(WAIT_MS);
            a.close();
            b.close();
        }
    }

    /** A persistent session that acknowledges each message when the test says so. */
    private static final class Subscriber implements MqttCallback {
        private final MqttClient client;
        private final BlockingQueue<Integer> arrived = new LinkedBlockingQueue<>();

        Subscriber(String url, String id) throws Exception {
            client = new MqttClient(url, id, new MemoryPersistence());
            client.setManualAcks(true);
            client.setCallback(this);
            MqttConnectOptions o = new MqttConnectOptions();
            o.setCleanSession(false);
            client.connect(o);
            client.subscribe("t", 1);
        }

        int next() throws InterruptedException {
            Integer id = arrived.poll(WAIT_MS, TimeUnit.MILLISECONDS);
            assertNotNull(id, "a message arrives");
            return id;
        }

        /** PUBACK, then a QoS 0 message on {@code said}: the broker reads them in that order. */
        void acknowledge(int messageId, String said) throws Exception {
            client.messageArrivedComplete(messageId, 1);
            client.publish(said, new byte[0], 0, false);
        }

        void close() throws Exception {
            client.disconnect();
            client.close();
        }

        @Override
        public void messageArrived(String topic, MqttMessage m) {
            arrived.add(m.getId());
        }

        @Override
        public void connectionLost(Throwable cause) {
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
        }
    }
}
