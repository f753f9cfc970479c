package io.sluice.server;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3BlockingClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import com.hivemq.client.mqtt.mqtt3.message.publish.Mqtt3Publish;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The standard broker ({@link SluiceServer#start(Settings)}: the real MQTT and STOMP modules) through its real
 * listeners: the HiveMQ client over ws://…/mqtt and TCP on one topic, a STOMP client over WebSocket, and an MQTT
 * CONNECT recognised from its bytes on a path that names no protocol.
 */
class EndToEndWebSocketTest {
    private static SluiceServer server;

    @BeforeAll
    static void start() {
        server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1")
                .with(Settings.MQTT_PORT, 0).with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, 0));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void hivemqOverWebSocketAndTcpShareTopics() throws Exception {
        Mqtt5BlockingClient ws5 = Mqtt5Client.builder().identifier("ws5").serverHost("127.0.0.1")
                .serverPort(server.port("http")).webSocketConfig().serverPath("mqtt").applyWebSocketConfig()
                .buildBlocking();
        Mqtt3BlockingClient ws3 = Mqtt3Client.builder().identifier("ws3").serverHost("127.0.0.1")
                .serverPort(server.port("http")).webSocketConfig().serverPath("mqtt").applyWebSocketConfig()
                .buildBlocking();
        Mqtt5BlockingClient tcp = Mqtt5Client.builder().identifier("tcp5").serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).buildBlocking();
        ws5.connect();
        ws3.connect();
        tcp.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes at5 = ws5.publishes(MqttGlobalPublishFilter.ALL);
             Mqtt3BlockingClient.Mqtt3Publishes at3 = ws3.publishes(MqttGlobalPublishFilter.ALL)) {
            ws5.subscribeWith().topicFilter("e2e/#").qos(MqttQos.AT_LEAST_ONCE).send();
            ws3.subscribeWith().topicFilter("e2e/+").qos(MqttQos.AT_LEAST_ONCE).send();
            byte[] big = new byte[200_000]; // several WebSocket frames' worth for most clients
            tcp.publishWith().topic("e2e/one").payload(big).qos(MqttQos.AT_LEAST_ONCE).send();
            tcp.publishWith().topic("e2e/two").payload("small".getBytes(StandardCharsets.UTF_8))
                    .qos(MqttQos.AT_LEAST_ONCE).send();
            Mqtt5Publish p1 = at5.receive(20, TimeUnit.SECONDS).orElseThrow();
            Mqtt5Publish p2 = at5.receive(20, TimeUnit.SECONDS).orElseThrow();
            assertEquals("e2e/one", p1.getTopic().toString());
            assertEquals(big.length, p1.getPayloadAsBytes().length);
            assertEquals("small", new String(p2.getPayloadAsBytes(), StandardCharsets.UTF_8));
            Mqtt3Publish q1 = at3.receive(20, TimeUnit.SECONDS).orElseThrow();
            Mqtt3Publish q2 = at3.receive(20, TimeUnit.SECONDS).orElseThrow();
            assertEquals("e2e/one", q1.getTopic().toString());
            assertEquals("e2e/two", q2.getTopic().toString());
        }
        ws5.disconnect();
        ws3.disconnect();
        tcp.disconnect();
    }

    @Test
    void stompOverWebSocketIsAnsweredInText() throws Exception {
        BlockingQueue<String> frames = new LinkedBlockingQueue<>();
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().subprotocols("v12.stomp")
                .buildAsync(URI.create("ws://127.0.0.1:" + server.port("http") + "/"), new WebSocket.Listener() {
                    private final StringBuilder text = new StringBuilder();

                    @Override
                    public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                        text.append(data);
                        if (last) {
                            frames.add(text.toString());
                            text.setLength(0);
                        }
                        w.request(1);
                        return null;
                    }
                }).get(20, TimeUnit.SECONDS);
        try {
            assertEquals("v12.stomp", ws.getSubprotocol());
            ws.sendText("CONNECT\naccept-version:1.2\nhost:sluice\n\n\0", true).join();
            String connected = frames.poll(20, TimeUnit.SECONDS);
            assertNotNull(connected, "no CONNECTED");
            assertTrue(connected.startsWith("CONNECTED\n"), connected);
            assertTrue(connected.contains("version:1.2"), connected);
            ws.sendText("SUBSCRIBE\nid:0\ndestination:/topic/e2e/stomp\nreceipt:r1\n\n\0", true).join();
            String receipt = frames.poll(20, TimeUnit.SECONDS);
            assertNotNull(receipt, "no RECEIPT");
            assertTrue(receipt.startsWith("RECEIPT\n"), receipt);
            Mqtt5BlockingClient tcp = Mqtt5Client.builder().identifier("to-stomp").serverHost("127.0.0.1")
                    .serverPort(server.port("mqtt")).buildBlocking();
            tcp.connect();
            tcp.publishWith().topic("e2e/stomp").payload("hello stomp".getBytes(StandardCharsets.UTF_8)).send();
            tcp.disconnect();
            // one STOMP frame per WebSocket message, whole: command, headers, body, NUL
            String message = frames.poll(20, TimeUnit.SECONDS);
            assertNotNull(message, "no MESSAGE");
            assertTrue(message.startsWith("MESSAGE\n"), message);
            assertTrue(message.endsWith("\n\nhello stomp\0"), message);
        } finally {
            ws.abort();
        }
    }

    @Test
    void anMqttConnectIsRecognisedOnAPathThatNamesNoProtocol() throws Exception {
        BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + server.port("http") + "/broker"), new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
                        byte[] b = new byte[data.remaining()];
                        data.get(b);
                        received.add(b);
                        w.request(1);
                        return null;
                    }
                }).get(20, TimeUnit.SECONDS);
        try {
            // MQTT 3.1.1 CONNECT, clean session, keep-alive 60, client id "sniffed", sent in two frames
            byte[] connect = {0x10, 19, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 7, 's', 'n', 'i', 'f', 'f', 'e', 'd'};
            ws.sendBinary(ByteBuffer.wrap(connect, 0, 3), true).join();
            ws.sendBinary(ByteBuffer.wrap(connect, 3, connect.length - 3), true).join();
            byte[] connack = received.poll(20, TimeUnit.SECONDS);
            assertNotNull(connack, "no CONNACK");
            assertEquals(4, connack.length);
            assertEquals(0x20, connack[0]);
            assertEquals(0, connack[3], "return code");
        } finally {
            ws.abort();
        }
    }
}
