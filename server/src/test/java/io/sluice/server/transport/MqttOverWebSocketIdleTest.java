package io.sluice.server.transport;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real MQTT clients over WebSocket stay connected across many WebSocket ping intervals and idle timeouts with no
 * traffic of their own: MQTT connections are watched by MQTT keep-alive, not by WebSocket Pings, which Paho's
 * Java WebSocket transport cannot take.
 */
class MqttOverWebSocketIdleTest {
    private SluiceServer server;

    @BeforeEach
    void start() {
        server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1")
                .with(Settings.MQTT_PORT, -1).with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, -1)
                .with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.WS_PING_INTERVAL, 500L).with(Settings.WS_IDLE_TIMEOUT, 2_000L));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void pahoAndHivemqOverWebSocketStayConnectedWhileIdle() throws Exception {
        MqttClient paho = new MqttClient("ws://127.0.0.1:" + server.port("http") + "/mqtt", "paho-ws",
                new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setKeepAliveInterval(600);
        paho.connect(o);
        Mqtt5BlockingClient hive = Mqtt5Client.builder().identifier("hive-ws").serverHost("127.0.0.1")
                .serverPort(server.port("http")).webSocketConfig().serverPath("mqtt").applyWebSocketConfig()
                .buildBlocking();
        hive.connectWith().keepAlive(600).send();
        try (Mqtt5BlockingClient.Mqtt5Publishes inbox = hive.publishes(MqttGlobalPublishFilter.ALL)) {
            hive.subscribeWith().topicFilter("ping/#").qos(MqttQos.AT_LEAST_ONCE).send();
            // three idle timeouts with nothing but the server's pings and the clients' pongs
            Thread.sleep(6_000);
            assertTrue(paho.isConnected(), "Paho was disconnected while idle over WebSocket");
            assertTrue(hive.getState().isConnected(), "HiveMQ was disconnected while idle over WebSocket");
            paho.publish("ping/after", "still here".getBytes(), 1, false);
            assertEquals("still here", new String(inbox.receive(10, TimeUnit.SECONDS).orElseThrow()
                    .getPayloadAsBytes()));
        } finally {
            paho.disconnect(5_000);
            paho.close();
            hive.disconnect();
        }
    }
}
