package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The basic flows with real clients over TCP: CONNECT per version, SUBSCRIBE, PUBLISH at QoS 0 and 1. */
class MqttFlowsTest {
    private MqttTestServer server;

    @BeforeEach
    void start() {
        server = new MqttTestServer();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void mqtt5ConnectSubscribePublishQos0And1() throws Exception {
        Mqtt5BlockingClient sub = Mqtt5Client.builder().identifier("sub5").serverHost("127.0.0.1")
                .serverPort(server.port()).buildBlocking();
        Mqtt5BlockingClient pub = Mqtt5Client.builder().identifier("pub5").serverHost("127.0.0.1")
                .serverPort(server.port()).buildBlocking();
        Mqtt5ConnAck ack = sub.connect();
        assertTrue(!ack.isSessionPresent());
        pub.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes received = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("a/+").qos(MqttQos.AT_LEAST_ONCE).send();
            pub.publishWith().topic("a/b").payload(bytes("zero")).qos(MqttQos.AT_MOST_ONCE).send();
            pub.publishWith().topic("a/c").payload(bytes("one")).qos(MqttQos.AT_LEAST_ONCE).send();
            Mqtt5Publish first = received.receive(10, TimeUnit.SECONDS).orElseThrow();
            Mqtt5Publish second = received.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertEquals("a/b", first.getTopic().toString());
            assertEquals("zero", new String(first.getPayloadAsBytes(), StandardCharsets.UTF_8));
            assertEquals(MqttQos.AT_MOST_ONCE, first.getQos());
            assertEquals("a/c", second.getTopic().toString());
            assertEquals(MqttQos.AT_LEAST_ONCE, second.getQos());
        }
        pub.disconnect();
        sub.disconnect();
    }

    @Test
    void mqtt311WithPaho() throws Exception {
        checkPaho(MqttConnectOptions.MQTT_VERSION_3_1_1);
    }

    @Test
    void mqtt31WithPaho() throws Exception {
        checkPaho(MqttConnectOptions.MQTT_VERSION_3_1);
    }

    private void checkPaho(int version) throws Exception {
        MqttClient sub = new MqttClient(server.tcpUri(), "paho-sub-" + version, new MemoryPersistence());
        MqttClient pub = new MqttClient(server.tcpUri(), "paho-pub-" + version, new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(version);
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        sub.setCallback(collect(got));
        sub.connect(o);
        pub.connect(o);
        sub.subscribe("x/#", 1);
        pub.publish("x/y/z", bytes("hello"), 1, false);
        pub.publish("x", bytes("parent"), 0, false);
        // QoS 0 may overtake QoS 1 (MQTT orders the messages of one QoS on one topic only)
        assertEquals(java.util.Set.of("x/y/z hello 1", "x parent 0"),
                java.util.Set.of(got.poll(10, TimeUnit.SECONDS), got.poll(10, TimeUnit.SECONDS)));
        pub.disconnect();
        sub.disconnect();
        pub.close();
        sub.close();
    }

    static MqttCallback collect(BlockingQueue<String> into) {
        return new MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
            }

            @Override
            public void messageArrived(String topic, MqttMessage message) {
                into.add(topic + " " + new String(message.getPayload(), StandardCharsets.UTF_8) + " " + message.getQos());
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {
            }
        };
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

}
