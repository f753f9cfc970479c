package io.sluice.server.flow;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.sluice.server.SluiceServer;
import io.sluice.server.broker.BrokerStats;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * QoS 0 to a subscriber that stops reading (docs/flow-control.md): the broker buffers at most
 * {@code max-qos0-queued} messages for it and drops past that by policy, counting each drop; with conflation
 * the subscriber receives the newest value of each topic when it resumes. Paho stops reading its socket while
 * its callback blocks, so a blocked callback is a stalled subscriber.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class StalledQos0SubscriberTest {
    private static final int BOUND = 200;
    private static final int TOPICS = 10;
    private static final int PUBLISHED = 30_000;
    private static final int PAYLOAD = 1024;

    private SluiceServer server;

    @AfterEach
    void stop() {
        server.close();
    }

    private void start(String conflate) {
        Settings s = Settings.defaults().with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, -1).with(Settings.STOMP_PORT, -1).with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.MAX_QOS0_QUEUED, BOUND);
        if (conflate != null) {
            s = s.with(Settings.CONFLATE_FILTERS, java.util.List.of(conflate));
        }
        server = SluiceServer.start(s);
    }

    /** Holds every callback until released, then records the newest sequence number seen per topic. */
    private static final class StalledReader implements MqttCallback {
        final CountDownLatch release = new CountDownLatch(1);
        final CountDownLatch firstArrived = new CountDownLatch(1);
        final Map<String, Integer> newest = new ConcurrentHashMap<>();
        final AtomicInteger received = new AtomicInteger();

        @Override
        public void messageArrived(String topic, MqttMessage message) throws Exception {
            firstArrived.countDown();
            release.await(2, TimeUnit.MINUTES);
            received.incrementAndGet();
            newest.merge(topic, ByteBuffer.wrap(message.getPayload()).getInt(), Math::max);
        }

        @Override
        public void connectionLost(Throwable cause) {
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
        }
    }

    private MqttClient stalledSubscriber(StalledReader reader, String filter) throws Exception {
        MqttClient sub = new MqttClient("tcp://127.0.0.1:" + server.port("mqtt"), "stalled", new MemoryPersistence());
        sub.setCallback(reader);
        MqttConnectOptions o = new MqttConnectOptions();
        o.setKeepAliveInterval(300);
        sub.connect(o);
        sub.subscribe(filter, 0);
        return sub;
    }

    /** Publishes PUBLISHED QoS 0 messages round-robin over TOPICS topics; returns the last sequence per topic. */
    private int[] flood(String prefix) {
        Mqtt5BlockingClient pub = Mqtt5Client.builder().identifier("flood").serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).buildBlocking();
        pub.connect();
        int[] last = new int[TOPICS];
        byte[] payload = new byte[PAYLOAD];
        for (int i = 0; i < PUBLISHED; i++) {
            ByteBuffer.wrap(payload).putInt(i);
            pub.publishWith().topic(prefix + (i % TOPICS)).qos(MqttQos.AT_MOST_ONCE).payload(payload.clone()).send();
            last[i % TOPICS] = i;
        }
        pub.disconnect();
        return last;
    }

    private Session stalledSession() {
        return server.broker().session(MqttModule.sessionId("stalled"));
    }

    private void awaitDrained(StalledReader reader) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        int seen = -1;
        // done when nothing more arrives for a while and the broker holds nothing for it
        while (System.nanoTime() < deadline) {
            Thread.sleep(300);
            int now = reader.received.get();
            if (now == seen && stalledSession().queue().queuedQos0() == 0) {
                return;
            }
            seen = now;
        }
        throw new AssertionError("the subscriber never caught up");
    }

    @Test
    void aStalledSubscribersQos0BufferStaysWithinItsBoundAndDropsOldestCounted() throws Exception {
        start(null);
        StalledReader reader = new StalledReader();
        MqttClient sub = stalledSubscriber(reader, "live/#");
        try {
            int[] last = flood("live/");
            assertTrue(reader.firstArrived.await(30, TimeUnit.SECONDS));
            assertTrue(stalledSession().queue().queuedQos0() <= BOUND,
                    "QoS 0 buffer above its bound: " + stalledSession().queue().queuedQos0());
            long dropped = server.broker().stats().drops(BrokerStats.Drop.QOS0_OVERFLOW);
            assertTrue(dropped > 0, "the socket absorbed everything: no pressure was applied");
            reader.release.countDown();
            awaitDrained(reader);
            // every message was either delivered or counted as dropped: nothing vanished unaccounted
            assertEquals(PUBLISHED, reader.received.get() + dropped);
            // drop-oldest keeps the newest: the last message of every topic arrives
            for (int t = 0; t < TOPICS; t++) {
                assertEquals(last[t], reader.newest.get("live/" + t), "topic live/" + t);
            }
        } finally {
            reader.release.countDown();
            sub.disconnect(5_000);
            sub.close();
        }
    }

    @Test
    void conflationDeliversTheNewestValueOfEachTopicWhenTheSubscriberResumes() throws Exception {
        start("prices/#");
        StalledReader reader = new StalledReader();
        MqttClient sub = stalledSubscriber(reader, "prices/+");
        try {
            int[] last = flood("prices/");
            assertTrue(reader.firstArrived.await(30, TimeUnit.SECONDS));
            assertTrue(stalledSession().queue().queuedQos0() <= TOPICS,
                    "conflation keeps one value per topic, found " + stalledSession().queue().queuedQos0());
            long conflated = server.broker().stats().drops(BrokerStats.Drop.QOS0_CONFLATED);
            assertTrue(conflated > 0, "nothing was conflated: no pressure was applied");
            reader.release.countDown();
            awaitDrained(reader);
            assertEquals(PUBLISHED, reader.received.get() + conflated
                    + server.broker().stats().drops(BrokerStats.Drop.QOS0_OVERFLOW));
            int[] got = new int[TOPICS];
            for (int t = 0; t < TOPICS; t++) {
                got[t] = reader.newest.get("prices/" + t);
            }
            assertEquals(Arrays.toString(last), Arrays.toString(got));
        } finally {
            reader.release.countDown();
            sub.disconnect(5_000);
            sub.close();
        }
    }
}
