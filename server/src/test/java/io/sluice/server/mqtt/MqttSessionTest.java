package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3BlockingClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import com.hivemq.client.mqtt.mqtt3.message.publish.Mqtt3Publish;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.protocol.mqtt.ReasonCode;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.mqtt.MqttBadInputTest.publish;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sessions, QoS flows, retained messages and wills (MQTT 3.1.1 and 5), with real clients where they can. */
class MqttSessionTest {
    private MqttTestServer server;

    @BeforeEach
    void start() {
        server = new MqttTestServer();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private Mqtt5BlockingClient v5(String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.port()).buildBlocking();
    }

    private Mqtt3BlockingClient v3(String id) {
        return Mqtt3Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.port()).buildBlocking();
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ---- client identifiers and takeover

    @Test
    void emptyClientIdIsAssignedInMqtt5() { // MQTT 5 section 3.2.2.3.7 Assigned Client Identifier
        Mqtt5BlockingClient c = Mqtt5Client.builder().serverHost("127.0.0.1").serverPort(server.port()).buildBlocking();
        Mqtt5ConnAck ack = c.connect();
        String assigned = ack.getAssignedClientIdentifier().orElseThrow().toString();
        assertFalse(assigned.isEmpty());
        assertNotNull(server.broker.session(MqttModule.sessionId(assigned)));
        c.disconnect();
    }

    @Test
    void emptyClientIdNeedsCleanSessionIn311() { // MQTT 3.1.1 section 3.1.3.1 [MQTT-3.1.3-7], [MQTT-3.1.3-8]
        RawMqttClient ok = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "", true);
        ok.send(MqttMessage.PINGREQ);
        ok.expect(MqttMessageType.PINGRESP);
        ok.close();
        RawMqttClient refused = RawMqttClient.open(server.port());
        MqttConnAckMessage ack = refused.connect(MqttVersion.MQTT_3_1_1, "", false, MqttProperties.NO_PROPERTIES);
        assertEquals(2, ack.variableHeader().connectReturnCode().byteValue());
        assertTrue(refused.awaitClosed(10_000));
    }

    @Test
    void secondConnectionWithSameIdTakesOverMqtt5() { // MQTT 5 section 3.1.4: DISCONNECT 0x8E to the old one
        RawMqttClient first = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "twin", true);
        RawMqttClient second = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "twin", true);
        MqttMessage d = first.expect(MqttMessageType.DISCONNECT);
        assertEquals(ReasonCode.SESSION_TAKEN_OVER.code(),
                ((MqttReasonCodeAndPropertiesVariableHeader) d.variableHeader()).reasonCode());
        assertTrue(first.awaitClosed(10_000));
        second.send(MqttMessage.PINGREQ);
        second.expect(MqttMessageType.PINGRESP);
        second.close();
    }

    @Test
    void secondConnectionWithSameIdTakesOverMqtt311() throws Exception { // MQTT 3.1.1 section 3.1.4 [MQTT-3.1.4-2]
        MqttClient first = new MqttClient(server.tcpUri(), "twin311", new MemoryPersistence());
        MqttClient second = new MqttClient(server.tcpUri(), "twin311", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setAutomaticReconnect(false);
        first.connect(o);
        second.connect(o);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (first.isConnected() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertFalse(first.isConnected());
        assertTrue(second.isConnected());
        second.disconnect();
        first.close();
        second.close();
    }

    // ---- keep-alive

    @Test
    void silentClientIsClosedAfterOneAndAHalfKeepAlives() { // MQTT 5 section 3.1.2.10: DISCONNECT 0x8D
        RawMqttClient c = RawMqttClient.open(server.port());
        c.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId("sleepy").keepAlive(1).build());
        c.expect(MqttMessageType.CONNACK);
        MqttMessage d = c.expect(MqttMessageType.DISCONNECT);
        assertEquals(ReasonCode.KEEP_ALIVE_TIMEOUT.code(),
                ((MqttReasonCodeAndPropertiesVariableHeader) d.variableHeader()).reasonCode());
        assertTrue(c.awaitClosed(10_000));
    }

    /**
     * The deadline is 1.5 keep-alives after the last packet, never earlier: a client heard every 1.3 s with a 1 s
     * keep-alive stays, however its packets fall against the broker's timer; silent after that, it is closed, and
     * not before 1.5 s have passed since its last packet.
     */
    @Test
    void keepAliveDeadlineIsOneAndAHalfIntervalsAfterTheLastPacketNeverEarlier() throws Exception {
        RawMqttClient c = RawMqttClient.open(server.port());
        c.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId("edge").keepAlive(1).build());
        c.expect(MqttMessageType.CONNACK);
        long lastPacket = System.nanoTime();
        for (int i = 0; i < 5; i++) {
            Thread.sleep(1_300);
            lastPacket = System.nanoTime(); // before it leaves: the broker hears it later still
            c.send(MqttMessage.PINGREQ);
            c.expect(MqttMessageType.PINGRESP);
        }
        MqttMessage d = c.expect(MqttMessageType.DISCONNECT);
        long silentMillis = (System.nanoTime() - lastPacket) / 1_000_000;
        assertEquals(ReasonCode.KEEP_ALIVE_TIMEOUT.code(),
                ((MqttReasonCodeAndPropertiesVariableHeader) d.variableHeader()).reasonCode());
        assertTrue(silentMillis >= 1_500, "closed " + silentMillis + " ms after the last packet");
        assertTrue(c.awaitClosed(10_000));
    }

    @Test
    void pingingClientStaysConnected() throws Exception { // MQTT 3.1.1 section 3.12 PINGREQ
        RawMqttClient c = RawMqttClient.open(server.port());
        c.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_3_1_1).clientId("awake").keepAlive(2).build());
        c.expect(MqttMessageType.CONNACK);
        for (int i = 0; i < 8; i++) {
            Thread.sleep(500);
            c.send(MqttMessage.PINGREQ);
            c.expect(MqttMessageType.PINGRESP);
        }
        assertTrue(c.isOpen());
        c.close();
    }

    // ---- subscriptions

    @Test
    void wildcardsMatchButNotDollarTopics() throws Exception { // MQTT 5 section 4.7.2
        Mqtt5BlockingClient sub = v5("wild");
        Mqtt5BlockingClient sys = v5("sys");
        Mqtt5BlockingClient pub = v5("pub");
        sub.connect();
        sys.connect();
        pub.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes all = sub.publishes(MqttGlobalPublishFilter.ALL);
             Mqtt5BlockingClient.Mqtt5Publishes dollar = sys.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("#").send();
            sub.subscribeWith().topicFilter("+/status").send();
            sys.subscribeWith().topicFilter("$SYS/#").send();
            pub.publishWith().topic("$SYS/status").payload(bytes("hidden")).send();
            pub.publishWith().topic("a/status").payload(bytes("seen")).send();
            Mqtt5Publish first = all.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertEquals("a/status", first.getTopic().toString(), "'#' and '+/status' must not match $SYS/status");
            assertTrue(all.receive(300, TimeUnit.MILLISECONDS).isEmpty(), "one delivery for two matching filters");
            assertEquals("$SYS/status", dollar.receive(10, TimeUnit.SECONDS).orElseThrow().getTopic().toString());
        }
        sub.disconnect();
        sys.disconnect();
        pub.disconnect();
    }

    @Test
    void overlappingSubscriptionsDeliverOnceAtHighestQos() { // MQTT 5 section 3.3.4, 3.1.1 [MQTT-3.3.5-1]
        RawMqttClient sub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "overlap", true);
        sub.send(MqttMessageBuilders.subscribe().messageId(1)
                .addSubscription(MqttQoS.AT_MOST_ONCE, "o/#")
                .addSubscription(MqttQoS.AT_LEAST_ONCE, "o/+")
                .addSubscription(MqttQoS.AT_MOST_ONCE, "o/x").build());
        sub.expect(MqttMessageType.SUBACK);
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "overlap-pub", true);
        pub.send(publish("o/x", 2, 1, "once"));
        pub.expect(MqttMessageType.PUBREC);
        MqttPublishMessage p = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
        assertEquals(MqttQoS.AT_LEAST_ONCE, p.fixedHeader().qosLevel(), "the highest granted QoS, below the publish QoS");
        assertNull(sub.next(300), "exactly one delivery");
        sub.close();
        pub.close();
    }

    @Test
    void deliveryAtLowerOfPublishAndSubscriptionQos() throws Exception { // MQTT 5 section 3.8.4
        Mqtt3BlockingClient sub = v3("lower-sub");
        Mqtt3BlockingClient pub = v3("lower-pub");
        sub.connect();
        pub.connect();
        try (Mqtt3BlockingClient.Mqtt3Publishes got = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("q/hi").qos(MqttQos.EXACTLY_ONCE).send();
            sub.subscribeWith().topicFilter("q/lo").qos(MqttQos.AT_MOST_ONCE).send();
            pub.publishWith().topic("q/hi").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("1")).send();
            pub.publishWith().topic("q/lo").qos(MqttQos.EXACTLY_ONCE).payload(bytes("2")).send();
            java.util.Map<String, MqttQos> qos = new java.util.HashMap<>();
            for (int i = 0; i < 2; i++) { // QoS 0 may overtake QoS 1: MQTT orders messages of one QoS only
                Mqtt3Publish p = got.receive(10, TimeUnit.SECONDS).orElseThrow();
                qos.put(p.getTopic().toString(), p.getQos());
            }
            assertEquals(MqttQos.AT_LEAST_ONCE, qos.get("q/hi"));
            assertEquals(MqttQos.AT_MOST_ONCE, qos.get("q/lo"));
        }
        sub.disconnect();
        pub.disconnect();
    }

    @Test
    void unsubscribeStopsDelivery() throws Exception { // MQTT 5 section 3.10.4
        Mqtt5BlockingClient c = v5("unsub");
        c.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = c.publishes(MqttGlobalPublishFilter.ALL)) {
            c.subscribeWith().topicFilter("u/1").send();
            c.unsubscribeWith().topicFilter("u/1").send();
            c.subscribeWith().topicFilter("u/2").send();
            c.publishWith().topic("u/1").payload(bytes("gone")).send();
            c.publishWith().topic("u/2").payload(bytes("here")).send();
            assertEquals("u/2", got.receive(10, TimeUnit.SECONDS).orElseThrow().getTopic().toString());
        }
        c.disconnect();
    }

    // ---- QoS 2

    @Test
    void qos2BothDirectionsWithRealClients() throws Exception { // MQTT 5 section 4.3.3
        Mqtt5BlockingClient sub = v5("q2-sub");
        Mqtt5BlockingClient pub = v5("q2-pub");
        sub.connect();
        pub.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("q2/#").qos(MqttQos.EXACTLY_ONCE).send();
            for (int i = 0; i < 20; i++) {
                pub.publishWith().topic("q2/" + i).qos(MqttQos.EXACTLY_ONCE).payload(bytes("m" + i)).send();
            }
            for (int i = 0; i < 20; i++) {
                Mqtt5Publish p = got.receive(10, TimeUnit.SECONDS).orElseThrow();
                assertEquals("q2/" + i, p.getTopic().toString());
                assertEquals(MqttQos.EXACTLY_ONCE, p.getQos());
            }
        }
        sub.disconnect();
        pub.disconnect();
    }

    @Test
    void duplicateQos2PublishIsForwardedOnce() { // MQTT 5 section 4.3.3 [MQTT-4.3.3-10]
        RawMqttClient sub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "dup-sub", true);
        sub.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription(MqttQoS.EXACTLY_ONCE, "d/#").build());
        sub.expect(MqttMessageType.SUBACK);
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "dup-pub", true);
        pub.send(publish("d/x", 2, 42, "once"));
        pub.expect(MqttMessageType.PUBREC);
        MqttPublishMessage resend = publish("d/x", 2, 42, "once");
        pub.send(new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, true, MqttQoS.EXACTLY_ONCE, false, 0),
                resend.variableHeader(), resend.payload()));
        pub.expect(MqttMessageType.PUBREC);
        pub.send(pubRel(42));
        pub.expect(MqttMessageType.PUBCOMP);
        MqttPublishMessage p = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
        int id = p.variableHeader().packetId();
        sub.send(new MqttMessage(new MqttFixedHeader(MqttMessageType.PUBREC, false, MqttQoS.AT_MOST_ONCE, false, 0),
                MqttMessageIdVariableHeader.from(id)));
        MqttMessage rel = sub.expect(MqttMessageType.PUBREL);
        assertEquals(id, ((MqttMessageIdVariableHeader) rel.variableHeader()).messageId());
        sub.send(new MqttMessage(new MqttFixedHeader(MqttMessageType.PUBCOMP, false, MqttQoS.AT_MOST_ONCE, false, 0),
                MqttMessageIdVariableHeader.from(id)));
        assertNull(sub.next(300), "the duplicate must not be forwarded");
        sub.close();
        pub.close();
    }

    static MqttMessage pubRel(int id) {
        return new MqttMessage(new MqttFixedHeader(MqttMessageType.PUBREL, false, MqttQoS.AT_LEAST_ONCE, false, 0),
                MqttMessageIdVariableHeader.from(id));
    }

    // ---- persistent sessions

    @Test
    void unacknowledgedDeliveriesAreResentWithDupOnResume() { // MQTT 5 section 4.4, 3.1.1 [MQTT-4.4.0-1]
        RawMqttClient sub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "resume", false);
        sub.send(MqttMessageBuilders.subscribe().messageId(1)
                .addSubscription(MqttQoS.EXACTLY_ONCE, "r/#").build());
        sub.expect(MqttMessageType.SUBACK);
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "resume-pub", true);
        pub.send(publish("r/1", 1, 1, "one"));
        pub.expect(MqttMessageType.PUBACK);
        pub.send(publish("r/2", 2, 2, "two"));
        pub.expect(MqttMessageType.PUBREC);
        MqttPublishMessage one = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
        MqttPublishMessage two = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
        assertFalse(one.fixedHeader().isDup());
        sub.send(new MqttMessage(new MqttFixedHeader(MqttMessageType.PUBREC, false, MqttQoS.AT_MOST_ONCE, false, 0),
                MqttMessageIdVariableHeader.from(two.variableHeader().packetId())));
        sub.expect(MqttMessageType.PUBREL);
        sub.close(); // neither PUBACK for one nor PUBCOMP for two

        RawMqttClient again = RawMqttClient.open(server.port());
        MqttConnAckMessage ack = again.connect(MqttVersion.MQTT_3_1_1, "resume", false, MqttProperties.NO_PROPERTIES);
        assertTrue(ack.variableHeader().isSessionPresent());
        MqttPublishMessage resent = (MqttPublishMessage) again.expect(MqttMessageType.PUBLISH);
        assertTrue(resent.fixedHeader().isDup());
        assertEquals(one.variableHeader().packetId(), resent.variableHeader().packetId());
        assertEquals("r/1", resent.variableHeader().topicName());
        MqttMessage rel = again.expect(MqttMessageType.PUBREL);
        assertEquals(two.variableHeader().packetId(), ((MqttMessageIdVariableHeader) rel.variableHeader()).messageId());
        again.close();
        pub.close();
    }

    @Test
    void persistentSessionKeepsSubscriptionsAndQueuedQos1() throws Exception { // MQTT 3.1.1 section 3.1.2.4
        MqttClient sub = new MqttClient(server.tcpUri(), "keeper", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(false);
        sub.connect(o);
        sub.subscribe("k/#", 1);
        sub.disconnect();
        Mqtt3BlockingClient pub = v3("keeper-pub");
        pub.connect();
        for (int i = 0; i < 5; i++) {
            pub.publishWith().topic("k/" + i).qos(MqttQos.AT_LEAST_ONCE).payload(bytes("q" + i)).send();
        }
        java.util.concurrent.BlockingQueue<String> got = new java.util.concurrent.LinkedBlockingQueue<>();
        sub.setCallback(MqttFlowsTest.collect(got));
        sub.connect(o);
        for (int i = 0; i < 5; i++) {
            assertEquals("k/" + i + " q" + i + " 1", got.poll(10, TimeUnit.SECONDS));
        }
        sub.disconnect();
        sub.close();
        pub.disconnect();
    }

    @Test
    void sessionPresentFlagOnResumeMqtt5() { // MQTT 5 section 3.2.2.1.1
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("present").serverHost("127.0.0.1")
                .serverPort(server.port()).buildBlocking();
        assertFalse(c.connectWith().cleanStart(true).sessionExpiryInterval(300).send().isSessionPresent());
        c.disconnect();
        assertTrue(c.connectWith().cleanStart(false).sessionExpiryInterval(300).send().isSessionPresent());
        c.disconnect();
        assertFalse(c.connectWith().cleanStart(true).send().isSessionPresent());
        c.disconnect();
    }

    // ---- retained messages

    @Test
    void retainedStoreReplaceAndClear() throws Exception { // MQTT 5 section 3.3.1.3
        Mqtt5BlockingClient pub = v5("ret-pub");
        pub.connect();
        pub.publishWith().topic("ret/a").retain(true).payload(bytes("first")).send();
        pub.publishWith().topic("ret/a").retain(true).payload(bytes("second")).send();
        pub.publishWith().topic("ret/b").retain(true).qos(MqttQos.AT_LEAST_ONCE).payload(bytes("b")).send();
        pub.publishWith().topic("ret/b").retain(true).qos(MqttQos.AT_LEAST_ONCE).payload(new byte[0]).send();
        Mqtt5BlockingClient sub = v5("ret-sub");
        sub.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("ret/+").qos(MqttQos.AT_LEAST_ONCE).send();
            Mqtt5Publish p = got.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertEquals("ret/a", p.getTopic().toString());
            assertEquals("second", text(p.getPayloadAsBytes()));
            assertTrue(p.isRetain(), "retained messages go out with the retain flag on subscribe");
            assertTrue(got.receive(300, TimeUnit.MILLISECONDS).isEmpty(), "ret/b was cleared by an empty payload");
            pub.publishWith().topic("ret/a").retain(true).payload(bytes("live")).send();
            Mqtt5Publish live = got.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertFalse(live.isRetain(), "live delivery clears the retain flag (Retain As Published off)");
        }
        sub.disconnect();
        pub.disconnect();
    }

    // ---- wills

    @Test
    void willIsPublishedOnAbnormalLossOnly() throws Exception { // MQTT 5 section 3.1.2.5, 3.1.1 [MQTT-3.1.2-10]
        Mqtt3BlockingClient watcher = v3("watcher");
        watcher.connect();
        try (Mqtt3BlockingClient.Mqtt3Publishes got = watcher.publishes(MqttGlobalPublishFilter.ALL)) {
            watcher.subscribeWith().topicFilter("will/#").qos(MqttQos.AT_LEAST_ONCE).send();

            RawMqttClient polite = RawMqttClient.open(server.port());
            polite.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_3_1_1).clientId("polite")
                    .willFlag(true).willTopic("will/polite").willMessage(bytes("bye")).willQoS(MqttQoS.AT_LEAST_ONCE).build());
            polite.expect(MqttMessageType.CONNACK);
            polite.send(MqttMessage.DISCONNECT);
            assertTrue(polite.awaitClosed(10_000));

            RawMqttClient crashed = RawMqttClient.open(server.port());
            crashed.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_3_1_1).clientId("crashed")
                    .willFlag(true).willTopic("will/crashed").willMessage(bytes("gone")).willQoS(MqttQoS.AT_LEAST_ONCE).build());
            crashed.expect(MqttMessageType.CONNACK);
            crashed.close();

            Mqtt3Publish will = got.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertEquals("will/crashed", will.getTopic().toString());
            assertEquals("gone", text(will.getPayloadAsBytes()));
            assertTrue(got.receive(300, TimeUnit.MILLISECONDS).isEmpty(), "no will after a normal DISCONNECT");
        }
        watcher.disconnect();
    }

    @Test
    void willIsPublishedWhenTheBrokerClosesForAProtocolError() throws Exception { // MQTT 5 section 3.1.2.5
        Mqtt3BlockingClient watcher = v3("watcher2");
        watcher.connect();
        try (Mqtt3BlockingClient.Mqtt3Publishes got = watcher.publishes(MqttGlobalPublishFilter.ALL)) {
            watcher.subscribeWith().topicFilter("will/#").send();
            RawMqttClient bad = RawMqttClient.open(server.port());
            bad.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId("bad")
                    .willFlag(true).willTopic("will/bad").willMessage(bytes("broken")).build());
            bad.expect(MqttMessageType.CONNACK);
            bad.sendBytes(0x36, 0x00);
            assertTrue(bad.awaitClosed(10_000));
            assertEquals("will/bad", got.receive(10, TimeUnit.SECONDS).orElseThrow().getTopic().toString());
        }
        watcher.disconnect();
    }

    @Test
    void willTopicWithWildcardIsRefused() { // MQTT 5 section 3.1.3.3: the Will Topic is a Topic Name
        RawMqttClient c = RawMqttClient.open(server.port());
        // CONNECT 3.1.1, will flag + clean session, client id "c", will topic "w/#", will message "x"
        c.sendBytes(0x10, 0x15, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x06, 0x00, 0x3C,
                0x00, 0x01, 'c', 0x00, 0x03, 'w', '/', '#', 0x00, 0x01, 'x');
        assertTrue(c.awaitClosed(10_000));
        assertNull(c.next(100), "MQTT 3.1.1 has no return code for it: the connection just closes");
        assertNull(server.broker.session(MqttModule.sessionId("c")));
    }

    @Test
    void willOfATakenOverConnectionIsPublishedUnlessDelayed() throws Exception { // MQTT 5 section 3.1.2.5
        Mqtt3BlockingClient watcher = v3("takeover-watch");
        watcher.connect();
        try (Mqtt3BlockingClient.Mqtt3Publishes got = watcher.publishes(MqttGlobalPublishFilter.ALL)) {
            watcher.subscribeWith().topicFilter("tw/#").send();
            MqttProperties delay = new MqttProperties();
            delay.add(new MqttProperties.IntegerProperty(MqttProperties.WILL_DELAY_INTERVAL, 30));
            MqttProperties session = new MqttProperties();
            session.add(new MqttProperties.IntegerProperty(MqttProperties.SESSION_EXPIRY_INTERVAL, 60));
            RawMqttClient delayed = RawMqttClient.open(server.port());
            delayed.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId("tw-delayed")
                    .properties(session).willFlag(true).willTopic("tw/delayed").willMessage(bytes("x"))
                    .willProperties(delay).build());
            delayed.expect(MqttMessageType.CONNACK);
            RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "tw-delayed", false, session);
            assertTrue(delayed.awaitClosed(10_000));

            RawMqttClient old = RawMqttClient.open(server.port());
            old.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_3_1_1).clientId("tw-now")
                    .willFlag(true).willTopic("tw/now").willMessage(bytes("taken over")).build());
            old.expect(MqttMessageType.CONNACK);
            RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "tw-now", true);
            assertTrue(old.awaitClosed(10_000));

            assertEquals("tw/now", got.receive(10, TimeUnit.SECONDS).orElseThrow().getTopic().toString());
            assertTrue(got.receive(300, TimeUnit.MILLISECONDS).isEmpty(),
                    "a delayed will is cancelled by the new connection");
        }
        watcher.disconnect();
    }

    @Test
    void connectionThatNeverConnectsIsClosed() throws Exception { // setting mqtt-connect-timeout
        server.close();
        server = new MqttTestServer(io.sluice.server.config.Settings.defaults()
                // long enough for a client on a busy machine to get its CONNECT out, short enough to wait out
                .with(io.sluice.server.config.Settings.MQTT_CONNECT_TIMEOUT, 2_000L));
        RawMqttClient inTime = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "in-time", true);
        try (java.net.Socket idle = new java.net.Socket("127.0.0.1", server.port())) {
            idle.setSoTimeout(10_000);
            assertEquals(-1, idle.getInputStream().read(), "closed without a word");
        }
        // the connected client has now been open longer than the connect timeout: it is not subject to it
        inTime.send(MqttMessage.PINGREQ);
        inTime.expect(MqttMessageType.PINGRESP);
    }
}
