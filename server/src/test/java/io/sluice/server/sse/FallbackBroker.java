package io.sluice.server.sse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.server.Sluice;
import io.sluice.server.SluiceBuilder;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.UnaryOperator;

/** A real broker on loopback ephemeral ports, with the HTTP calls the fallback tests make. */
final class FallbackBroker implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration WAIT = Duration.ofSeconds(10);

    final Sluice sluice;

    FallbackBroker(UnaryOperator<SluiceBuilder> settings) {
        this.sluice = settings.apply(Sluice.builder()).start();
    }

    FallbackBroker() {
        this(b -> b);
    }

    String http(String pathAndQuery) {
        return "http://127.0.0.1:" + sluice.port("http") + pathAndQuery;
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    SseClient sse(String filter, String lastEventId) throws Exception {
        return SseClient.open(http("/sse?filter=" + enc(filter)), lastEventId);
    }

    HttpResponse<String> publish(String topic, int qos, String body) throws Exception {
        return publish(topic, qos, false, body.getBytes(StandardCharsets.UTF_8), null);
    }

    HttpResponse<String> publish(String topic, int qos, boolean retain, byte[] body, String contentType)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(http("/publish?topic=" + enc(topic) + "&qos=" + qos
                + "&retain=" + retain))).timeout(WAIT).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return SseClient.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String pathAndQuery) throws Exception {
        return SseClient.HTTP.send(HttpRequest.newBuilder(URI.create(http(pathAndQuery))).timeout(WAIT).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** GET /poll; {@code since} null for a first poll. */
    JsonNode poll(String filter, String since) throws Exception {
        HttpResponse<String> r = get("/poll?filter=" + enc(filter) + (since == null ? "" : "&since=" + enc(since)));
        if (r.statusCode() != 200) {
            throw new AssertionError("poll answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    MqttClient mqtt(String clientId) throws Exception {
        MqttClient c = new MqttClient("tcp://127.0.0.1:" + sluice.port("mqtt"), clientId, new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(true);
        o.setConnectionTimeout(10);
        c.connect(o);
        return c;
    }

    static JsonNode json(SseClient.Event e) throws Exception {
        return JSON.readTree(e.data());
    }

    @Override
    public void close() {
        sluice.close();
    }
}
