package io.sluice.server.stomp;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5PubAckException;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode;
import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.Sluice;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The broker's total bounds at their limit, with each protocol's refusal past them: sessions (MQTT 5 CONNACK 0x97,
 * MQTT 3.1.1 return code 3, STOMP ERROR), retained messages by count and by bytes (MQTT 5 PUBACK 0x97; MQTT 3.1.1
 * delivered but not retained). Real clients over TCP.
 */
class TotalBoundsTest {
    private static Mqtt5BlockingClient mqtt5(Sluice s, String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(s.port("mqtt")).buildBlocking();
    }

    private static MqttConnectOptions v311(boolean clean) {
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setCleanSession(clean);
        return o;
    }

    @Test
    void aNewSessionPastMaxSessionsIsRefusedInEachProtocolAndAnExistingOneStillReturns() throws Exception {
        int max = 3;
        try (Sluice s = Sluice.builder().set(Settings.MAX_SESSIONS, max).start()) {
            List<Mqtt5BlockingClient> kept = new ArrayList<>();
            for (int i = 0; i < max; i++) {
                Mqtt5BlockingClient c = mqtt5(s, "kept-" + i);
                c.connectWith().sessionExpiryInterval(600).send();
                kept.add(c);
            }
            Mqtt5ConnAckException refused = assertThrows(Mqtt5ConnAckException.class, () -> mqtt5(s, "one-too-many").connect());
            assertEquals(Mqtt5ConnAckReasonCode.QUOTA_EXCEEDED, refused.getMqttMessage().getReasonCode());

            MqttClient paho = new MqttClient("tcp://127.0.0.1:" + s.port("mqtt"), "one-too-many-311", new MemoryPersistence());
            MqttException e = assertThrows(MqttException.class, () -> paho.connect(v311(true)));
            assertEquals(MqttException.REASON_CODE_BROKER_UNAVAILABLE, e.getReasonCode(), "return code 3");
            paho.close();

            try (StompTestClient stomp = new StompTestClient(s.port("stomp"))) {
                stomp.connect("1.2");
                stomp.send(StompCommand.SUBSCRIBE, "destination", "/topic/x", "id", "s");
                stomp.expectError("session limit");
            }

            // an existing session is not a new one: its client comes back
            kept.get(0).disconnect();
            assertTrue(mqtt5(s, "kept-0").connectWith().cleanStart(false).sessionExpiryInterval(600).send()
                    .isSessionPresent());
            assertTrue(s.server().broker().sessions().size() <= max);
        }
    }

    @Test
    void retainedMessagesPastTheirBoundsAreRefusedToMqtt5AndNotKeptForMqtt311() throws Exception {
        int max = 2;
        try (Sluice s = Sluice.builder().set(Settings.MAX_RETAINED_MESSAGES, max)
                .set(Settings.MAX_RETAINED_BYTES, 4096L).start()) {
            Mqtt5BlockingClient pub = mqtt5(s, "retainer");
            pub.connect();
            for (int i = 0; i < max; i++) {
                pub.publishWith().topic("r/" + i).payload(("v" + i).getBytes(StandardCharsets.UTF_8)).retain(true)
                        .qos(MqttQos.AT_LEAST_ONCE).send();
            }
            Mqtt5PubAckException count = assertThrows(Mqtt5PubAckException.class, () -> pub.publishWith().topic("r/new")
                    .payload("x".getBytes(StandardCharsets.UTF_8)).retain(true).qos(MqttQos.AT_LEAST_ONCE).send());
            assertEquals(Mqtt5PubAckReasonCode.QUOTA_EXCEEDED, count.getMqttMessage().getReasonCode());
            // replacing a kept topic adds no message
            pub.publishWith().topic("r/0").payload("v0'".getBytes(StandardCharsets.UTF_8)).retain(true)
                    .qos(MqttQos.AT_LEAST_ONCE).send();
            Mqtt5PubAckException bytes = assertThrows(Mqtt5PubAckException.class, () -> pub.publishWith().topic("r/1")
                    .payload(new byte[8192]).retain(true).qos(MqttQos.AT_LEAST_ONCE).send());
            assertEquals(Mqtt5PubAckReasonCode.QUOTA_EXCEEDED, bytes.getMqttMessage().getReasonCode());

            MqttClient paho = new MqttClient("tcp://127.0.0.1:" + s.port("mqtt"), "retainer-311", new MemoryPersistence());
            paho.connect(v311(true));
            paho.publish("r/new", "from 3.1.1".getBytes(StandardCharsets.UTF_8), 1, true);
            paho.disconnect();
            paho.close();

            assertEquals(max, s.server().broker().retained().size());
            Mqtt5BlockingClient reader = mqtt5(s, "reader");
            reader.connect();
            try (Mqtt5BlockingClient.Mqtt5Publishes publishes = reader.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
                reader.subscribeWith().topicFilter("r/#").qos(MqttQos.AT_LEAST_ONCE).send();
                List<String> got = new ArrayList<>();
                Optional<Mqtt5Publish> p;
                while ((p = publishes.receive(500, TimeUnit.MILLISECONDS)).isPresent()) {
                    got.add(p.get().getTopic() + "=" + new String(p.get().getPayloadAsBytes(), StandardCharsets.UTF_8));
                }
                got.sort(String::compareTo);
                assertEquals(List.of("r/0=v0'", "r/1=v1"), got, "the kept ones, none past the bounds");
            }
            assertTrue(s.server().broker().stats().retainedRefused.sum() >= 3);
        }
    }
}
