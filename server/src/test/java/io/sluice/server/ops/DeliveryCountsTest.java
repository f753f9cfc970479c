package io.sluice.server.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3BlockingClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The counts of what was written to subscribers, against what real clients received: the MQTT adapter reports
 * a flush's deliveries in one event (per QoS, with their bytes), so bursts of mixed QoS 0 and 1, which the
 * broker hands over many to a drain with QoS 0 first, must still add up exactly in {@code /metrics} and in the
 * admin API's per-connection count.
 */
class DeliveryCountsTest {
    private static final int MESSAGES = 300;
    private static final ObjectMapper JSON = new ObjectMapper();
    private SluiceServer server;

    @BeforeEach
    void start() {
        server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, 0).with(Settings.SYS_INTERVAL, 0L));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void everyMessageWrittenInABurstIsCountedOnce() throws Exception {
        int http = server.port("http");
        Mqtt5BlockingClient overWs = Mqtt5Client.builder().identifier("count-ws").serverHost("127.0.0.1")
                .serverPort(http).webSocketConfig().serverPath("mqtt").applyWebSocketConfig().buildBlocking();
        Mqtt3BlockingClient overTcp = Mqtt3Client.builder().identifier("count-tcp").serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).buildBlocking();
        Mqtt5BlockingClient pub = Mqtt5Client.builder().identifier("count-pub").serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).buildBlocking();
        overWs.connect();
        overTcp.connect();
        pub.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes wsReceived = overWs.publishes(MqttGlobalPublishFilter.ALL);
             Mqtt3BlockingClient.Mqtt3Publishes tcpReceived = overTcp.publishes(MqttGlobalPublishFilter.ALL)) {
            overWs.subscribeWith().topicFilter("count/#").qos(MqttQos.AT_LEAST_ONCE).send();
            overTcp.subscribeWith().topicFilter("count/#").qos(MqttQos.AT_LEAST_ONCE).send();

            // sent without waiting for each acknowledgement, so the subscribers' drains carry several at once
            Mqtt5AsyncClient async = pub.toAsync();
            List<CompletableFuture<?>> sent = new ArrayList<>();
            int qos0 = 0;
            int qos1 = 0;
            long bytes = 0;
            for (int i = 0; i < MESSAGES; i++) {
                boolean reliable = i % 3 != 0;
                int size = 1 + i % 50;
                sent.add(async.publishWith().topic("count/" + (i % 7)).payload(new byte[size])
                        .qos(reliable ? MqttQos.AT_LEAST_ONCE : MqttQos.AT_MOST_ONCE).send());
                if (reliable) {
                    qos1++;
                } else {
                    qos0++;
                }
                bytes += size;
            }
            // taken as they come: a subscriber that does not take its messages holds the publisher (backpressure)
            for (int i = 0; i < MESSAGES; i++) {
                assertTrue(wsReceived.receive(20, TimeUnit.SECONDS).isPresent(), "WebSocket delivery " + i);
                assertTrue(tcpReceived.receive(20, TimeUnit.SECONDS).isPresent(), "TCP delivery " + i);
            }
            CompletableFuture.allOf(sent.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);

            Scrape.awaitValue(() -> scrape(http, "sluice_messages_sent_total", "protocol", "mqtt", "qos", "0"), 2.0 * qos0);
            Scrape.awaitValue(() -> scrape(http, "sluice_messages_sent_total", "protocol", "mqtt", "qos", "1"), 2.0 * qos1);
            Scrape.awaitValue(() -> scrape(http, "sluice_sent_bytes_total", "protocol", "mqtt"), 2.0 * bytes);
            Scrape.awaitValue(() -> scrape(http, "sluice_delivered_bytes_total"), 2.0 * bytes);
            Scrape.awaitValue(() -> messagesOut(http, "count-ws"), MESSAGES);
            Scrape.awaitValue(() -> messagesOut(http, "count-tcp"), MESSAGES);
            Scrape.awaitValue(() -> messagesOut(http, "count-pub"), 0);
        } finally {
            pub.disconnect();
            overWs.disconnect();
            overTcp.disconnect();
        }
    }

    private static double scrape(int http, String family, String... labels) {
        try {
            return Scrape.of(http).value(family, labels);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** The admin API's count of messages written to the connection of {@code clientId}. */
    private static double messagesOut(int http, String clientId) {
        try {
            var r = Scrape.get(http, "/api/v1/connections?clientId=" + clientId);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode item = JSON.readTree(r.body()).path("items").get(0);
            return item.path("messagesOut").asDouble();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
