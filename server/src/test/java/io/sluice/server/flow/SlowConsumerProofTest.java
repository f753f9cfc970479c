package io.sluice.server.flow;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import com.hivemq.client.mqtt.mqtt3.message.publish.Mqtt3Publish;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PublishResult;
import io.sluice.server.SluiceServer;
import io.sluice.server.broker.BrokerStats;
import io.sluice.server.broker.QueueLimits;
import io.sluice.server.broker.Session;
import io.sluice.server.config.Settings;
import io.sluice.server.mqtt.MqttModule;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The proof of lossless QoS 1 backpressure (docs/flow-control.md) with real clients on real sockets: a Paho
 * MQTT 3.1.1 subscriber that reads ten messages a second, a HiveMQ MQTT 5 publisher sending 5,000 as fast as it
 * can. Paho acknowledges a message only after its callback returns, so a sleeping callback is a slow reader.
 *
 * <p>The subscriber reads at ten a second until the test has seen the publisher held and a pair on another topic
 * pass freely, then as fast as it can, so the run stays short; {@code -Dsluice.proof.slowMessages=5000} keeps it
 * slow for the whole run (about 500 s).
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class SlowConsumerProofTest {
    private static final int TOTAL = 5_000;
    private static final int SLOW_MESSAGES = 40;
    private static final int QUEUE_BOUND = 100;
    private static final int WINDOW = 10;
    /** While the subscriber is connected, its publishers are held at a few windows, not at the queue's bound. */
    private static final int LIVE_BOUND = QueueLimits.DEFAULT_LIVE_WINDOWS * WINDOW;

    private SluiceServer server;
    private final List<AutoCloseable> closers = new ArrayList<>();

    @BeforeEach
    void start() {
        server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1")
                .with(Settings.MQTT_PORT, 0).with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, -1)
                .with(Settings.MAX_QUEUED_MESSAGES, QUEUE_BOUND).with(Settings.INFLIGHT_WINDOW, WINDOW)
                // the kill-and-resume proof is of the opt-in lossless policy for closed systems
                .with(Settings.OFFLINE_QUEUE_FULL, "withhold")
                .with(Settings.SYS_INTERVAL, 0L));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closers) {
            try {
                c.close();
            } catch (Exception ignored) {
                // the client may already be gone; the server closes the rest
            }
        }
        server.close();
    }

    private String uri(String transport) {
        return transport.equals("ws") ? "ws://127.0.0.1:" + server.port("http") + "/mqtt"
                : "tcp://127.0.0.1:" + server.port("mqtt");
    }

    /** Records what arrives; sleeps 100 ms per message while {@code slowFor} is positive. */
    private static final class SlowReader implements MqttCallback {
        final List<Integer> sequence = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<Boolean> duplicate = java.util.Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger slowFor;
        volatile boolean slow;
        final CountDownLatch all;
        final java.util.Set<Integer> distinct = java.util.concurrent.ConcurrentHashMap.newKeySet();

        SlowReader(int slowMessages, int total) {
            slowFor = new AtomicInteger(slowMessages);
            all = new CountDownLatch(total);
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) throws Exception {
            int seq = Integer.parseInt(new String(message.getPayload(), StandardCharsets.UTF_8));
            sequence.add(seq);
            duplicate.add(message.isDuplicate());
            if (distinct.add(seq)) {
                all.countDown();
            }
            if (slowFor.getAndDecrement() > 0 || slow) {
                Thread.sleep(100);
            }
        }

        @Override
        public void connectionLost(Throwable cause) {
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
        }
    }

    private MqttClient subscribe(String transport, String id, boolean clean, SlowReader reader) throws Exception {
        MqttClient sub = new MqttClient(uri(transport), id, new MemoryPersistence());
        sub.setCallback(reader);
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(clean);
        o.setMaxInflight(WINDOW);
        o.setKeepAliveInterval(60);
        sub.connect(o);
        sub.subscribe("proof/" + id + "/#", 1);
        return sub;
    }

    private Mqtt5AsyncClient publisher(String id) {
        Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).buildAsync();
        pub.connect().join();
        closers.add(() -> pub.disconnect().get(10, TimeUnit.SECONDS));
        return pub;
    }

    private static List<CompletableFuture<Mqtt5PublishResult>> publishAll(Mqtt5AsyncClient pub, String topic, int n) {
        List<CompletableFuture<Mqtt5PublishResult>> acks = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            acks.add(pub.publishWith().topic(topic).qos(MqttQos.AT_LEAST_ONCE)
                    .payload(Integer.toString(i).getBytes(StandardCharsets.UTF_8)).send());
        }
        return acks;
    }

    /** Samples the subscriber session's queue and window while the run lasts, keeping the largest values. */
    private static final class QueueWatch implements AutoCloseable {
        final AtomicInteger maxQueued = new AtomicInteger();
        final AtomicInteger maxInflight = new AtomicInteger();
        final AtomicBoolean stop = new AtomicBoolean();
        final Thread thread;

        QueueWatch(SluiceServer server, String clientId) {
            thread = new Thread(() -> {
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(15);
                while (!stop.get() && System.nanoTime() < deadline) {
                    Session s = server.broker().session(MqttModule.sessionId(clientId));
                    if (s != null) {
                        maxQueued.accumulateAndGet(s.queue().queuedReliable(), Math::max);
                        maxInflight.accumulateAndGet(s.queue().inflightCount(), Math::max);
                    }
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "queue-watch");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(5_000);
        }
    }

    @ParameterizedTest(name = "over {0}: 5,000 QoS 1 messages to a slow subscriber, all in order, bounded, paced")
    @ValueSource(strings = {"tcp", "ws"})
    void aSlowQos1SubscriberGetsEveryMessageInOrderWhileThePublisherIsPaced(String transport) throws Exception {
        SlowReader reader = new SlowReader(Integer.getInteger("sluice.proof.slowMessages", SLOW_MESSAGES), TOTAL);
        reader.slow = true;
        String id = "slow-" + transport;
        MqttClient sub = subscribe(transport, id, true, reader);
        closers.add(sub::close);
        closers.add(() -> sub.disconnect(5_000));
        Mqtt5AsyncClient pub = publisher("pub-" + transport);

        // a second pair on another topic, to show it is not held back by the first
        SlowReader bystander = new SlowReader(0, 200);
        MqttClient otherSub = subscribe(transport, "other-" + transport, true, bystander);
        closers.add(otherSub::close);
        closers.add(() -> otherSub.disconnect(5_000));
        Mqtt5AsyncClient otherPub = publisher("other-pub-" + transport);

        try (QueueWatch watch = new QueueWatch(server, id)) {
            // on its own thread: the client's send blocks once its own buffer is full, as a paced publisher's should
            CompletableFuture<List<CompletableFuture<Mqtt5PublishResult>>> sending =
                    CompletableFuture.supplyAsync(() -> publishAll(pub, "proof/" + id + "/data", TOTAL));

            // while the slow reader is still slow, the publisher is held: not every PUBACK can have come back
            awaitTrue(() -> server.broker().stats().backpressurePauses.sum() > 0, "backpressure never engaged");
            assertFalse(allAcknowledged(sending),
                    "every PUBACK came back although the subscriber is slow: the broker must have buffered");

            List<CompletableFuture<Mqtt5PublishResult>> otherAcks =
                    publishAll(otherPub, "proof/other-" + transport + "/data", 200);
            assertTrue(bystander.all.await(60, TimeUnit.SECONDS),
                    "a pair on another topic was held back by the slow subscriber: " + bystander.distinct.size());
            CompletableFuture.allOf(otherAcks.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
            assertFalse(allAcknowledged(sending), "the slow subscriber's publisher should still be held");
            reader.slow = false;
            List<CompletableFuture<Mqtt5PublishResult>> acks = sending.get(10, TimeUnit.MINUTES);

            assertTrue(reader.all.await(10, TimeUnit.MINUTES), "lost messages: got " + reader.distinct.size());
            // paced, not failed: every publish was acknowledged, none refused
            for (CompletableFuture<Mqtt5PublishResult> ack : acks) {
                assertFalse(ack.get(30, TimeUnit.SECONDS).getError().isPresent());
            }
            assertEquals(TOTAL, reader.sequence.size(), "duplicates without a reconnect");
            for (int i = 0; i < TOTAL; i++) {
                assertEquals(i, reader.sequence.get(i), "out of order at " + i);
            }
            assertTrue(watch.maxQueued.get() <= LIVE_BOUND, "a connected subscriber's queue above its live bound: "
                    + watch.maxQueued.get());
            assertTrue(watch.maxInflight.get() <= WINDOW, "window above its size: " + watch.maxInflight.get());
            assertTrue(watch.maxQueued.get() > 0, "the queue was never used: the test did not apply pressure");
        }
        assertEquals(0, server.broker().stats().drops(BrokerStats.Drop.OFFLINE_QUEUE_FULL));
    }

    /**
     * An MQTT 3.1.1 publisher cannot be told "not accepted", so while the killed subscriber's session is offline
     * with a full queue its PUBACKs are withheld (with --offline-queue-full withhold) until it is back, well within
     * --offline-withhold-timeout.
     */
    @ParameterizedTest(name = "over {0}: the slow subscriber killed and resumed mid-run loses nothing")
    @ValueSource(strings = {"tcp", "ws"})
    void aPersistentSubscriberKilledMidRunLosesNothing(String transport) throws Exception {
        String id = "resumer-" + transport;
        SlowReader first = new SlowReader(SLOW_MESSAGES, TOTAL);
        MqttClient sub = subscribe(transport, id, false, first);
        Mqtt3AsyncClient pub = Mqtt3Client.builder().identifier("pub-" + id).serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).buildAsync();
        pub.connect().join();
        closers.add(() -> pub.disconnect().get(10, TimeUnit.SECONDS));
        List<CompletableFuture<Mqtt3Publish>> acks = new ArrayList<>(TOTAL);
        try (QueueWatch watch = new QueueWatch(server, id)) {
            for (int i = 0; i < TOTAL; i++) {
                acks.add(pub.publishWith().topic("proof/" + id + "/data").qos(MqttQos.AT_LEAST_ONCE)
                        .payload(Integer.toString(i).getBytes(StandardCharsets.UTF_8)).send());
            }
            awaitTrue(() -> first.distinct.size() >= 1_000, "the first connection never got 1,000 messages");
            // killed: no DISCONNECT, the socket just goes
            sub.disconnectForcibly(0, 0, false);
            sub.close(true);
            int before = first.distinct.size();

            SlowReader second = new SlowReader(0, TOTAL);
            MqttClient again = new MqttClient(uri(transport), id, new MemoryPersistence());
            closers.add(again::close);
            closers.add(() -> again.disconnect(5_000));
            again.setCallback(second);
            MqttConnectOptions o = new MqttConnectOptions();
            o.setCleanSession(false);
            o.setMaxInflight(WINDOW);
            again.connect(o);

            java.util.Set<Integer> all = java.util.concurrent.ConcurrentHashMap.newKeySet();
            all.addAll(first.distinct);
            awaitTrue(() -> {
                all.addAll(second.distinct);
                return all.size() == TOTAL;
            }, 120, "lost messages after the reconnect");
            // the resumed session continues where the first stopped: anything seen before comes again only as DUP
            int highest = -1;
            synchronized (second.sequence) {
                for (int i = 0; i < second.sequence.size(); i++) {
                    int seq = second.sequence.get(i);
                    if (seq <= highest || first.distinct.contains(seq)) {
                        assertTrue(second.duplicate.get(i) || !first.distinct.contains(seq),
                                "message " + seq + " came twice without DUP");
                    }
                    highest = Math.max(highest, seq);
                }
            }
            assertTrue(before < TOTAL);
            assertTrue(watch.maxQueued.get() <= QUEUE_BOUND, "queue above its bound: " + watch.maxQueued.get());
        }
        for (CompletableFuture<Mqtt3Publish> ack : acks) {
            ack.get(60, TimeUnit.SECONDS);
        }
        assertEquals(0, server.broker().stats().drops(BrokerStats.Drop.OFFLINE_QUEUE_FULL));
    }

    private static boolean allAcknowledged(CompletableFuture<List<CompletableFuture<Mqtt5PublishResult>>> sending) {
        return sending.isDone() && CompletableFuture.allOf(sending.join().toArray(new CompletableFuture[0])).isDone();
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String message) throws Exception {
        awaitTrue(condition, 60, message);
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, int seconds, String message)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(message);
            }
            Thread.sleep(10);
        }
    }
}
