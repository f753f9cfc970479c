package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.mqtt.MqttBadInputTest.publish;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Backpressure from a slow subscriber to its publishers: while a subscriber queue is full the publisher's
 * PUBACK is withheld, its connection stops reading and packets already read wait in order; nothing is lost.
 */
class MqttFlowControlTest {
    private MqttTestServer server;

    @AfterEach
    void stop() {
        server.close();
    }

    /** Window 1 and 2 queued messages per subscriber: the fourth unacknowledged QoS 1 message fills it. */
    private void startTiny() {
        server = new MqttTestServer(MqttTestServer.tinyQueues(1, 2));
    }

    @Test
    void pubAckIsWithheldAndLaterPacketsWaitUntilTheSubscriberCatchesUp() {
        startTiny();
        RawMqttClient sub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "slow", true);
        sub.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription(MqttQoS.AT_LEAST_ONCE, "fc/#").build());
        sub.expect(MqttMessageType.SUBACK);
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "fast", true);
        for (int i = 1; i <= 3; i++) { // one in flight, two queued
            pub.send(publish("fc/" + i, 1, i, "m" + i));
            assertEquals(i, ((MqttMessageIdVariableHeader) pub.expect(MqttMessageType.PUBACK).variableHeader()).messageId());
        }
        pub.send(publish("fc/4", 1, 4, "m4"));
        pub.send(MqttBadInputTest.publish("other/topic", 0, 0, "behind"));
        pub.send(MqttMessageBuilders.subscribe().messageId(9).addSubscription(MqttQoS.AT_MOST_ONCE, "x").build());
        assertNull(pub.next(500), "PUBACK 4 withheld, and the SUBSCRIBE behind it waits too");

        MqttPublishMessage first = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
        sub.send(MqttMessageBuilders.pubAck().packetId(first.variableHeader().packetId()).build());
        assertEquals(4, ((MqttMessageIdVariableHeader) pub.expect(MqttMessageType.PUBACK).variableHeader()).messageId());
        pub.expect(MqttMessageType.SUBACK);

        for (int i = 2; i <= 4; i++) {
            MqttPublishMessage p = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
            assertEquals("fc/" + i, p.variableHeader().topicName(), "in order, none lost");
            sub.send(MqttMessageBuilders.pubAck().packetId(p.variableHeader().packetId()).build());
        }
    }

    @Test
    void aPublisherSubscribedToItsOwnFullQueueIsNotDeadlocked() {
        startTiny();
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "echo", true);
        c.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription(MqttQoS.AT_LEAST_ONCE, "echo").build());
        c.expect(MqttMessageType.SUBACK);
        int n = 8;
        for (int i = 1; i <= n; i++) {
            c.send(publish("echo", 1, i, "m" + i));
        }
        // the queue fills, the fourth PUBLISH waits; only acknowledging our own deliveries frees it
        int pubAcks = 0;
        int delivered = 0;
        while (pubAcks < n || delivered < n) {
            MqttMessage m = c.next(10_000);
            if (m == null) {
                throw new AssertionError("stalled after " + pubAcks + " PUBACKs and " + delivered + " deliveries");
            }
            if (m instanceof MqttPublishMessage p) {
                delivered++;
                assertEquals("m" + delivered, p.payload().toString(StandardCharsets.UTF_8), "in order");
                c.send(MqttMessageBuilders.pubAck().packetId(p.variableHeader().packetId()).build());
            } else {
                assertEquals(MqttMessageType.PUBACK, m.fixedHeader().messageType());
                pubAcks++;
            }
        }
        assertTrue(server.broker.stats().backpressurePauses.sum() > 0, "the queue did fill up");
    }

    @Test
    void manyQos1MessagesThroughATinyQueueArriveInOrderWithRealClients() throws Exception {
        startTiny();
        MqttClient sub = new MqttClient(server.tcpUri(), "paho-slow", new MemoryPersistence());
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        sub.setCallback(MqttFlowsTest.collect(got));
        sub.connect();
        sub.subscribe("many", 1);
        Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier("hive-fast").serverHost("127.0.0.1")
                .serverPort(server.port()).buildAsync();
        pub.connect().get(10, TimeUnit.SECONDS);
        int n = 500;
        CompletableFuture<?>[] sent = new CompletableFuture<?>[n];
        for (int i = 0; i < n; i++) {
            sent[i] = pub.publishWith().topic("many").qos(MqttQos.AT_LEAST_ONCE)
                    .payload(Integer.toString(i).getBytes(StandardCharsets.UTF_8)).send();
        }
        for (int i = 0; i < n; i++) {
            assertEquals("many " + i + " 1", got.poll(20, TimeUnit.SECONDS), "in order, none lost");
        }
        CompletableFuture.allOf(sent).get(20, TimeUnit.SECONDS);
        assertTrue(server.broker.stats().backpressurePauses.sum() > 0, "the tiny queue did fill up");
        sub.disconnect();
        sub.close();
        pub.disconnect().get(10, TimeUnit.SECONDS);
    }
}
