package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckRestrictions;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PayloadFormatIndicator;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PublishResult;
import com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttUnsubAckMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.config.Settings;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MQTT 5 properties end to end, CONNACK properties, reason codes on acknowledgements, negative acks. */
class Mqtt5PropertiesTest {
    private MqttTestServer server;

    private MqttTestServer start(Settings settings) {
        server = new MqttTestServer(settings);
        return server;
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private Mqtt5BlockingClient client(String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.port()).buildBlocking();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void publishPropertiesTravelEndToEnd() throws Exception { // MQTT 5 section 3.3.2.3 (user properties in order: 3.3.2.3.7)
        start(Settings.defaults());
        Mqtt5BlockingClient sub = client("props-sub");
        Mqtt5BlockingClient pub = client("props-pub");
        sub.connect();
        pub.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("req/#").qos(MqttQos.AT_LEAST_ONCE).send();
            pub.publishWith().topic("req/1").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("{\"a\":1}"))
                    .contentType("application/json")
                    .payloadFormatIndicator(Mqtt5PayloadFormatIndicator.UTF_8)
                    .responseTopic("resp/1")
                    .correlationData(bytes("corr-77"))
                    .userProperties().add("b", "2").add("a", "1").add("b", "3").applyUserProperties()
                    .send();
            Mqtt5Publish p = got.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertEquals("application/json", p.getContentType().orElseThrow().toString());
            assertEquals(Mqtt5PayloadFormatIndicator.UTF_8, p.getPayloadFormatIndicator().orElseThrow());
            assertEquals("resp/1", p.getResponseTopic().orElseThrow().toString());
            ByteBuffer corr = p.getCorrelationData().orElseThrow();
            byte[] c = new byte[corr.remaining()];
            corr.get(c);
            assertArrayEquals(bytes("corr-77"), c);
            List<String> props = p.getUserProperties().asList().stream()
                    .map(u -> u.getName() + "=" + u.getValue()).toList();
            assertEquals(List.of("b=2", "a=1", "b=3"), props);
            assertTrue(p.getMessageExpiryInterval().isEmpty());
        }
        sub.disconnect();
        pub.disconnect();
    }

    @Test
    void requestResponseBetweenHiveMqAndPaho() throws Exception { // MQTT 5 section 4.10 Request / Response
        start(Settings.defaults());
        MqttClient responder = new MqttClient(server.tcpUri(), "responder", new MemoryPersistence());
        responder.connect(new MqttConnectionOptions());
        responder.subscribe("service/echo", 1);
        responder.setCallback(new PahoV5Callback() {
            @Override
            public void messageArrived(String topic, org.eclipse.paho.mqttv5.common.MqttMessage message) throws Exception {
                org.eclipse.paho.mqttv5.common.MqttMessage reply =
                        new org.eclipse.paho.mqttv5.common.MqttMessage(message.getPayload());
                org.eclipse.paho.mqttv5.common.packet.MqttProperties props =
                        new org.eclipse.paho.mqttv5.common.packet.MqttProperties();
                props.setCorrelationData(message.getProperties().getCorrelationData());
                props.setUserProperties(List.of(new UserProperty("handled-by", "paho")));
                reply.setProperties(props);
                reply.setQos(1);
                responder.publish(message.getProperties().getResponseTopic(), reply);
            }
        });
        Mqtt5BlockingClient requester = client("requester");
        requester.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = requester.publishes(MqttGlobalPublishFilter.ALL)) {
            requester.subscribeWith().topicFilter("replies/requester").qos(MqttQos.AT_LEAST_ONCE).send();
            requester.publishWith().topic("service/echo").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("ping"))
                    .responseTopic("replies/requester").correlationData(bytes("id-1")).send();
            Mqtt5Publish reply = got.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertEquals("ping", new String(reply.getPayloadAsBytes(), StandardCharsets.UTF_8));
            ByteBuffer corr = reply.getCorrelationData().orElseThrow();
            assertEquals("id-1", StandardCharsets.UTF_8.decode(corr).toString());
            assertEquals("paho", reply.getUserProperties().asList().get(0).getValue().toString());
        }
        requester.disconnect();
        responder.disconnect();
        responder.close();
    }

    @Test
    void connAckAdvertisesTheServerSettings() { // MQTT 5 section 3.2.2.3
        start(Settings.defaults()
                .with(Settings.MQTT_RECEIVE_MAXIMUM, 10)
                .with(Settings.MQTT_MAXIMUM_QOS, 1)
                .with(Settings.MQTT_RETAIN_AVAILABLE, false)
                .with(Settings.MAX_PACKET_SIZE, 4096)
                .with(Settings.MQTT_TOPIC_ALIAS_MAXIMUM, 5)
                .with(Settings.MQTT_WILDCARD_SUBSCRIPTIONS, false)
                .with(Settings.MQTT_SUBSCRIPTION_IDENTIFIERS, false)
                .with(Settings.MQTT_SHARED_SUBSCRIPTIONS, false)
                .with(Settings.MQTT_SERVER_KEEP_ALIVE, 30)
                .with(Settings.MQTT_RESPONSE_INFORMATION, "reply/base"));
        Mqtt5BlockingClient c = client("caps");
        Mqtt5ConnAck ack = c.connectWith().keepAlive(600).restrictions().requestResponseInformation(true)
                .applyRestrictions().send();
        Mqtt5ConnAckRestrictions r = ack.getRestrictions();
        assertEquals(10, r.getReceiveMaximum());
        assertEquals(MqttQos.AT_LEAST_ONCE, r.getMaximumQos());
        assertFalse(r.isRetainAvailable());
        assertEquals(4096, r.getMaximumPacketSize());
        assertEquals(5, r.getTopicAliasMaximum());
        assertFalse(r.isWildcardSubscriptionAvailable());
        assertFalse(r.areSubscriptionIdentifiersAvailable());
        assertFalse(r.isSharedSubscriptionAvailable());
        assertEquals(30, ack.getServerKeepAlive().orElseThrow());
        assertEquals("reply/base", ack.getResponseInformation().orElseThrow().toString());
        c.disconnect();
    }

    @Test
    void responseInformationOnlyWhenRequested() { // MQTT 5 section 3.1.2.11.7
        start(Settings.defaults().with(Settings.MQTT_RESPONSE_INFORMATION, "reply/base"));
        Mqtt5BlockingClient c = client("no-info");
        assertTrue(c.connect().getResponseInformation().isEmpty());
        c.disconnect();
    }

    @Test
    void unavailableFeaturesAreRefusedWithTheirReasonCodes() { // MQTT 5 sections 3.9.3, 3.3.1.2, 3.2.2.3.4
        start(Settings.defaults()
                .with(Settings.MQTT_WILDCARD_SUBSCRIPTIONS, false)
                .with(Settings.MQTT_SHARED_SUBSCRIPTIONS, false)
                .with(Settings.MQTT_MAXIMUM_QOS, 1));
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "limited", true);
        c.send(MqttMessageBuilders.subscribe().messageId(1)
                .addSubscription(MqttQoS.EXACTLY_ONCE, "plain/topic")
                .addSubscription(MqttQoS.AT_MOST_ONCE, "wild/+")
                .addSubscription(MqttQoS.AT_MOST_ONCE, "$share/g/plain").build());
        MqttSubAckMessage ack = (MqttSubAckMessage) c.expect(MqttMessageType.SUBACK);
        assertEquals(List.of(1, 0xA2, 0x9E), ack.payload().reasonCodes(),
                "QoS 2 granted as the Maximum QoS 1; wildcard and shared refused");
        c.send(MqttBadInputTest.publish("plain/topic", 2, 5, "too high"));
        MqttMessage d = c.expect(MqttMessageType.DISCONNECT);
        assertEquals(ReasonCode.QOS_NOT_SUPPORTED.code(),
                ((io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader) d.variableHeader()).reasonCode());
    }

    @Test
    void retainNotAvailableDisconnectsRetainedPublish() { // MQTT 5 section 3.3.1.3 [MQTT-3.3.1-8]
        start(Settings.defaults().with(Settings.MQTT_RETAIN_AVAILABLE, false));
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "no-retain", true);
        c.send(new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false, MqttQoS.AT_MOST_ONCE, true, 0),
                new MqttPublishVariableHeader("r/x", 0, MqttProperties.NO_PROPERTIES), Unpooled.wrappedBuffer(bytes("x"))));
        MqttMessage d = c.expect(MqttMessageType.DISCONNECT);
        assertEquals(ReasonCode.RETAIN_NOT_SUPPORTED.code(),
                ((io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader) d.variableHeader()).reasonCode());
    }

    @Test
    void pubAckSaysNoMatchingSubscribers() { // MQTT 5 section 3.4.2.1: 0x10
        start(Settings.defaults());
        Mqtt5BlockingClient pub = client("lonely");
        pub.connect();
        Mqtt5PublishResult.Mqtt5Qos1Result r = (Mqtt5PublishResult.Mqtt5Qos1Result) pub.publishWith()
                .topic("nobody/listens").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("x")).send();
        assertEquals(Mqtt5PubAckReasonCode.NO_MATCHING_SUBSCRIBERS, r.getPubAck().getReasonCode());
        Mqtt5BlockingClient sub = client("listener");
        sub.connect();
        sub.subscribeWith().topicFilter("nobody/listens").send();
        r = (Mqtt5PublishResult.Mqtt5Qos1Result) pub.publishWith()
                .topic("nobody/listens").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("x")).send();
        assertEquals(Mqtt5PubAckReasonCode.SUCCESS, r.getPubAck().getReasonCode());
        sub.disconnect();
        pub.disconnect();
    }

    @Test
    void pubRecSaysNoMatchingSubscribersToo() { // MQTT 5 section 3.5.2.1
        start(Settings.defaults());
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "lonely2", true);
        c.send(MqttBadInputTest.publish("nobody/at/all", 2, 3, "x"));
        MqttMessage rec = c.expect(MqttMessageType.PUBREC);
        assertEquals(ReasonCode.NO_MATCHING_SUBSCRIBERS.code(),
                ((MqttPubReplyMessageVariableHeader) rec.variableHeader()).reasonCode());
        c.send(MqttSessionTest.pubRel(3));
        MqttMessage comp = c.expect(MqttMessageType.PUBCOMP);
        assertEquals(0, ((MqttPubReplyMessageVariableHeader) comp.variableHeader()).reasonCode());
        c.send(MqttSessionTest.pubRel(99));
        comp = c.expect(MqttMessageType.PUBCOMP);
        assertEquals(ReasonCode.PACKET_IDENTIFIER_NOT_FOUND.code(),
                ((MqttPubReplyMessageVariableHeader) comp.variableHeader()).reasonCode());
    }

    @Test
    void invalidUtf8PayloadDeclaredUtf8IsRefusedWith0x99() { // MQTT 5 section 3.3.2.3.2 [MQTT-3.3.2-4]
        start(Settings.defaults());
        RawMqttClient sub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "utf-sub", true);
        sub.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription(MqttQoS.AT_LEAST_ONCE, "u/#").build());
        sub.expect(MqttMessageType.SUBACK);
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "utf", true);
        MqttProperties utf8 = new MqttProperties();
        utf8.add(new MqttProperties.IntegerProperty(MqttProperties.PAYLOAD_FORMAT_INDICATOR, 1));
        c.send(new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false, MqttQoS.AT_LEAST_ONCE, false, 0),
                new MqttPublishVariableHeader("u/bad", 4, utf8), Unpooled.wrappedBuffer(new byte[] {(byte) 0xC3, 0x28})));
        MqttMessage ack = c.expect(MqttMessageType.PUBACK);
        assertEquals(ReasonCode.PAYLOAD_FORMAT_INVALID.code(),
                ((MqttPubReplyMessageVariableHeader) ack.variableHeader()).reasonCode());
        c.send(new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false, MqttQoS.AT_LEAST_ONCE, false, 0),
                new MqttPublishVariableHeader("u/good", 5, utf8), Unpooled.wrappedBuffer(bytes("grün"))));
        ack = c.expect(MqttMessageType.PUBACK);
        assertEquals(0, ((MqttPubReplyMessageVariableHeader) ack.variableHeader()).reasonCode());
        MqttPublishMessage got = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
        assertEquals("u/good", got.variableHeader().topicName(), "the invalid one was not forwarded");
    }

    @Test
    void quotaExceededWhenAnOfflineSessionQueueIsFullUnderWithhold() { // MQTT 5 section 3.4.2.1: 0x97
        // only the opt-in policy refuses; by default nobody is refused for an absent session (OfflineOverflowTest)
        server = new MqttTestServer(MqttTestServer.tinyQueues(8, 2).with(Settings.OFFLINE_QUEUE_FULL, "withhold"));
        MqttProperties expiry = new MqttProperties();
        expiry.add(new MqttProperties.IntegerProperty(MqttProperties.SESSION_EXPIRY_INTERVAL, 600));
        RawMqttClient away = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "away", true, expiry);
        away.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription(MqttQoS.AT_LEAST_ONCE, "qx").build());
        away.expect(MqttMessageType.SUBACK);
        away.send(MqttMessageBuilders.disconnect().build());
        assertTrue(away.awaitClosed(10_000));
        Mqtt5BlockingClient pub = client("quota-pub");
        pub.connect();
        for (int i = 0; i < 2; i++) {
            Mqtt5PublishResult.Mqtt5Qos1Result r = (Mqtt5PublishResult.Mqtt5Qos1Result) pub.publishWith()
                    .topic("qx").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("m" + i)).send();
            assertEquals(Mqtt5PubAckReasonCode.SUCCESS, r.getPubAck().getReasonCode());
        }
        try {
            pub.publishWith().topic("qx").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("one too many")).send();
            throw new AssertionError("expected PUBACK 0x97");
        } catch (com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5PubAckException e) {
            assertEquals(Mqtt5PubAckReasonCode.QUOTA_EXCEEDED, e.getMqttMessage().getReasonCode());
        }
        pub.disconnect();
    }

    @Test
    void subAckAndUnsubAckReasonCodes() { // MQTT 5 sections 3.9.3 and 3.11.3
        start(Settings.defaults());
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "codes", true);
        c.send(MqttMessageBuilders.subscribe().messageId(1)
                .addSubscription(MqttQoS.AT_MOST_ONCE, "s/0")
                .addSubscription(MqttQoS.AT_LEAST_ONCE, "s/1")
                .addSubscription(MqttQoS.EXACTLY_ONCE, "s/2").build());
        MqttSubAckMessage ack = (MqttSubAckMessage) c.expect(MqttMessageType.SUBACK);
        assertEquals(List.of(0, 1, 2), ack.payload().reasonCodes());
        c.send(MqttMessageBuilders.unsubscribe().messageId(2).addTopicFilter("s/1").addTopicFilter("s/never").build());
        MqttUnsubAckMessage unack = (MqttUnsubAckMessage) c.expect(MqttMessageType.UNSUBACK);
        assertEquals(List.of((short) 0x00, (short) 0x11), unack.payload().unsubscribeReasonCodes());
    }

    @Test
    void disconnectWithWillMessagePublishesTheWill() throws Exception { // MQTT 5 section 3.14.2.1: 0x04
        start(Settings.defaults());
        Mqtt5BlockingClient watcher = client("will-watch");
        watcher.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = watcher.publishes(MqttGlobalPublishFilter.ALL)) {
            watcher.subscribeWith().topicFilter("wills/#").send();
            Mqtt5BlockingClient leaving = client("leaving");
            leaving.connectWith().willPublish().topic("wills/leaving").payload(bytes("sent on purpose"))
                    .userProperties().add("why", "test").applyUserProperties().applyWillPublish().send();
            leaving.disconnectWith().reasonCode(
                    com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE).send();
            Mqtt5Publish will = got.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertEquals("wills/leaving", will.getTopic().toString());
            assertEquals("test", will.getUserProperties().asList().get(0).getValue().toString(),
                    "will properties travel like publish properties (MQTT 5 section 3.1.3.2)");
        }
        watcher.disconnect();
    }

    @Test
    void mqtt311SubscriberGetsPayloadOfMqtt5PublishWithoutProperties() throws Exception { // mixed versions
        start(Settings.defaults());
        org.eclipse.paho.client.mqttv3.MqttClient old = new org.eclipse.paho.client.mqttv3.MqttClient(
                server.tcpUri(), "old", new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        old.setCallback(MqttFlowsTest.collect(got));
        old.connect();
        old.subscribe("mix/#", 1);
        Mqtt5BlockingClient pub = client("new");
        pub.connect();
        pub.publishWith().topic("mix/a").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("hello"))
                .userProperties().add("k", "v").applyUserProperties().contentType("text/plain").send();
        assertEquals("mix/a hello 1", got.poll(10, TimeUnit.SECONDS));
        pub.disconnect();
        old.disconnect();
        old.close();
    }


}
