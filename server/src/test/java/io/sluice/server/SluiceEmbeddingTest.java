package io.sluice.server;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import io.sluice.server.config.Settings;
import io.sluice.server.config.SettingsException;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The embedding API with real clients: ephemeral ports, URLs the clients take as they are, settings, close. */
class SluiceEmbeddingTest {
    @Test
    void twoBrokersSideBySideOnEphemeralPortsServeRealClients() throws Exception {
        try (Sluice a = Sluice.start(); Sluice b = Sluice.start()) {
            assertNotEquals(a.urls().mqtt(), b.urls().mqtt());
            assertTrue(a.urls().mqtt().startsWith("tcp://127.0.0.1:"), a.urls().mqtt());
            assertEquals("ws://127.0.0.1:" + a.port("http") + "/mqtt", a.urls().mqttWs());
            assertEquals("ws://127.0.0.1:" + a.port("http") + "/stomp", a.urls().stompWs());
            assertEquals("tcp://127.0.0.1:" + a.port("stomp"), a.urls().stomp());

            // HiveMQ over TCP subscribes on a; Paho over WebSocket publishes to a, and to b, which must not leak to a
            Mqtt5BlockingClient sub = Mqtt5Client.builder().identifier("sub").serverHost(a.urls().host())
                    .serverPort(a.urls().mqttPort()).buildBlocking();
            sub.connect();
            try (Mqtt5BlockingClient.Mqtt5Publishes received = sub.publishes(MqttGlobalPublishFilter.ALL)) {
                sub.subscribeWith().topicFilter("t/#").qos(MqttQos.AT_LEAST_ONCE).send();
                publishWithPaho(b.urls().mqttWs(), "t/b", "to b");
                publishWithPaho(a.urls().mqttWs(), "t/a", "to a");
                var message = received.receive(10, TimeUnit.SECONDS).orElseThrow();
                assertEquals("t/a", message.getTopic().toString());
                assertEquals("to a", new String(message.getPayloadAsBytes(), StandardCharsets.UTF_8));
            }
            sub.disconnect();
        }
    }

    @Test
    void settingsTypedAndByNameReachTheBroker() {
        try (Sluice sluice = Sluice.builder()
                .set(Settings.MQTT_MAXIMUM_QOS, 1)
                .set("mqtt-retain-available", "false")
                .set(Settings.STOMP_PORT, -1)
                .start()) {
            assertNull(sluice.urls().stomp());
            assertEquals(-1, sluice.port("stomp"));
            Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("c").serverHost(sluice.urls().host())
                    .serverPort(sluice.urls().mqttPort()).buildBlocking();
            Mqtt5ConnAck ack = c.connect();
            assertEquals(MqttQos.AT_LEAST_ONCE, ack.getRestrictions().getMaximumQos());
            assertTrue(!ack.getRestrictions().isRetainAvailable());
            c.disconnect();
        }
    }

    /**
     * The builder's start-up defaults, seen in the broker's own log lines: NIO sockets unless native-transport
     * asks for epoll (which needs Netty's native library: Linux only), and no metrics registry until a scrape.
     */
    @Test
    void anEmbeddedBrokerStartsOnNioWithoutAMetricsRegistry() {
        try (Sluice sluice = Sluice.start()) {
            assertTrue(sluice.log().lines().stream().anyMatch(l -> l.contains("listening for mqtt on") && l.endsWith("(nio)")),
                    sluice.log().text());
            assertTrue(!sluice.server().operations().metrics().built(), "no registry before a scrape");
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(io.netty.channel.epoll.Epoll.isAvailable(), "epoll needs Linux");
        try (Sluice sluice = Sluice.builder().set(Settings.NATIVE_TRANSPORT, true).set(Settings.METRICS_AT_START, true)
                .start()) {
            assertTrue(sluice.log().lines().stream().anyMatch(l -> l.contains("listening for mqtt on") && l.endsWith("(epoll)")),
                    sluice.log().text());
            assertTrue(sluice.server().operations().metrics().built());
        }
    }

    @Test
    void aBadSettingFailsStartWithTheFlagsMessage() {
        SettingsException e = assertThrows(SettingsException.class,
                () -> Sluice.builder().set("mqtt-maximum-qos", "7").start());
        assertTrue(e.getMessage().contains("mqtt-maximum-qos"), e.getMessage());
        assertThrows(SettingsException.class, () -> Sluice.builder().set("no-such-setting", "1").start());
    }

    @Test
    void closeFreesThePortsAndIsIdempotent() throws Exception {
        Sluice sluice = Sluice.start();
        int port = sluice.urls().mqttPort();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        }
        sluice.close();
        sluice.close();
        assertThrows(ConnectException.class, () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            }
        });
    }

    private static void publishWithPaho(String url, String topic, String payload) throws Exception {
        MqttClient pub = new MqttClient(url, "paho-" + topic.replace('/', '-'), new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        pub.connect(o);
        pub.publish(topic, payload.getBytes(StandardCharsets.UTF_8), 1, false);
        pub.disconnect();
        pub.close();
    }
}
