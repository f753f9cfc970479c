package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.broker.BrokerStats;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MQTT 5 topic aliases, Maximum Packet Size and Receive Maximum, each in both directions. */
class Mqtt5LimitsTest {
    private MqttTestServer server;

    @AfterEach
    void stop() {
        server.close();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static MqttProperties property(int id, int value) {
        MqttProperties p = new MqttProperties();
        p.add(new MqttProperties.IntegerProperty(id, value));
        return p;
    }

    private static MqttPublishMessage publish(String topic, int qos, int id, MqttProperties props, String payload) {
        return new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false, MqttQoS.valueOf(qos), false, 0),
                new MqttPublishVariableHeader(topic, id, props), Unpooled.wrappedBuffer(bytes(payload)));
    }

    private static byte reasonOf(MqttMessage disconnect) {
        return ((MqttReasonCodeAndPropertiesVariableHeader) disconnect.variableHeader()).reasonCode();
    }

    private RawMqttClient subscriber(String id, String filter, MqttProperties connectProps) {
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, id, true, connectProps);
        c.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription(MqttQoS.AT_LEAST_ONCE, filter).build());
        c.expect(MqttMessageType.SUBACK);
        return c;
    }

    // ---- topic aliases

    @Test
    void inboundTopicAliasesAreResolved() { // MQTT 5 section 3.3.2.3.4
        server = new MqttTestServer(Settings.defaults().with(Settings.MQTT_TOPIC_ALIAS_MAXIMUM, 3)); // alias 3: at the limit
        RawMqttClient sub = subscriber("alias-sub", "alias/#", MqttProperties.NO_PROPERTIES);
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "alias-pub", true);
        pub.send(publish("alias/long/topic/name", 0, 0, property(MqttProperties.TOPIC_ALIAS, 3), "set"));
        pub.send(publish("", 0, 0, property(MqttProperties.TOPIC_ALIAS, 3), "use"));
        pub.send(publish("alias/other", 0, 0, property(MqttProperties.TOPIC_ALIAS, 3), "reset"));
        pub.send(publish("", 0, 0, property(MqttProperties.TOPIC_ALIAS, 3), "use again"));
        String[] expected = {"alias/long/topic/name set", "alias/long/topic/name use", "alias/other reset",
                "alias/other use again"};
        for (String e : expected) {
            MqttPublishMessage p = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
            assertEquals(e, p.variableHeader().topicName() + " " + p.payload().toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void inboundTopicAliasAboveMaximumIsRefusedWith0x94() { // MQTT 5 section 3.3.2.3.4 [MQTT-3.3.2-9]
        server = new MqttTestServer(Settings.defaults().with(Settings.MQTT_TOPIC_ALIAS_MAXIMUM, 2));
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "alias-bad", true);
        pub.send(publish("a/b", 0, 0, property(MqttProperties.TOPIC_ALIAS, 3), "x"));
        assertEquals(ReasonCode.TOPIC_ALIAS_INVALID.code(), reasonOf(pub.expect(MqttMessageType.DISCONNECT)));
        assertTrue(pub.awaitClosed(10_000));
    }

    @Test
    void unknownInboundTopicAliasIsAProtocolError() { // MQTT 5 section 3.3.4 [MQTT-3.3.4-?]: alias used before set
        server = new MqttTestServer(Settings.defaults());
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "alias-unset", true);
        pub.send(publish("", 0, 0, property(MqttProperties.TOPIC_ALIAS, 1), "x"));
        assertEquals(ReasonCode.PROTOCOL_ERROR.code(), reasonOf(pub.expect(MqttMessageType.DISCONNECT)));
    }

    @Test
    void outboundTopicAliasesUpToTheClientsMaximum() { // MQTT 5 section 3.3.2.3.4, 3.1.2.11.5
        server = new MqttTestServer(Settings.defaults());
        RawMqttClient sub = subscriber("alias-out", "out/#", property(MqttProperties.TOPIC_ALIAS_MAXIMUM, 1));
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "alias-out-pub", true);
        pub.send(publish("out/first", 0, 0, MqttProperties.NO_PROPERTIES, "1"));
        pub.send(publish("out/first", 0, 0, MqttProperties.NO_PROPERTIES, "2"));
        pub.send(publish("out/second", 0, 0, MqttProperties.NO_PROPERTIES, "3"));
        MqttPublishMessage a = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
        MqttPublishMessage b = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
        MqttPublishMessage c = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
        assertEquals("out/first", a.variableHeader().topicName());
        assertEquals(1, a.variableHeader().properties().getProperty(MqttProperties.TOPIC_ALIAS).value());
        assertEquals("", b.variableHeader().topicName(), "the alias replaces the topic");
        assertEquals(1, b.variableHeader().properties().getProperty(MqttProperties.TOPIC_ALIAS).value());
        assertEquals("out/second", c.variableHeader().topicName(), "no alias left: the full topic");
        assertNull(c.variableHeader().properties().getProperty(MqttProperties.TOPIC_ALIAS));
    }

    @Test
    void noOutboundAliasesForClientsThatAllowNone() { // MQTT 5 section 3.1.2.11.5 [MQTT-3.1.2-26]
        server = new MqttTestServer(Settings.defaults());
        RawMqttClient sub = subscriber("no-alias", "na/#", MqttProperties.NO_PROPERTIES);
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "no-alias-pub", true);
        pub.send(publish("na/x", 0, 0, MqttProperties.NO_PROPERTIES, "1"));
        pub.send(publish("na/x", 0, 0, MqttProperties.NO_PROPERTIES, "2"));
        for (int i = 0; i < 2; i++) {
            MqttPublishMessage p = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
            assertEquals("na/x", p.variableHeader().topicName());
            assertNull(p.variableHeader().properties().getProperty(MqttProperties.TOPIC_ALIAS));
        }
    }

    @Test
    void hiveMqClientResolvesOurAliases() throws Exception { // MQTT 5 section 3.3.2.3.4, with a real client
        server = new MqttTestServer(Settings.defaults());
        Mqtt5BlockingClient sub = Mqtt5Client.builder().identifier("hive-alias").serverHost("127.0.0.1")
                .serverPort(server.port()).buildBlocking();
        sub.connectWith().restrictions().topicAliasMaximum(2).applyRestrictions().send();
        Mqtt5BlockingClient pub = Mqtt5Client.builder().identifier("hive-alias-pub").serverHost("127.0.0.1")
                .serverPort(server.port()).buildBlocking();
        pub.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("h/#").send();
            String[] topics = {"h/a", "h/b", "h/c", "h/a", "h/b", "h/c", "h/a"};
            for (String t : topics) {
                pub.publishWith().topic(t).payload(bytes(t)).send();
            }
            for (String t : topics) {
                Mqtt5Publish p = got.receive(10, TimeUnit.SECONDS).orElseThrow();
                assertEquals(t, p.getTopic().toString());
            }
        }
        sub.disconnect();
        pub.disconnect();
    }

    // ---- Maximum Packet Size towards the client

    @Test
    void deliveriesLargerThanTheClientAllowsAreDroppedAndCounted() { // MQTT 5 section 3.1.2.11.4 [MQTT-3.1.2-25]
        server = new MqttTestServer(Settings.defaults());
        RawMqttClient sub = subscriber("small", "big/#", property(MqttProperties.MAXIMUM_PACKET_SIZE, 100));
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "big-pub", true);
        pub.send(publish("big/1", 1, 1, MqttProperties.NO_PROPERTIES, "x".repeat(200)));
        pub.expect(MqttMessageType.PUBACK);
        // a PUBLISH of exactly 100 bytes: 1 + 1 (length) + 2 + 5 topic + 2 packet id + 1 properties + payload
        pub.send(publish("big/2", 1, 2, MqttProperties.NO_PROPERTIES, "y".repeat(100 - 12)));
        pub.expect(MqttMessageType.PUBACK);
        MqttPublishMessage p = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
        assertEquals("big/2", p.variableHeader().topicName(), "the 200-byte one was skipped");
        assertEquals(1, server.broker.stats().drops(BrokerStats.Drop.TOO_LARGE_FOR_CLIENT));
        sub.send(MqttMessageBuilders.pubAck().packetId(p.variableHeader().packetId()).build());
        sub.send(MqttMessage.PINGREQ);
        sub.expect(MqttMessageType.PINGRESP); // the broker has handled the PUBACK before it answers
        assertTrue(sub.isOpen());
        assertEquals(0, server.broker.session(MqttModule.sessionId("small")).queue().inflightCount(),
                "the dropped delivery left the in-flight window too");
    }

    @Test
    void hiveMqClientWithSmallMaximumPacketSizeIsNotSentLargeMessages() throws Exception { // 3.1.2.11.4
        server = new MqttTestServer(Settings.defaults());
        Mqtt5BlockingClient sub = Mqtt5Client.builder().identifier("hive-small").serverHost("127.0.0.1")
                .serverPort(server.port()).buildBlocking();
        sub.connectWith().restrictions().maximumPacketSize(256).applyRestrictions().send();
        Mqtt5BlockingClient pub = Mqtt5Client.builder().identifier("hive-big").serverHost("127.0.0.1")
                .serverPort(server.port()).buildBlocking();
        pub.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("sz/#").qos(MqttQos.AT_LEAST_ONCE).send();
            pub.publishWith().topic("sz/large").qos(MqttQos.AT_LEAST_ONCE).payload(new byte[1000]).send();
            pub.publishWith().topic("sz/small").qos(MqttQos.AT_LEAST_ONCE).payload(new byte[10]).send();
            assertEquals("sz/small", got.receive(10, TimeUnit.SECONDS).orElseThrow().getTopic().toString());
        }
        sub.disconnect();
        pub.disconnect();
    }

    // ---- Receive Maximum

    @Test
    void clientsReceiveMaximumBoundsDeliveriesInFlight() { // MQTT 5 section 3.3.4 [MQTT-3.3.4-9]
        server = new MqttTestServer(Settings.defaults());
        RawMqttClient sub = subscriber("rm-sub", "rm/#", property(MqttProperties.RECEIVE_MAXIMUM, 2));
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "rm-pub", true);
        for (int i = 1; i <= 5; i++) {
            pub.send(publish("rm/" + i, 1, i, MqttProperties.NO_PROPERTIES, "m"));
            pub.expect(MqttMessageType.PUBACK);
        }
        MqttPublishMessage first = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
        sub.expect(MqttMessageType.PUBLISH);
        assertNull(sub.next(300), "no third PUBLISH while two are unacknowledged");
        sub.send(MqttMessageBuilders.pubAck().packetId(first.variableHeader().packetId()).build());
        MqttPublishMessage third = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
        assertEquals("rm/3", third.variableHeader().topicName());
        assertNull(sub.next(300));
    }

    @Test
    void exceedingOurReceiveMaximumIsRefusedWith0x93() { // MQTT 5 section 3.3.4 [MQTT-3.3.4-8]
        server = new MqttTestServer(Settings.defaults().with(Settings.MQTT_RECEIVE_MAXIMUM, 2));
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "rm-over", true);
        // QoS 2 stays unacknowledged until PUBCOMP, which needs our PUBREL, which this client never sends
        for (int i = 1; i <= 2; i++) {
            pub.send(publish("rm/x", 2, i, MqttProperties.NO_PROPERTIES, "m"));
            pub.expect(MqttMessageType.PUBREC);
        }
        pub.send(publish("rm/x", 2, 3, MqttProperties.NO_PROPERTIES, "m"));
        assertEquals(ReasonCode.RECEIVE_MAXIMUM_EXCEEDED.code(), reasonOf(pub.expect(MqttMessageType.DISCONNECT)));
    }

    @Test
    void releasedQos2FreesReceiveMaximum() { // MQTT 5 section 4.9: the quota returns on PUBCOMP
        server = new MqttTestServer(Settings.defaults().with(Settings.MQTT_RECEIVE_MAXIMUM, 1));
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "rm-ok", true);
        for (int i = 1; i <= 5; i++) {
            pub.send(publish("rm/y", 2, i, MqttProperties.NO_PROPERTIES, "m"));
            pub.expect(MqttMessageType.PUBREC);
            pub.send(MqttSessionTest.pubRel(i));
            pub.expect(MqttMessageType.PUBCOMP);
        }
        assertTrue(pub.isOpen());
    }

    @Test
    void mqtt311ClientsAreNotHeldToAReceiveMaximumTheyWereNeverTold() { // MQTT 3.1.1 has no Receive Maximum
        server = new MqttTestServer(Settings.defaults().with(Settings.MQTT_RECEIVE_MAXIMUM, 1));
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "rm-311", true);
        for (int i = 1; i <= 3; i++) {
            pub.send(publish("rm/z", 2, i, MqttProperties.NO_PROPERTIES, "m"));
            pub.expect(MqttMessageType.PUBREC);
        }
        pub.send(MqttMessage.PINGREQ);
        pub.expect(MqttMessageType.PINGRESP);
        assertTrue(pub.isOpen());
    }
}
