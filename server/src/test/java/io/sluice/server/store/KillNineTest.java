package io.sluice.server.store;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.sluice.server.BrokerProcess;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The promise of the store, with a real process and a real SIGKILL: a QoS 1 (QoS 2) stream to a persistent
 * subscriber, the broker killed at a random point and restarted on the same data directory. Every message the
 * publisher was acknowledged is delivered once the subscriber is back, in order; a message delivered again
 * carries DUP (QoS 1), or is not delivered again at all (QoS 2).
 */
class KillNineTest {
    private static final int MESSAGES = 20_000;
    private static final int WINDOW = 200;

    @Test
    void qos1StreamSurvivesKillNineInOrderRepeatsOnlyWithDup(@TempDir Path dir) throws Exception {
        stream(dir, 1);
    }

    @Test
    void qos2StreamSurvivesKillNineExactlyOnce(@TempDir Path dir) throws Exception {
        stream(dir, 2);
    }

    private void stream(Path dir, int qos) throws Exception {
        BrokerProcess.Ports ports = BrokerProcess.Ports.free();
        Path data = dir.resolve("data");
        Path log = dir.resolve("broker.log");
        int killAfter = ThreadLocalRandom.current().nextInt(MESSAGES / 5, MESSAGES);
        Set<Integer> acknowledged = ConcurrentHashMap.newKeySet();
        Receiver receiver = new Receiver(acknowledged);

        // room for the whole stream in the subscriber's queue, connected or not (--live-queue-windows 0): the
        // subscriber falls behind on purpose, and the live bound (a few in-flight windows) would otherwise hold the
        // publisher so close to it that a fast machine leaves almost nothing queued at the kill
        String[] flags = {"--max-queued-messages", Integer.toString(MESSAGES), "--max-queued-bytes", "64m",
                "--live-queue-windows", "0"};
        BrokerProcess first = BrokerProcess.start(ports, data, log, flags);
        MqttClient sub = null;
        try {
            sub = new MqttClient("tcp://127.0.0.1:" + ports.mqtt(), "kill9-sub-q" + qos, new MemoryPersistence());
            sub.setCallback(receiver);
            sub.connect(options());
            sub.subscribe("kill9/q" + qos, qos);

            Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier("kill9-pub-q" + qos).serverHost("127.0.0.1")
                    .serverPort(ports.mqtt()).buildAsync();
            pub.connect().get(20, TimeUnit.SECONDS);
            // at most WINDOW publishes unacknowledged; the kill lands mid-stream, with publishes in flight
            java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(WINDOW);
            MqttQos level = qos == 1 ? MqttQos.AT_LEAST_ONCE : MqttQos.EXACTLY_ONCE;
            for (int i = 0; i < killAfter; i++) {
                int n = i;
                assertTrue(window.tryAcquire(60, TimeUnit.SECONDS), "no acknowledgement for 60 s at message " + n
                        + "; log:\n" + first.log());
                pub.publishWith().topic("kill9/q" + qos).qos(level).payload(ByteBuffer.allocate(4).putInt(0, n))
                        .send().whenComplete((result, error) -> {
                            if (error == null && result.getError().isEmpty()) {
                                acknowledged.add(n);
                            }
                            window.release();
                        });
            }
            first.kill();
            receiver.slow = false;
            pub.disconnect();
        } finally {
            first.close();
        }
        int acknowledgedAtKill = acknowledged.size();
        assertTrue(acknowledgedAtKill >= killAfter - WINDOW, "acknowledged " + acknowledgedAtKill);

        int deliveredAtKill = receiver.firstTimes().size();
        try (BrokerProcess second = BrokerProcess.start(ports, data, log, flags)) {
            connectAgain(sub);
            Set<Integer> missing = new TreeSet<>(acknowledged);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline) {
                missing.removeAll(receiver.firstTimes());
                if (missing.isEmpty()) {
                    break;
                }
                Thread.sleep(50);
            }
            assertTrue(missing.isEmpty(), missing.size() + " of " + acknowledged.size() + " acknowledged messages "
                    + "never delivered after the restart (killed after " + killAfter + "), e.g. "
                    + missing.stream().limit(10).toList() + "; log:\n" + second.log());
            assertTrue(second.log().contains("recovered in"), second.log());
            sub.disconnect();
            sub.close();
        }
        int repeats = receiver.check(qos);
        System.out.printf("QoS %d: killed after publishing %d (%d acknowledged), %d delivered before the kill, %d after "
                + "the restart, %d repeats (all with DUP)%n", qos, killAfter, acknowledgedAtKill, deliveredAtKill,
                receiver.firstTimes().size() - deliveredAtKill, repeats);
        assertTrue(acknowledgedAtKill - deliveredAtKill > 100, "the kill left too little to recover to prove much: "
                + acknowledgedAtKill + " acknowledged, " + deliveredAtKill + " delivered");
    }

    private static MqttConnectOptions options() {
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(false);
        o.setAutomaticReconnect(false);
        o.setMaxInflight(1000);
        o.setConnectionTimeout(20);
        o.setKeepAliveInterval(60);
        return o;
    }

    private static void connectAgain(MqttClient sub) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                if (!sub.isConnected()) {
                    sub.connect(options());
                }
                return;
            } catch (org.eclipse.paho.client.mqttv3.MqttException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    /** Every arrival in order, with its DUP flag. */
    private static final class Receiver implements MqttCallback {
        private final List<int[]> arrivals = new ArrayList<>();
        private final Set<Integer> seen = ConcurrentHashMap.newKeySet();
        private final AtomicInteger count = new AtomicInteger();
        /**
         * Until the kill, the subscriber takes a millisecond per message until it is {@link #LAG} messages behind
         * what the publisher was acknowledged, however fast the broker runs, so it holds a queue and a full window
         * to recover.
         */
        volatile boolean slow = true;
        private static final int LAG = 300;
        private final Set<Integer> acknowledged;

        Receiver(Set<Integer> acknowledged) {
            this.acknowledged = acknowledged;
        }

        @Override
        public void messageArrived(String topic, MqttMessage m) throws InterruptedException {
            if (slow && count.get() > acknowledged.size() - LAG) {
                Thread.sleep(1); // never blocks for long: what the broker does with a slow reader is not at issue
            }
            int n = ByteBuffer.wrap(m.getPayload()).getInt();
            synchronized (arrivals) {
                arrivals.add(new int[] {n, m.isDuplicate() ? 1 : 0});
            }
            seen.add(n);
            count.incrementAndGet();
        }

        Set<Integer> firstTimes() {
            return seen;
        }

        /** First arrivals strictly increasing; a repeat only with DUP (QoS 1) or none at all (QoS 2). */
        int check(int qos) {
            Set<Integer> delivered = new java.util.HashSet<>();
            int last = -1;
            int repeats = 0;
            synchronized (arrivals) {
                for (int[] a : arrivals) {
                    if (delivered.add(a[0])) {
                        if (a[0] < last) {
                            fail("message " + a[0] + " first delivered after " + last + ": out of order");
                        }
                        last = a[0];
                    } else {
                        repeats++;
                        if (qos == 2) {
                            fail("QoS 2 message " + a[0] + " delivered twice");
                        }
                        assertEquals(1, a[1], "message " + a[0] + " delivered again without DUP");
                    }
                }
            }
            return repeats;
        }

        @Override
        public void connectionLost(Throwable cause) {
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
        }
    }
}
