package io.sluice.server.ops;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5DisconnectException;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shutdown while QoS 1 traffic flows: nothing acknowledged to a publisher is lost, and clients are told why. */
class GracefulShutdownTest {
    private static final int MESSAGES = 3000;

    private static com.hivemq.client.mqtt.mqtt5.Mqtt5ClientBuilder builder(OpsTestServer server, String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.mqttPort());
    }

    @Test
    void shutdownWithQos1InFlightLosesNothingAcknowledged() throws Exception {
        OpsTestServer server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.SHUTDOWN_DRAIN, 20_000L));
        Set<Integer> received = ConcurrentHashMap.newKeySet();
        AtomicReference<Throwable> subscriberCause = new AtomicReference<>();
        CountDownLatch subscriberGone = new CountDownLatch(1);
        Mqtt5AsyncClient sub = builder(server, "drain-sub")
                .addDisconnectedListener(ctx -> {
                    subscriberCause.set(ctx.getCause());
                    subscriberGone.countDown();
                }).buildAsync();
        sub.connect().get(10, TimeUnit.SECONDS);
        sub.subscribeWith().topicFilter("drain/#").qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> received.add(p.getPayloadAsBytes().length == 4 ? ByteBuffer.wrap(p.getPayloadAsBytes()).getInt() : -1))
                .send().get(10, TimeUnit.SECONDS);

        Mqtt5AsyncClient pub = builder(server, "drain-pub").buildAsync();
        pub.connect().get(10, TimeUnit.SECONDS);
        Set<Integer> acknowledged = ConcurrentHashMap.newKeySet();
        List<CompletableFuture<?>> sends = new CopyOnWriteArrayList<>();
        CountDownLatch someAcknowledged = new CountDownLatch(200);
        for (int i = 0; i < MESSAGES; i++) {
            int n = i;
            sends.add(pub.publishWith().topic("drain/" + (n % 7)).qos(MqttQos.AT_LEAST_ONCE)
                    .payload(ByteBuffer.allocate(4).putInt(0, n)).send()
                    .whenComplete((result, error) -> {
                        if (error == null && result.getError().isEmpty()) {
                            acknowledged.add(n);
                            someAcknowledged.countDown();
                        }
                    }));
        }
        assertTrue(someAcknowledged.await(30, TimeUnit.SECONDS), "traffic flowing before the shutdown");
        server.shutdown();

        assertTrue(subscriberGone.await(20, TimeUnit.SECONDS), "subscriber disconnected by the shutdown");
        Mqtt5DisconnectException bye = assertInstanceOf(Mqtt5DisconnectException.class, subscriberCause.get());
        assertEquals(Mqtt5DisconnectReasonCode.SERVER_SHUTTING_DOWN, bye.getMqttMessage().getReasonCode());
        for (CompletableFuture<?> f : sends) {
            try {
                f.get(20, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // not acknowledged: the publisher still holds it, which is the point
            }
        }
        assertTrue(acknowledged.size() >= 200);
        Set<Integer> lost = new java.util.TreeSet<>(acknowledged);
        lost.removeAll(received);
        assertTrue(lost.isEmpty(), lost.size() + " of " + acknowledged.size() + " acknowledged messages never reached "
                + "the subscriber, e.g. " + lost.stream().limit(10).toList());
    }

    @Test
    void whileDrainingNotReadyNewConnectionsRefusedAndWillsNotSent() throws Exception {
        OpsTestServer server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.SHUTDOWN_DRAIN, 3_000L));
        // a subscriber that never acknowledges keeps the drain going for the whole drain period
        Mqtt5BlockingClient slow = builder(server, "slow").buildBlocking();
        slow.connect();
        Mqtt5BlockingClient.Mqtt5Publishes held = slow.publishes(MqttGlobalPublishFilter.ALL, true);
        slow.subscribeWith().topicFilter("slow").qos(MqttQos.AT_LEAST_ONCE).send();
        Mqtt5BlockingClient willer = builder(server, "willer").willPublish().topic("wills/willer")
                .payload("gone".getBytes()).retain(true).applyWillPublish().buildBlocking();
        willer.connect();
        Mqtt5BlockingClient pub = builder(server, "pub").buildBlocking();
        pub.connect();
        pub.publishWith().topic("slow").qos(MqttQos.AT_LEAST_ONCE).payload(new byte[1]).send();
        assertEquals("slow", held.receive(10, TimeUnit.SECONDS).orElseThrow().getTopic().toString(), "in flight, unacknowledged");

        assertEquals(200, Scrape.get(server.httpPort(), "/readyz").statusCode());
        Thread shutdown = new Thread(server.ops::shutdown);
        shutdown.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.ops.readiness().isReady() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(503, Scrape.get(server.httpPort(), "/readyz").statusCode(), "not ready while draining");
        assertEquals(200, Scrape.get(server.httpPort(), "/healthz").statusCode(), "alive while draining");
        Mqtt5ConnAckException refused = assertThrows(Mqtt5ConnAckException.class,
                () -> builder(server, "latecomer").buildBlocking().connect());
        assertEquals(Mqtt5ConnAckReasonCode.SERVER_UNAVAILABLE, refused.getMqttMessage().getReasonCode());

        shutdown.join(30_000);
        assertTrue(!shutdown.isAlive(), "shutdown finished after the drain period");
        assertTrue(server.broker.retained().match("wills/#").isEmpty(), "no will on a clean server shutdown");
        held.close();
        server.close();
    }
}
