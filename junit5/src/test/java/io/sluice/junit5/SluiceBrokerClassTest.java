package io.sluice.junit5;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import io.sluice.server.Sluice;
import io.sluice.server.SluiceUrls;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One broker per class, its settings from the annotation, its URLs injected where real clients need them. */
@SluiceBroker(strict = true, settings = {"mqtt-maximum-qos=1", "mqtt-topic-alias-maximum = 5"})
class SluiceBrokerClassTest {
    private static Sluice classBroker;

    @BeforeAll
    static void capture(Sluice broker) {
        classBroker = broker;
    }

    @Test
    void hivemqGetsTheAnnotationsSettingsInItsConnack(SluiceUrls urls, Sluice broker) {
        assertSame(classBroker, broker, "one broker for the class");
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("hive-class").serverHost(urls.host())
                .serverPort(urls.mqttPort()).buildBlocking();
        Mqtt5ConnAck ack = c.connect();
        assertEquals(MqttQos.AT_LEAST_ONCE, ack.getRestrictions().getMaximumQos());
        assertEquals(5, ack.getRestrictions().getTopicAliasMaximum());
        c.disconnect();
    }

    @Test
    void pahoTakesTheTcpAndWsUrlsAsTheyAre(@SluiceUrl(SluiceUrl.Kind.TCP) String tcp,
                                           @SluiceUrl(SluiceUrl.Kind.WS) URI ws, Sluice broker) throws Exception {
        assertSame(classBroker, broker);
        assertTrue(tcp.startsWith("tcp://127.0.0.1:"), tcp);
        assertEquals("/mqtt", ws.getPath());
        for (String url : new String[] {tcp, ws.toString()}) {
            MqttClient paho = new MqttClient(url, "paho-class", new MemoryPersistence());
            MqttConnectOptions o = new MqttConnectOptions();
            o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
            paho.connect(o);
            paho.publish("class/t", new byte[] {1}, 1, false);
            paho.disconnect();
            paho.close();
        }
    }

    @Test
    void anSseReaderGetsWhatHivemqPublishes(@SluiceUrl(SluiceUrl.Kind.SSE) String sse, SluiceUrls urls) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.http.HttpResponse<java.util.stream.Stream<String>> stream = http.send(java.net.http.HttpRequest
                        .newBuilder(URI.create(sse + "?filter=sse%2F%23")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, stream.statusCode());
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("hive-sse").serverHost(urls.host())
                .serverPort(urls.mqttPort()).buildBlocking();
        c.connect();
        java.util.concurrent.CompletableFuture<String> line = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> stream.body().filter(l -> l.contains("sse/t")).findFirst().orElse(""));
        c.publishWith().topic("sse/t").payload("over http".getBytes()).qos(MqttQos.AT_LEAST_ONCE).send();
        String data = line.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertTrue(data.contains("\"payload\":\"over http\""), data);
        c.disconnect();
    }

    @Test
    @SluiceBroker(settings = "mqtt-maximum-qos=0")
    void aMethodsOwnBrokerWinsOverTheClasss(Sluice broker, @SluiceUrl(SluiceUrl.Kind.STOMP_WS) String stompWs) {
        assertNotSame(classBroker, broker);
        assertEquals(0, broker.settings().get(io.sluice.server.config.Settings.MQTT_MAXIMUM_QOS));
        assertEquals(broker.urls().stompWs(), stompWs);
    }
}
