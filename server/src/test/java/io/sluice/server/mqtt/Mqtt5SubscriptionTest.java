package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubscriptionOption;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.mqtt.MqttBadInputTest.publish;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared subscriptions, subscription options and subscription identifiers (MQTT 5 sections 4.8.2, 3.8.3.1). */
class Mqtt5SubscriptionTest {
    private MqttTestServer server;

    @BeforeEach
    void start() {
        server = new MqttTestServer(Settings.defaults());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private Mqtt5BlockingClient client(String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.port()).buildBlocking();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static MqttSubscriptionOption option(int qos, boolean noLocal, boolean rap, int retainHandling) {
        return new MqttSubscriptionOption(MqttQoS.valueOf(qos), noLocal, rap,
                MqttSubscriptionOption.RetainedHandlingPolicy.valueOf(retainHandling));
    }

    // ---- shared subscriptions

    @Test
    void sharedGroupDeliversEachMessageToOneMemberAcrossVersions() throws Exception { // MQTT 5 section 4.8.2
        Mqtt5BlockingClient a = client("share-a");
        a.connect();
        MqttClient b = new MqttClient(server.tcpUri(), "share-b", new MemoryPersistence()); // MQTT 3.1.1 member
        BlockingQueue<String> gotB = new LinkedBlockingQueue<>();
        b.setCallback(MqttFlowsTest.collect(gotB));
        b.connect();
        Mqtt5BlockingClient pub = client("share-pub");
        pub.connect();
        List<String> all = new ArrayList<>();
        try (Mqtt5BlockingClient.Mqtt5Publishes gotA = a.publishes(MqttGlobalPublishFilter.ALL)) {
            a.subscribeWith().topicFilter("$share/workers/jobs/#").qos(MqttQos.AT_LEAST_ONCE).send();
            b.subscribe("$share/workers/jobs/#", 1);
            int n = 20;
            for (int i = 0; i < n; i++) {
                pub.publishWith().topic("jobs/" + i).qos(MqttQos.AT_LEAST_ONCE).payload(bytes("j" + i)).send();
            }
            int fromA = 0;
            int fromB = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (all.size() < n && System.nanoTime() < deadline) {
                var p = gotA.receive(50, TimeUnit.MILLISECONDS);
                if (p.isPresent()) {
                    all.add(p.get().getTopic().toString());
                    fromA++;
                }
                String s;
                while ((s = gotB.poll()) != null) {
                    all.add(s.split(" ")[0]);
                    fromB++;
                }
            }
            assertEquals(n, all.size());
            assertEquals(n, new HashSet<>(all).size(), "each message to exactly one member");
            assertTrue(fromA > 0 && fromB > 0, "round-robin reaches both members: " + fromA + "/" + fromB);
        }
        a.disconnect();
        b.disconnect();
        b.close();
        pub.disconnect();
    }

    @Test
    void retainedMessagesAreNotSentOnSharedSubscribe() { // MQTT 5 section 4.8.2 [MQTT-4.8.2-?]: no retained
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "ret-share-pub", true);
        pub.send(new MqttPublishMessage(new io.netty.handler.codec.mqtt.MqttFixedHeader(MqttMessageType.PUBLISH, false,
                MqttQoS.AT_MOST_ONCE, true, 0), new io.netty.handler.codec.mqtt.MqttPublishVariableHeader("rs/x", 0,
                MqttProperties.NO_PROPERTIES), io.netty.buffer.Unpooled.wrappedBuffer(bytes("kept"))));
        pub.send(MqttMessage.PINGREQ);
        pub.expect(MqttMessageType.PINGRESP); // the retained message is stored before anyone subscribes
        RawMqttClient member = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "ret-share", true);
        member.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription(MqttQoS.AT_MOST_ONCE, "$share/g/rs/#").build());
        member.expect(MqttMessageType.SUBACK);
        assertNull(member.next(300));
        member.send(MqttMessageBuilders.subscribe().messageId(2).addSubscription(MqttQoS.AT_MOST_ONCE, "rs/#").build());
        member.expect(MqttMessageType.SUBACK);
        assertEquals("rs/x", ((MqttPublishMessage) member.expect(MqttMessageType.PUBLISH)).variableHeader().topicName());
    }

    @Test
    void unacknowledgedShareMovesToAnotherMemberWhenOneLeaves() { // issue: not lost when a member disconnects
        RawMqttClient leaver = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "leaver", true);
        leaver.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription(MqttQoS.AT_LEAST_ONCE, "$share/g/sh/#").build());
        leaver.expect(MqttMessageType.SUBACK);
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "share-pub2", true);
        pub.send(publish("sh/1", 1, 1, "precious"));
        pub.expect(MqttMessageType.PUBACK);
        leaver.expect(MqttMessageType.PUBLISH); // received, never acknowledged
        RawMqttClient stayer = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "stayer", true);
        stayer.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription(MqttQoS.AT_LEAST_ONCE, "$share/g/sh/#").build());
        stayer.expect(MqttMessageType.SUBACK);
        leaver.close();
        MqttPublishMessage moved = (MqttPublishMessage) stayer.expect(MqttMessageType.PUBLISH);
        assertEquals("sh/1", moved.variableHeader().topicName());
        assertEquals("precious", moved.payload().toString(StandardCharsets.UTF_8));
    }

    @Test
    void noLocalOnASharedSubscriptionIsAProtocolError() { // MQTT 5 section 3.8.3.1 [MQTT-3.8.3-4]
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "nl-share", true);
        c.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription("$share/g/x", option(0, true, false, 0)).build());
        c.expect(MqttMessageType.DISCONNECT);
        assertTrue(c.awaitClosed(10_000));
    }

    // ---- subscription options

    @Test
    void noLocalSkipsOwnPublications() { // MQTT 5 section 3.8.3.1 No Local
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "nolocal", true);
        c.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription("nl/#", option(0, true, false, 0)).build());
        c.expect(MqttMessageType.SUBACK);
        c.send(publish("nl/mine", 0, 0, "own"));
        RawMqttClient other = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "nolocal-other", true);
        other.send(publish("nl/theirs", 0, 0, "theirs"));
        assertEquals("nl/theirs", ((MqttPublishMessage) c.expect(MqttMessageType.PUBLISH)).variableHeader().topicName());
        assertNull(c.next(300));
    }

    @Test
    void retainAsPublishedKeepsTheFlagOnLiveDelivery() { // MQTT 5 section 3.8.3.1 Retain As Published
        RawMqttClient keep = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "rap", true);
        keep.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription("rap/#", option(0, false, true, 0)).build());
        keep.expect(MqttMessageType.SUBACK);
        RawMqttClient clear = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "rap-clear", true);
        clear.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription("rap/#", option(0, false, false, 0)).build());
        clear.expect(MqttMessageType.SUBACK);
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "rap-pub", true);
        pub.send(new MqttPublishMessage(new io.netty.handler.codec.mqtt.MqttFixedHeader(MqttMessageType.PUBLISH, false,
                MqttQoS.AT_MOST_ONCE, true, 0), new io.netty.handler.codec.mqtt.MqttPublishVariableHeader("rap/x", 0,
                MqttProperties.NO_PROPERTIES), io.netty.buffer.Unpooled.wrappedBuffer(bytes("v"))));
        assertTrue(keep.expect(MqttMessageType.PUBLISH).fixedHeader().isRetain());
        assertFalse(clear.expect(MqttMessageType.PUBLISH).fixedHeader().isRetain());
    }

    @Test
    void retainHandlingZeroOneTwo() { // MQTT 5 section 3.8.3.1 Retain Handling
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "rh-pub", true);
        pub.send(new MqttPublishMessage(new io.netty.handler.codec.mqtt.MqttFixedHeader(MqttMessageType.PUBLISH, false,
                MqttQoS.AT_MOST_ONCE, true, 0), new io.netty.handler.codec.mqtt.MqttPublishVariableHeader("rh/x", 0,
                MqttProperties.NO_PROPERTIES), io.netty.buffer.Unpooled.wrappedBuffer(bytes("r"))));
        pub.send(MqttMessage.PINGREQ);
        pub.expect(MqttMessageType.PINGRESP);
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "rh", true);
        // 0: on every subscribe
        c.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription("rh/#", option(0, false, false, 0)).build());
        c.expect(MqttMessageType.SUBACK);
        c.expect(MqttMessageType.PUBLISH);
        c.send(MqttMessageBuilders.subscribe().messageId(2).addSubscription("rh/#", option(0, false, false, 0)).build());
        c.expect(MqttMessageType.SUBACK);
        c.expect(MqttMessageType.PUBLISH);
        // 1: only when the subscription is new
        c.send(MqttMessageBuilders.subscribe().messageId(3).addSubscription("rh/+", option(0, false, false, 1)).build());
        c.expect(MqttMessageType.SUBACK);
        c.expect(MqttMessageType.PUBLISH);
        c.send(MqttMessageBuilders.subscribe().messageId(4).addSubscription("rh/+", option(0, false, false, 1)).build());
        c.expect(MqttMessageType.SUBACK);
        assertNull(c.next(300));
        // 2: never
        c.send(MqttMessageBuilders.subscribe().messageId(5).addSubscription("rh/x", option(0, false, false, 2)).build());
        c.expect(MqttMessageType.SUBACK);
        assertNull(c.next(300));
    }

    @Test
    void everyMatchingSubscriptionIdentifierIsSent() { // MQTT 5 section 3.3.4 [MQTT-3.3.4-4], 3.8.2.1.2
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "subids", true);
        MqttProperties id7 = new MqttProperties();
        id7.add(new MqttProperties.IntegerProperty(MqttProperties.SUBSCRIPTION_IDENTIFIER, 7));
        c.send(MqttMessageBuilders.subscribe().messageId(1).properties(id7).addSubscription(MqttQoS.AT_MOST_ONCE, "ids/#").build());
        c.expect(MqttMessageType.SUBACK);
        MqttProperties id300 = new MqttProperties();
        id300.add(new MqttProperties.IntegerProperty(MqttProperties.SUBSCRIPTION_IDENTIFIER, 300));
        c.send(MqttMessageBuilders.subscribe().messageId(2).properties(id300).addSubscription(MqttQoS.AT_MOST_ONCE, "ids/+").build());
        c.expect(MqttMessageType.SUBACK);
        c.send(MqttMessageBuilders.subscribe().messageId(3).addSubscription(MqttQoS.AT_MOST_ONCE, "ids/a").build());
        c.expect(MqttMessageType.SUBACK);
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "subids-pub", true);
        pub.send(publish("ids/a", 0, 0, "x"));
        MqttPublishMessage p = (MqttPublishMessage) c.expect(MqttMessageType.PUBLISH);
        Set<Object> ids = new HashSet<>();
        p.variableHeader().properties().getProperties(MqttProperties.SUBSCRIPTION_IDENTIFIER)
                .forEach(prop -> ids.add(prop.value()));
        assertEquals(Set.of(7, 300), ids);
        assertNull(c.next(300), "one PUBLISH for three matching subscriptions");
    }

    @Test
    void subscriptionIdentifierOnSubscribeWithHiveMq() throws Exception { // MQTT 5 section 3.8.2.1.2
        Mqtt5BlockingClient c = client("hive-ids");
        c.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = c.publishes(MqttGlobalPublishFilter.ALL)) {
            c.subscribeWith().topicFilter("hid/+").send();
            c.subscribeWith().topicFilter("hid/#").send();
            c.publishWith().topic("hid/1").payload(bytes("x")).send();
            Mqtt5Publish p = got.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertEquals("hid/1", p.getTopic().toString());
            assertTrue(got.receive(300, TimeUnit.MILLISECONDS).isEmpty());
        }
        c.disconnect();
    }

    @Test
    void subscriptionIdentifiersSwitchedOffGetDisconnect0xA1() { // MQTT 5 section 3.2.2.3.12
        server.close();
        server = new MqttTestServer(Settings.defaults().with(Settings.MQTT_SUBSCRIPTION_IDENTIFIERS, false));
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "no-ids", true);
        MqttProperties id = new MqttProperties();
        id.add(new MqttProperties.IntegerProperty(MqttProperties.SUBSCRIPTION_IDENTIFIER, 1));
        c.send(MqttMessageBuilders.subscribe().messageId(1).properties(id).addSubscription(MqttQoS.AT_MOST_ONCE, "x").build());
        MqttMessage d = c.expect(MqttMessageType.DISCONNECT);
        assertEquals((byte) 0xA1,
                ((io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader) d.variableHeader()).reasonCode());
    }
}
