package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3BlockingClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The main MQTT flows over WebSocket ({@code ws://.../mqtt}, subprotocol "mqtt", MQTT 5 section 6), and mixed
 * with TCP clients on the same topics: HiveMQ's WebSocket transport, Paho v3 and v5 over ws://.
 */
class MqttWebSocketTest {
    private MqttTestServer server;

    @BeforeEach
    void start() {
        server = new MqttTestServer();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private Mqtt5BlockingClient ws5(String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.httpPort())
                .webSocketConfig().serverPath("mqtt").applyWebSocketConfig().buildBlocking();
    }

    private Mqtt5BlockingClient tcp5(String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.port()).buildBlocking();
    }

    private Mqtt3BlockingClient ws3(String id) {
        return Mqtt3Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.httpPort())
                .webSocketConfig().serverPath("mqtt").applyWebSocketConfig().buildBlocking();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void mqtt5OverWebSocketAllQosWithProperties() throws Exception {
        Mqtt5BlockingClient sub = ws5("ws-sub");
        Mqtt5BlockingClient pub = ws5("ws-pub");
        sub.connect();
        pub.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("ws/#").qos(MqttQos.EXACTLY_ONCE).send();
            for (MqttQos qos : MqttQos.values()) {
                pub.publishWith().topic("ws/" + qos.getCode()).qos(qos).payload(bytes("q" + qos.getCode()))
                        .userProperties().add("x", "1").add("y", "2").applyUserProperties()
                        .correlationData(bytes("c")).responseTopic("ws/reply").send();
            }
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < 3; i++) {
                Mqtt5Publish p = got.receive(10, TimeUnit.SECONDS).orElseThrow();
                seen.add(p.getTopic() + "@" + p.getQos().getCode());
                assertEquals(List.of("x", "y"), p.getUserProperties().asList().stream()
                        .map(u -> u.getName().toString()).toList());
                assertEquals("ws/reply", p.getResponseTopic().orElseThrow().toString());
            }
            assertEquals(Set.of("ws/0@0", "ws/1@1", "ws/2@2"), seen);
        }
        sub.disconnect();
        pub.disconnect();
    }

    @Test
    void webSocketAndTcpClientsShareTopicsAcrossVersions() throws Exception {
        Mqtt3BlockingClient wsOld = ws3("ws-311");
        Mqtt5BlockingClient tcpNew = tcp5("tcp-5");
        wsOld.connect();
        tcpNew.connect();
        try (Mqtt3BlockingClient.Mqtt3Publishes toWs = wsOld.publishes(MqttGlobalPublishFilter.ALL);
             Mqtt5BlockingClient.Mqtt5Publishes toTcp = tcpNew.publishes(MqttGlobalPublishFilter.ALL)) {
            wsOld.subscribeWith().topicFilter("mixed/tcp").qos(MqttQos.AT_LEAST_ONCE).send();
            tcpNew.subscribeWith().topicFilter("mixed/ws").qos(MqttQos.AT_LEAST_ONCE).send();
            tcpNew.publishWith().topic("mixed/tcp").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("from tcp")).send();
            wsOld.publishWith().topic("mixed/ws").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("from ws")).send();
            assertEquals("from tcp", new String(toWs.receive(10, TimeUnit.SECONDS).orElseThrow().getPayloadAsBytes(),
                    StandardCharsets.UTF_8));
            assertEquals("from ws", new String(toTcp.receive(10, TimeUnit.SECONDS).orElseThrow().getPayloadAsBytes(),
                    StandardCharsets.UTF_8));
        }
        wsOld.disconnect();
        tcpNew.disconnect();
    }

    @Test
    void pahoV3AndV5OverWebSocket() throws Exception {
        org.eclipse.paho.client.mqttv3.MqttClient v3 = new org.eclipse.paho.client.mqttv3.MqttClient(server.wsUri(),
                "paho3-ws", new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        v3.setCallback(MqttFlowsTest.collect(got));
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        v3.connect(o);
        v3.subscribe("paho/#", 2);
        org.eclipse.paho.mqttv5.client.MqttClient v5 = new org.eclipse.paho.mqttv5.client.MqttClient(server.wsUri(),
                "paho5-ws", new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
        v5.connect(new MqttConnectionOptions());
        v5.publish("paho/a", bytes("over ws"), 2, false);
        assertEquals("paho/a over ws 2", got.poll(10, TimeUnit.SECONDS));
        v5.disconnect();
        v5.close();
        v3.disconnect();
        v3.close();
    }

    @Test
    void takeoverAcrossTransports() throws Exception { // MQTT 5 section 3.1.4: 0x8E to the old connection
        Mqtt5BlockingClient overWs = ws5("roamer");
        overWs.connect();
        Mqtt5BlockingClient overTcp = tcp5("roamer");
        overTcp.connect();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (overWs.getState().isConnected() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertFalse(overWs.getState().isConnected());
        assertTrue(overTcp.getState().isConnected());
        overTcp.disconnect();
    }

    @Test
    void persistentSessionResumesOverWebSocket() throws Exception { // MQTT 5 section 3.1.2.4
        Mqtt5BlockingClient sub = ws5("ws-persist");
        sub.connectWith().cleanStart(true).sessionExpiryInterval(300).send();
        sub.subscribeWith().topicFilter("wsp/#").qos(MqttQos.AT_LEAST_ONCE).send();
        sub.disconnect();
        Mqtt5BlockingClient pub = tcp5("wsp-pub");
        pub.connect();
        for (int i = 0; i < 3; i++) {
            pub.publishWith().topic("wsp/" + i).qos(MqttQos.AT_LEAST_ONCE).payload(bytes("q" + i)).send();
        }
        try (Mqtt5BlockingClient.Mqtt5Publishes got = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            Mqtt5ConnAck ack = sub.connectWith().cleanStart(false).sessionExpiryInterval(300).send();
            assertTrue(ack.isSessionPresent());
            for (int i = 0; i < 3; i++) {
                assertEquals("wsp/" + i, got.receive(10, TimeUnit.SECONDS).orElseThrow().getTopic().toString());
            }
        }
        sub.disconnect();
        pub.disconnect();
    }

    @Test
    void sharedSubscriptionAndTopicAliasesOverWebSocket() throws Exception { // MQTT 5 sections 4.8.2, 3.3.2.3.4
        Mqtt5BlockingClient a = ws5("ws-share-a");
        a.connectWith().restrictions().topicAliasMaximum(4).applyRestrictions().send();
        Mqtt5BlockingClient b = ws5("ws-share-b");
        b.connect();
        Mqtt5BlockingClient pub = ws5("ws-share-pub");
        pub.connect();
        int n = 10;
        int total = 0;
        try (Mqtt5BlockingClient.Mqtt5Publishes gotA = a.publishes(MqttGlobalPublishFilter.ALL);
             Mqtt5BlockingClient.Mqtt5Publishes gotB = b.publishes(MqttGlobalPublishFilter.ALL)) {
            a.subscribeWith().topicFilter("$share/g/wss/#").qos(MqttQos.AT_LEAST_ONCE).send();
            b.subscribeWith().topicFilter("$share/g/wss/#").qos(MqttQos.AT_LEAST_ONCE).send();
            for (int i = 0; i < n; i++) {
                pub.publishWith().topic("wss/same").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("m" + i)).send();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (total < n && System.nanoTime() < deadline) {
                var p = gotA.receive(20, TimeUnit.MILLISECONDS);
                if (p.isPresent()) {
                    assertEquals("wss/same", p.get().getTopic().toString(), "aliased topics resolve on the client");
                    total++;
                }
                if (gotB.receive(20, TimeUnit.MILLISECONDS).isPresent()) {
                    total++;
                }
            }
        }
        assertEquals(n, total);
        a.disconnect();
        b.disconnect();
        pub.disconnect();
    }

    @Test
    void willOverWebSocketOnAbnormalLoss() throws Exception { // MQTT 5 section 3.1.2.5
        Mqtt5BlockingClient watcher = tcp5("ws-will-watch");
        watcher.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes got = watcher.publishes(MqttGlobalPublishFilter.ALL)) {
            watcher.subscribeWith().topicFilter("wswill/#").send();
            org.eclipse.paho.client.mqttv3.MqttClient dying = new org.eclipse.paho.client.mqttv3.MqttClient(
                    server.wsUri(), "ws-dying", new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
            MqttConnectOptions o = new MqttConnectOptions();
            o.setWill("wswill/dying", bytes("lost"), 1, false);
            dying.connect(o);
            dying.disconnectForcibly(0, 0, false); // closes the socket without DISCONNECT
            assertEquals("wswill/dying", got.receive(10, TimeUnit.SECONDS).orElseThrow().getTopic().toString());
            dying.close();
        }
        watcher.disconnect();
    }

    @Test
    void mqtt31OverWebSocketWithItsOwnSubprotocol() throws Exception { // subprotocol "mqttv3.1"
        org.eclipse.paho.client.mqttv3.MqttClient old = new org.eclipse.paho.client.mqttv3.MqttClient(server.wsUri(),
                "paho31-ws", new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        old.setCallback(MqttFlowsTest.collect(got));
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1);
        old.connect(o);
        old.subscribe("v31/#", 1);
        Mqtt5BlockingClient pub = tcp5("v31-pub");
        pub.connect();
        pub.publishWith().topic("v31/x").qos(MqttQos.AT_LEAST_ONCE).payload(bytes("to 3.1")).send();
        assertEquals("v31/x to 3.1 1", got.poll(10, TimeUnit.SECONDS));
        pub.disconnect();
        old.disconnect();
        old.close();
    }
}
