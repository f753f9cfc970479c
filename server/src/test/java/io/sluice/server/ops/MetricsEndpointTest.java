package io.sluice.server.ops;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.sluice.server.config.Settings;
import org.hawkular.agent.prometheus.types.Histogram;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code GET /metrics} parsed as Prometheus text, before and after real MQTT traffic. */
class MetricsEndpointTest {
    private OpsTestServer server;

    @BeforeEach
    void start() {
        server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /**
     * With --metrics-at-start false (the embedded default) no registry exists until the first scrape, yet what
     * happened before it is counted: the connection, its messages and their bytes.
     */
    @Test
    void aRegistryBuiltOnTheFirstScrapeCountsWhatCameBefore() throws Exception {
        try (OpsTestServer lazy = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.METRICS_AT_START, false))) {
            Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("lazy-metrics").serverHost("127.0.0.1")
                    .serverPort(lazy.mqttPort()).buildBlocking();
            c.connect();
            c.publishWith().topic("lazy/t").payload(new byte[12]).qos(MqttQos.AT_LEAST_ONCE).send();
            assertFalse(lazy.ops.metrics().built(), "no registry before anyone asks for metrics");

            Scrape first = Scrape.of(lazy.httpPort());
            assertTrue(lazy.ops.metrics().built());
            assertEquals(1.0, first.value("sluice_connects_total", "protocol", "mqtt", "transport", "tcp"));
            assertEquals(1.0, first.value("sluice_connections", "protocol", "mqtt", "transport", "tcp"));
            assertEquals(1.0, first.value("sluice_messages_received_total", "protocol", "mqtt", "qos", "1"));
            assertEquals(12.0, first.value("sluice_received_bytes_total", "protocol", "mqtt", "qos", "1"));
            assertTrue(first.has("jvm_memory_used_bytes"), "the JVM's meters join at the build");
            c.disconnect();
        }
    }

    @Test
    void countersMoveAsTrafficFlows() throws Exception {
        Scrape before = Scrape.of(server.httpPort());
        assertEquals(0.0, before.value("sluice_connects_total"));
        assertEquals(0.0, before.value("sluice_messages_published_total"));
        assertTrue(before.has("sluice_messages_dropped_total"), "drop reasons are exported before any drop");
        assertTrue(before.has("jvm_memory_used_bytes"), "process memory is exported");

        Mqtt5BlockingClient sub = client("metrics-sub");
        Mqtt5BlockingClient pub = client("metrics-pub");
        sub.connect();
        pub.connect();
        try (Mqtt5BlockingClient.Mqtt5Publishes received = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("m/#").qos(MqttQos.AT_LEAST_ONCE).send();
            for (int i = 0; i < 5; i++) {
                pub.publishWith().topic("m/" + i).payload(new byte[10]).qos(MqttQos.AT_LEAST_ONCE).send();
            }
            pub.publishWith().topic("m/r").payload(new byte[7]).qos(MqttQos.AT_MOST_ONCE).retain(true).send();
            for (int i = 0; i < 6; i++) {
                assertTrue(received.receive(10, TimeUnit.SECONDS).isPresent(), "delivery " + i);
            }
        }

        Scrape after = Scrape.of(server.httpPort());
        assertEquals(2.0, after.value("sluice_connects_total", "protocol", "mqtt", "transport", "tcp"));
        assertEquals(2.0, after.value("sluice_connections", "protocol", "mqtt", "transport", "tcp"));
        assertEquals(5.0, after.value("sluice_messages_received_total", "protocol", "mqtt", "qos", "1"));
        assertEquals(1.0, after.value("sluice_messages_received_total", "protocol", "mqtt", "qos", "0"));
        assertEquals(57.0, after.value("sluice_received_bytes_total", "protocol", "mqtt"));
        assertEquals(6.0, after.value("sluice_messages_published_total"));
        assertEquals(57.0, after.value("sluice_published_bytes_total"));
        assertEquals(6.0, after.value("sluice_messages_delivered_total"));
        assertEquals(1.0, after.value("sluice_subscriptions"));
        assertEquals(1.0, after.value("sluice_retained_messages"));
        assertEquals(2.0, after.value("sluice_sessions", "state", "online"));
        assertEquals(2.0, after.value("sluice_sessions_by_queue_depth", "le", "0"), "nothing left queued");
        Histogram latency = after.histogram("sluice_delivery_latency_seconds");
        assertEquals(6, latency.getSampleCount(), "one latency sample per first delivery");
        assertTrue(latency.getBuckets().size() >= 10, "latency buckets exported");
        // sent counts move when the subscriber's connection writes: eventually all 6
        Scrape.awaitValue(() -> scrapeValue("sluice_messages_sent_total", "protocol", "mqtt"), 6.0);

        pub.disconnect();
        Scrape.awaitValue(() -> scrapeValue("sluice_disconnects_total", "reason", "client_disconnect"), 1.0);
        assertEquals(1.0, Scrape.of(server.httpPort()).value("sluice_connections", "protocol", "mqtt"));
        sub.disconnect();
    }

    @Test
    void connectionsAreLabelledByProtocolAndTransport() throws Exception {
        Mqtt5BlockingClient tcp = client("over-tcp");
        Mqtt5BlockingClient ws = Mqtt5Client.builder().identifier("over-ws").serverHost("127.0.0.1")
                .serverPort(server.httpPort()).webSocketConfig().serverPath("mqtt").applyWebSocketConfig()
                .buildBlocking();
        tcp.connect();
        ws.connect();
        try (java.net.Socket stomp = new java.net.Socket("127.0.0.1", server.stompPort())) {
            stomp.setSoTimeout(20_000);
            stomp.getOutputStream().write("CONNECT\naccept-version:1.2\nhost:sluice\n\n\0"
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertEquals('C', stomp.getInputStream().read(), "CONNECTED");
            Scrape s = Scrape.of(server.httpPort());
            assertEquals(1.0, s.value("sluice_connections", "protocol", "mqtt", "transport", "tcp"));
            assertEquals(1.0, s.value("sluice_connections", "protocol", "mqtt", "transport", "ws"));
            assertEquals(1.0, s.value("sluice_connections", "protocol", "stomp", "transport", "tcp"));
            assertTrue(s.value("sluice_sockets") >= 4.0, "3 clients and the scrape's own connection");
        }
        tcp.disconnect();
        ws.disconnect();
        Scrape.awaitValue(() -> scrapeValue("sluice_connections"), 0.0);
        assertEquals(3.0, Scrape.of(server.httpPort()).value("sluice_disconnects_total"));
    }

    @Test
    void aPrometheusServerGetsOpenMetrics() throws Exception {
        // the Accept header Prometheus itself sends
        java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + server.httpPort() + "/metrics"))
                        .header("Accept", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                                + "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1").build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/openmetrics-text"));
        assertTrue(r.body().endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
        assertTrue(r.body().contains("sluice_connects_total") || r.body().contains("# TYPE sluice_connects counter")
                || r.body().contains("sluice_messages_published"), "sluice metrics present");
    }

    @Test
    void healthAndReadiness() throws Exception {
        assertEquals(200, Scrape.get(server.httpPort(), "/healthz").statusCode());
        assertEquals(200, Scrape.get(server.httpPort(), "/readyz").statusCode());
        assertEquals(404, Scrape.get(server.httpPort(), "/nothing-here").statusCode());
    }

    private double scrapeValue(String family, String... labels) {
        try {
            return Scrape.of(server.httpPort()).value(family, labels);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private Mqtt5BlockingClient client(String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.mqttPort()).buildBlocking();
    }
}
