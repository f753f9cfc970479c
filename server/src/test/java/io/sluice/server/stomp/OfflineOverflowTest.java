package io.sluice.server.stomp;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PublishResult;
import com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode;
import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.Sluice;
import io.sluice.server.broker.Broker;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.stomp.StompTestClient.sendFrame;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One absent client must not stall or refuse everyone else, with the defaults: two persistent sessions (an MQTT
 * 3.1.1 one and an MQTT 5 one) subscribe to {@code #} at QoS 1 and go away; then an MQTT 3.1.1 publisher (Paho),
 * an MQTT 5 publisher (HiveMQ) and a STOMP publisher each send more QoS 1 messages than an offline queue holds, to
 * topics a live STOMP topic subscriber reads. Every publish is acknowledged with success, the live subscriber gets
 * every message, the absent sessions keep what fitted and count what they missed, and each learns of it when it
 * returns: the MQTT 5 one in its CONNACK, the 3.1.1 one on {@code $SYS/sluice/dropped}. Real clients, real sockets.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class OfflineOverflowTest {
    /** The default --max-queued-messages, and half again as many messages per publisher, as users met it. */
    private static final int BOUND = Settings.MAX_QUEUED_MESSAGES.defaultValue();
    private static final int PER_PUBLISHER = BOUND + BOUND / 2;

    private Sluice sluice;

    @BeforeEach
    void start() {
        sluice = Sluice.start();
    }

    @AfterEach
    void stop() {
        sluice.close();
    }

    private String mqttUri() {
        return "tcp://127.0.0.1:" + sluice.port("mqtt");
    }

    private Mqtt5BlockingClient mqtt5(String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(sluice.port("mqtt")).buildBlocking();
    }

    private static final class Inbox implements MqttCallback {
        final List<String> topics = new CopyOnWriteArrayList<>();
        final List<String> payloads = new CopyOnWriteArrayList<>();

        @Override
        public void connectionLost(Throwable cause) {
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            topics.add(topic);
            payloads.add(new String(message.getPayload(), StandardCharsets.UTF_8));
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
        }
    }

    private static MqttConnectOptions v311(boolean clean) {
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setCleanSession(clean);
        o.setMaxInflight(1000);
        return o;
    }

    @Test
    void absentSessionsNeitherHoldNorRefuseMqtt311Mqtt5OrStompPublishers() throws Exception {
        // the absent ones: subscribed to everything at QoS 1, then gone
        MqttClient absent3 = new MqttClient(mqttUri(), "absent-311", new MemoryPersistence());
        absent3.connect(v311(false));
        absent3.subscribe(new String[] {"#", Broker.DROPPED_TOPIC}, new int[] {1, 0});
        absent3.disconnect();
        absent3.close();
        Mqtt5BlockingClient absent5 = mqtt5("absent-5");
        absent5.connectWith().cleanStart(true).sessionExpiryInterval(3600).send();
        absent5.subscribeWith().topicFilter("#").qos(MqttQos.AT_LEAST_ONCE).send();
        absent5.disconnect();

        try (StompTestClient reader = new StompTestClient(sluice.port("stomp"));
             StompTestClient stompPub = new StompTestClient(sluice.port("stomp"))) {
            reader.connect("1.2");
            reader.subscribe("/topic/fleet/#", "all");
            stompPub.connect("1.2");

            MqttClient pub3 = new MqttClient(mqttUri(), "pub-311", new MemoryPersistence());
            pub3.connect(v311(true));
            for (int i = 0; i < PER_PUBLISHER; i++) {
                // synchronous: each waits for its PUBACK, which a held publisher would never get
                pub3.publish("fleet/v3", ("a" + i).getBytes(StandardCharsets.UTF_8), 1, false);
            }
            pub3.disconnect();
            pub3.close();

            Mqtt5BlockingClient pub5 = mqtt5("pub-5");
            pub5.connect();
            for (int i = 0; i < PER_PUBLISHER; i++) {
                Mqtt5PublishResult.Mqtt5Qos1Result r = (Mqtt5PublishResult.Mqtt5Qos1Result) pub5.publishWith()
                        .topic("fleet/v5").qos(MqttQos.AT_LEAST_ONCE).payload(("b" + i).getBytes(StandardCharsets.UTF_8))
                        .send();
                assertEquals(Mqtt5PubAckReasonCode.SUCCESS, r.getPubAck().getReasonCode(), "message " + i);
            }
            pub5.disconnect();

            for (int i = 0; i < PER_PUBLISHER; i++) {
                stompPub.send(sendFrame("/topic/fleet/stomp", "c" + i, "receipt", "r" + i));
            }
            for (int i = 0; i < PER_PUBLISHER; i++) {
                StompTestClient.Frame receipt = stompPub.next(StompCommand.RECEIPT);
                assertEquals("r" + i, receipt.header("receipt-id"), "every SEND acknowledged, in order");
            }

            int total = 3 * PER_PUBLISHER;
            for (int i = 0; i < total; i++) {
                reader.next(StompCommand.MESSAGE);
            }
        }

        // each absent session kept what fitted and counted the rest: one episode each
        int missed = 3 * PER_PUBLISHER - BOUND;
        for (String id : List.of("absent-311", "absent-5")) {
            Session s = sluice.server().broker().session(MqttModule.sessionId(id));
            assertEquals(BOUND, s.queue().queuedReliable() + s.queue().inflightCount(), id + " kept what fitted");
            assertEquals(missed, s.queue().overflowedTotal(), id + " counted what it missed");
            assertTrue(s.queue().isOverflowing(), id);
        }
        assertEquals(2, sluice.server().broker().stats().sessionsOverflowing.sum());

        // they come back and are told
        Mqtt5BlockingClient back5 = mqtt5("absent-5");
        Mqtt5ConnAck ack = back5.connectWith().cleanStart(false).sessionExpiryInterval(3600).send();
        assertTrue(ack.isSessionPresent());
        String told = ack.getUserProperties().asList().stream()
                .filter(p -> p.getName().toString().equals("sluice-dropped-while-offline"))
                .map(p -> p.getValue().toString()).findFirst().orElse(null);
        assertEquals(Integer.toString(missed), told, "MQTT 5: CONNACK says how many were dropped");
        back5.disconnect();

        Inbox inbox = new Inbox();
        MqttClient back3 = new MqttClient(mqttUri(), "absent-311", new MemoryPersistence());
        back3.setCallback(inbox);
        back3.connect(v311(false));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (inbox.topics.size() < BOUND + 1 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(Broker.DROPPED_TOPIC, inbox.topics.get(0), "the notice comes first: " + inbox.topics.subList(0, 3));
        assertEquals(Integer.toString(missed), inbox.payloads.get(0));
        assertEquals(BOUND + 1, inbox.topics.size(), "then the queued messages, all of them");
        assertEquals("a0", inbox.payloads.get(1), "oldest first");
        back3.disconnect();
        back3.close();
        assertEquals(0, sluice.server().broker().stats().sessionsOverflowing.sum(), "both episodes ended");
    }
}
