package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Message Expiry Interval, Will Delay Interval and Session Expiry Interval (MQTT 5 sections 3.3.2.3.3,
 * 3.1.3.2.2, 3.1.2.11.2). Expiry needs real seconds to pass; the intervals are the smallest the protocol
 * allows (1 s) and every wait is bounded.
 */
class Mqtt5ExpiryTest {
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

    @Test
    void expiredMessagesAreNotDeliveredFromAnOfflineSession() throws Exception { // MQTT 5 section 3.3.2.3.3
        Mqtt5BlockingClient sub = client("exp-sub");
        sub.connectWith().cleanStart(true).sessionExpiryInterval(600).send();
        sub.subscribeWith().topicFilter("exp/#").qos(MqttQos.AT_LEAST_ONCE).send();
        sub.disconnect();
        Mqtt5BlockingClient pub = client("exp-pub");
        pub.connect();
        pub.publishWith().topic("exp/short").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("gone")).messageExpiryInterval(1).send();
        pub.publishWith().topic("exp/long").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("kept")).messageExpiryInterval(3600).send();
        Thread.sleep(2100); // let the 1 s interval pass
        try (Mqtt5BlockingClient.Mqtt5Publishes got = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            assertTrue(sub.connectWith().cleanStart(false).sessionExpiryInterval(600).send().isSessionPresent());
            Mqtt5Publish p = got.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertEquals("exp/long", p.getTopic().toString());
            long remaining = p.getMessageExpiryInterval().orElseThrow();
            assertTrue(remaining <= 3600 - 2 && remaining > 3000, "the remaining interval is forwarded: " + remaining);
            assertTrue(got.receive(300, TimeUnit.MILLISECONDS).isEmpty());
        }
        sub.disconnect();
        pub.disconnect();
    }

    @Test
    void expiredRetainedMessageIsNotSentOnSubscribe() throws Exception { // MQTT 5 section 3.3.2.3.3
        Mqtt5BlockingClient pub = client("exp-ret");
        pub.connect();
        pub.publishWith().topic("expret/a").retain(true).payload(bytes("a")).messageExpiryInterval(1).send();
        pub.publishWith().topic("expret/b").retain(true).payload(bytes("b")).messageExpiryInterval(3600).send();
        Thread.sleep(2100);
        Mqtt5BlockingClient sub = client("exp-ret-sub");
        sub.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("expret/#").send();
            assertEquals("expret/b", got.receive(10, TimeUnit.SECONDS).orElseThrow().getTopic().toString());
            assertTrue(got.receive(300, TimeUnit.MILLISECONDS).isEmpty());
        }
        sub.disconnect();
        pub.disconnect();
    }

    @Test
    void delayedWillIsCancelledWhenTheSessionResumesInTime() throws Exception { // MQTT 5 section 3.1.3.2.2
        Mqtt5BlockingClient watcher = client("wd-watch");
        watcher.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = watcher.publishes(MqttGlobalPublishFilter.ALL)) {
            watcher.subscribeWith().topicFilter("wd/#").send();
            MqttProperties session = new MqttProperties();
            session.add(new MqttProperties.IntegerProperty(MqttProperties.SESSION_EXPIRY_INTERVAL, 600));
            MqttProperties delay = new MqttProperties();
            delay.add(new MqttProperties.IntegerProperty(MqttProperties.WILL_DELAY_INTERVAL, 3));
            RawMqttClient c = RawMqttClient.open(server.port());
            c.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId("wd").cleanSession(true)
                    .properties(session).willFlag(true).willTopic("wd/late").willMessage(bytes("x"))
                    .willProperties(delay).build());
            c.expect(MqttMessageType.CONNACK);
            c.close();
            RawMqttClient back = RawMqttClient.open(server.port());
            MqttConnAckMessage ack = back.connect(MqttVersion.MQTT_5, "wd", false, session);
            assertTrue(ack.variableHeader().isSessionPresent());
            assertTrue(got.receive(4500, TimeUnit.MILLISECONDS).isEmpty(), "resumed within the delay: no will");
            back.close();
        }
        watcher.disconnect();
    }

    @Test
    void delayedWillIsPublishedAfterTheDelay() throws Exception { // MQTT 5 section 3.1.3.2.2
        Mqtt5BlockingClient watcher = client("wd-watch2");
        watcher.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = watcher.publishes(MqttGlobalPublishFilter.ALL)) {
            watcher.subscribeWith().topicFilter("wd2/#").send();
            MqttProperties session = new MqttProperties();
            session.add(new MqttProperties.IntegerProperty(MqttProperties.SESSION_EXPIRY_INTERVAL, 600));
            MqttProperties delay = new MqttProperties();
            delay.add(new MqttProperties.IntegerProperty(MqttProperties.WILL_DELAY_INTERVAL, 1));
            RawMqttClient dying = RawMqttClient.open(server.port());
            dying.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId("wd2").cleanSession(true)
                    .properties(session).willFlag(true).willTopic("wd2/late").willMessage(bytes("late"))
                    .willProperties(delay).build());
            dying.expect(MqttMessageType.CONNACK);
            long start = System.nanoTime();
            dying.close(); // no DISCONNECT: abnormal
            Mqtt5Publish will = got.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertEquals("wd2/late", will.getTopic().toString());
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(900), "not before the delay");
        }
        watcher.disconnect();
    }

    @Test
    void sessionWithoutExpiryEndsWithTheConnection() { // MQTT 5 section 3.1.2.11.2: absent means 0
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "short-lived", false);
        c.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription(io.netty.handler.codec.mqtt.MqttQoS.AT_LEAST_ONCE, "sl").build());
        c.expect(MqttMessageType.SUBACK);
        c.send(MqttMessageBuilders.disconnect().build());
        assertTrue(c.awaitClosed(10_000));
        RawMqttClient again = RawMqttClient.open(server.port());
        assertFalse(again.connect(MqttVersion.MQTT_5, "short-lived", false, MqttProperties.NO_PROPERTIES)
                .variableHeader().isSessionPresent());
        RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "sl-pub", true);
        pub.send(MqttBadInputTest.publish("sl", 0, 0, "x"));
        pub.send(io.netty.handler.codec.mqtt.MqttMessage.PINGREQ);
        pub.expect(MqttMessageType.PINGRESP);
        assertNull(again.next(300), "the old subscription is gone");
    }

    @Test
    void disconnectCanShortenTheSessionExpiry() { // MQTT 5 section 3.14.2.2.2
        MqttProperties session = new MqttProperties();
        session.add(new MqttProperties.IntegerProperty(MqttProperties.SESSION_EXPIRY_INTERVAL, 600));
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "shorten", true, session);
        MqttProperties zero = new MqttProperties();
        zero.add(new MqttProperties.IntegerProperty(MqttProperties.SESSION_EXPIRY_INTERVAL, 0));
        c.send(MqttMessageBuilders.disconnect().properties(zero).build());
        assertTrue(c.awaitClosed(10_000));
        RawMqttClient again = RawMqttClient.open(server.port());
        assertFalse(again.connect(MqttVersion.MQTT_5, "shorten", false, session).variableHeader().isSessionPresent());
    }
}
