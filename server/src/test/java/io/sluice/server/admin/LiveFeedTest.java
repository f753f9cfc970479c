package io.sluice.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The live feed streams a sample a second that moves with traffic, and a new reader gets the history first. */
class LiveFeedTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One server-sent event: its name and its data as JSON. */
    record Event(String name, JsonNode data) {
    }

    static Event next(BufferedReader in) throws Exception {
        String name = null;
        StringBuilder data = new StringBuilder();
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isEmpty()) {
                if (name != null) {
                    return new Event(name, JSON.readTree(data.toString()));
                }
                continue;
            }
            if (line.startsWith("event: ")) {
                name = line.substring(7);
            } else if (line.startsWith("data: ")) {
                data.append(line.substring(6));
            }
        }
        throw new AssertionError("the feed ended");
    }

    static BufferedReader open(int port) throws Exception {
        HttpResponse<InputStream> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/api/v1/feed")).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        return new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
    }

    @Test
    void samplesMoveWithTrafficAndANewReaderStartsWithHistory() throws Exception {
        try (SluiceServer server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1")
                .with(Settings.MQTT_PORT, 0).with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, -1)
                .with(Settings.SYS_INTERVAL, 0L)); BufferedReader feed = open(server.port("http"))) {
            Event first = next(feed);
            assertEquals("history", first.name());
            Mqtt5BlockingClient sub = Mqtt5Client.builder().identifier("feed-sub").serverHost("127.0.0.1")
                    .serverPort(server.port("mqtt")).buildBlocking();
            sub.connect();
            sub.subscribeWith().topicFilter("load/#").qos(MqttQos.AT_LEAST_ONCE).send();
            Mqtt5BlockingClient pub = Mqtt5Client.builder().identifier("feed-pub").serverHost("127.0.0.1")
                    .serverPort(server.port("mqtt")).buildBlocking();
            pub.connect();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            JsonNode moving = null;
            int sent = 0;
            while (moving == null && System.nanoTime() < deadline && sent < 5_000) {
                for (int i = 0; i < 50; i++, sent++) {
                    pub.publishWith().topic("load/" + (i % 5)).qos(MqttQos.AT_LEAST_ONCE).payload(new byte[16]).send();
                }
                Event e = next(feed);
                assertEquals("sample", e.name());
                if (e.data().path("messagesInPerSecond").asDouble() > 0
                        && e.data().path("messagesOutPerSecond").asDouble() > 0
                        && e.data().has("p99LatencyMillis")) {
                    moving = e.data();
                }
            }
            assertTrue(moving != null, "a sample with messages in and out and a p99 latency");
            assertEquals(2, moving.path("connections").path("mqtt").path("tcp").asLong());
            assertTrue(moving.path("p99LatencyMillis").asDouble() >= 0);

            try (BufferedReader late = open(server.port("http"))) {
                Event history = next(late);
                assertEquals("history", history.name());
                assertTrue(history.data().size() >= 1, history.data().toString());
                boolean sawTraffic = false;
                for (JsonNode s : history.data()) {
                    sawTraffic |= s.path("messagesInPerSecond").asDouble() > 0;
                }
                assertTrue(sawTraffic, "the history holds the seconds with traffic");
            }
            pub.disconnect();
            sub.disconnect();
        }
    }
}
