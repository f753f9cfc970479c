package io.sluice.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5DisconnectException;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The admin API against a real broker with real MQTT and STOMP clients: paging, filters, actions, contents. */
class AdminApiTest {
    private static final int MAX_PAGE = 10;
    private SluiceServer server;
    private AdminHttp api;
    private final List<Mqtt5BlockingClient> clients = new ArrayList<>();

    @BeforeEach
    void start() {
        server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, 0).with(Settings.ADMIN_MAX_PAGE, MAX_PAGE)
                .with(Settings.SYS_INTERVAL, 0L));
        api = new AdminHttp(server.port("http"));
    }

    @AfterEach
    void stop() {
        for (Mqtt5BlockingClient c : clients) {
            try {
                c.disconnect();
            } catch (RuntimeException e) {
                // already disconnected by the test
            }
        }
        server.close();
    }

    private Mqtt5BlockingClient mqtt(String id) {
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).buildBlocking();
        c.connect();
        clients.add(c);
        return c;
    }

    private Mqtt5BlockingClient mqttOverWebSocket(String id) {
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(server.port("http")).webSocketConfig().serverPath("mqtt").applyWebSocketConfig()
                .buildBlocking();
        c.connect();
        clients.add(c);
        return c;
    }

    private static Socket stomp(int port) throws Exception {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(20_000);
        s.getOutputStream().write("CONNECT\naccept-version:1.2\nhost:sluice\n\n\0".getBytes(StandardCharsets.UTF_8));
        InputStream in = s.getInputStream();
        assertEquals('C', in.read(), "CONNECTED");
        return s;
    }

    private static void await(String what, Supplier<Boolean> condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    private List<String> clientIds(String query) throws Exception {
        List<String> ids = new ArrayList<>();
        for (JsonNode c : api.ok("/api/v1/connections" + query).path("items")) {
            ids.add(c.path("clientId").asText());
        }
        return ids;
    }

    @Test
    void connectionsArePagedWithACursorEachOnceInConnectOrder() throws Exception {
        int n = 2 * MAX_PAGE + 3;
        for (int i = 0; i < n; i++) {
            mqtt(String.format("pager-%02d", i));
        }
        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            JsonNode page = api.ok("/api/v1/connections?limit=" + MAX_PAGE + (cursor == null ? "" : "&cursor=" + cursor));
            assertTrue(page.path("items").size() <= MAX_PAGE, "a page holds at most its limit");
            page.path("items").forEach(c -> seen.add(c.path("clientId").asText()));
            cursor = page.path("nextCursor").isMissingNode() ? null : page.path("nextCursor").asText();
            pages++;
        } while (cursor != null && pages < 10);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            expected.add(String.format("pager-%02d", i));
        }
        assertEquals(expected, seen, "every connection once, in the order they connected");
        assertEquals(3, pages);
    }

    @Test
    void aPageLargerThanTheLimitIsRefusedAndOneAtTheLimitServed() throws Exception {
        assertEquals(200, api.get("/api/v1/connections?limit=" + MAX_PAGE).status());
        AdminHttp.Answer tooMany = api.get("/api/v1/connections?limit=" + (MAX_PAGE + 1));
        assertEquals(400, tooMany.status());
        assertTrue(tooMany.body().path("error").asText().contains("admin-max-page"), tooMany.body().toString());
        for (String bad : List.of("limit=0", "limit=-1", "limit=x", "cursor=-5", "cursor=abc")) {
            assertEquals(400, api.get("/api/v1/connections?" + bad).status(), bad);
        }
        assertEquals(200, api.get("/api/v1/sessions?limit=" + MAX_PAGE).status());
        assertEquals(400, api.get("/api/v1/sessions?limit=" + (MAX_PAGE + 1)).status());
    }

    @Test
    void connectionsAreFilteredByClientIdProtocolTransportAndAddress() throws Exception {
        mqtt("sensor-tcp-1");
        mqtt("sensor-tcp-2");
        mqttOverWebSocket("sensor-ws-1");
        try (Socket stompClient = stomp(server.port("stomp"))) {
            await("four connections", () -> server.operations().metrics().connectedClients() == 4);
            assertEquals(Set.of("sensor-tcp-1", "sensor-tcp-2", "sensor-ws-1"),
                    new HashSet<>(clientIds("?clientId=SENSOR")), "client id: a case-insensitive substring");
            assertEquals(List.of("sensor-ws-1"), clientIds("?transport=ws"));
            assertEquals(List.of("sensor-tcp-1", "sensor-tcp-2"), clientIds("?protocol=mqtt&transport=tcp"));
            List<String> stompIds = clientIds("?protocol=stomp");
            assertEquals(1, stompIds.size());
            assertEquals(4, clientIds("?address=127.0.0.1").size());
            assertEquals(List.of(), clientIds("?address=10.9.8.7"));
            int stompLocalPort = stompClient.getLocalPort();
            assertEquals(stompIds, clientIds("?address=127.0.0.1:" + stompLocalPort), "address includes the port");
            JsonNode ws = api.ok("/api/v1/connections?transport=ws").path("items").get(0);
            assertEquals("mqtt", ws.path("protocol").asText());
            assertEquals("/mqtt", ws.path("path").asText());
            assertTrue(ws.path("bytesIn").asLong() > 0 && ws.path("bytesOut").asLong() > 0, ws.toString());
            assertFalse(ws.path("pausedByBackpressure").asBoolean());
        }
    }

    @Test
    void aConnectionShowsItsSessionAndSubscriptionsAndCanBeDisconnected() throws Exception {
        CompletableFuture<Throwable> cause = new CompletableFuture<>();
        Mqtt5BlockingClient victim = Mqtt5Client.builder().identifier("victim").serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).addDisconnectedListener(ctx -> cause.complete(ctx.getCause()))
                .buildBlocking();
        victim.connect();
        clients.add(victim);
        victim.subscribeWith().topicFilter("alerts/+/fire").qos(MqttQos.AT_LEAST_ONCE).send();
        JsonNode page = api.ok("/api/v1/connections?clientId=victim");
        JsonNode c = page.path("items").get(0);
        long id = c.path("id").asLong();
        assertEquals(1, c.path("subscriptionCount").asInt());
        assertEquals(0, c.path("messagesIn").asLong());
        Mqtt5BlockingClient talker = mqtt("talker");
        for (int i = 0; i < 3; i++) {
            talker.publishWith().topic("alerts/zone-" + i + "/fire").qos(MqttQos.AT_LEAST_ONCE).send();
        }
        await("three messages counted for each side", () -> {
            try {
                JsonNode t = api.ok("/api/v1/connections?clientId=talker").path("items").get(0);
                JsonNode v = api.ok("/api/v1/connections?clientId=victim").path("items").get(0);
                return t.path("messagesIn").asLong() == 3 && t.path("messagesOut").asLong() == 0
                        && v.path("messagesOut").asLong() == 3 && v.path("messagesIn").asLong() == 0;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        JsonNode detail = api.ok("/api/v1/connections/" + id);
        assertEquals("alerts/+/fire", detail.path("subscriptions").get(0).path("filter").asText());
        assertEquals(1, detail.path("subscriptions").get(0).path("qos").asInt());
        assertEquals("victim", detail.path("sessions").get(0).path("id").asText());

        AdminHttp.Answer gone = api.delete("/api/v1/connections/" + id);
        assertEquals(200, gone.status(), String.valueOf(gone.body()));
        Throwable why = cause.get(20, TimeUnit.SECONDS);
        assertTrue(why instanceof Mqtt5DisconnectException, String.valueOf(why));
        assertEquals(Mqtt5DisconnectReasonCode.ADMINISTRATIVE_ACTION,
                ((Mqtt5DisconnectException) why).getMqttMessage().getReasonCode());
        await("the connection to leave the list", () -> {
            try {
                return clientIds("?clientId=victim").isEmpty();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals(404, api.get("/api/v1/connections/" + id).status());
        assertEquals(404, api.delete("/api/v1/connections/" + id).status());
    }

    @Test
    void aStompConnectionShowsTheSessionsOfItsSubscriptions() throws Exception {
        try (Socket s = stomp(server.port("stomp"))) {
            s.getOutputStream().write(("SUBSCRIBE\nid:s1\ndestination:/topic/plant/+/temp\nack:client\n\n\0"
                    + "SUBSCRIBE\nid:s2\ndestination:/topic/alerts/#\n\n\0").getBytes(StandardCharsets.UTF_8));
            await("two STOMP subscriptions", () -> {
                try {
                    JsonNode c = api.ok("/api/v1/connections?protocol=stomp").path("items").get(0);
                    return c != null && c.path("subscriptionCount").asInt() == 2;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            JsonNode c = api.ok("/api/v1/connections?protocol=stomp").path("items").get(0);
            assertEquals(2, c.path("sessions").size(), "one session per SUBSCRIBE");
            JsonNode detail = api.ok("/api/v1/connections/" + c.path("id").asLong());
            Set<String> filters = new HashSet<>();
            detail.path("subscriptions").forEach(x -> filters.add(x.path("filter").asText()));
            assertEquals(Set.of("plant/+/temp", "alerts/#"), filters);
            assertEquals(200, api.delete("/api/v1/connections/" + c.path("id").asLong()).status());
            // the rest of CONNECTED, then frames up to the ERROR that says why the connection ends
            InputStream in = s.getInputStream();
            StringBuilder seen = new StringBuilder();
            for (int b = in.read(); b != -1 && seen.length() < 16_384; b = in.read()) {
                seen.append((char) b);
            }
            assertTrue(seen.toString().contains("\nERROR\n") || seen.toString().startsWith("ERROR\n")
                    || seen.toString().contains("\0ERROR\n"), "the STOMP client is told in an ERROR frame: " + seen);
        }
    }

    @Test
    void retainedMessagesAreBrowsedReadAndDeleted() throws Exception {
        Mqtt5BlockingClient pub = mqtt("retainer");
        pub.publishWith().topic("plant/hall-1/temp").payload("21.5".getBytes(StandardCharsets.UTF_8)).retain(true)
                .qos(MqttQos.AT_LEAST_ONCE).send();
        pub.publishWith().topic("plant/hall-2/temp").payload(new byte[] {(byte) 0xff, 0, 1}).retain(true)
                .qos(MqttQos.AT_LEAST_ONCE).send();
        pub.publishWith().topic("other/thing").payload("x".getBytes(StandardCharsets.UTF_8)).retain(true)
                .qos(MqttQos.AT_LEAST_ONCE).send();

        JsonNode subtree = api.ok("/api/v1/retained?prefix=plant");
        assertEquals(2, subtree.path("items").size(), subtree.toString());
        assertEquals("plant/hall-1/temp", subtree.path("items").get(0).path("topic").asText());
        assertEquals("21.5", subtree.path("items").get(0).path("payload").asText());
        assertEquals("/wABAQ==".substring(0, 4), subtree.path("items").get(1).path("payloadBase64").asText().substring(0, 4));

        JsonNode one = api.ok("/api/v1/retained?topic=plant/hall-1/temp");
        assertEquals("mqtt:retainer", one.path("publisherId").asText(), "the publishing session: namespace and client id");
        assertEquals(1, one.path("qos").asInt());

        assertEquals(200, api.delete("/api/v1/retained?topic=plant/hall-1/temp").status());
        assertEquals(404, api.get("/api/v1/retained?topic=plant/hall-1/temp").status());
        assertEquals(404, api.delete("/api/v1/retained?topic=plant/hall-1/temp").status());
        assertEquals(2, api.ok("/api/v1/retained").path("items").size());
        assertEquals(400, api.get("/api/v1/retained?topic=plant/%23").status(), "a filter is not a topic");
    }

    @Test
    void theTopicTreeShowsRatesPerSubtreeAndRetainedValues() throws Exception {
        Mqtt5BlockingClient pub = mqtt("rater");
        pub.publishWith().topic("fleet/truck-1/speed").payload("88".getBytes(StandardCharsets.UTF_8)).retain(true).send();
        for (int i = 0; i < 20; i++) {
            pub.publishWith().topic("fleet/truck-2/speed").payload(("" + i).getBytes(StandardCharsets.UTF_8)).send();
        }
        await("the rates to be sampled", () -> {
            try {
                JsonNode fleet = child(api.ok("/api/v1/topics"), "fleet");
                return fleet != null && fleet.path("messages").asLong() == 21;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        JsonNode level = api.ok("/api/v1/topics?path=fleet");
        assertEquals(21, level.path("messages").asLong());
        assertEquals(1, child(level, "truck-1").path("messages").asLong());
        assertEquals(20, child(level, "truck-2").path("messages").asLong());
        assertTrue(child(level, "truck-2").path("hasChildren").asBoolean());
        JsonNode leaf = child(api.ok("/api/v1/topics?path=fleet/truck-1"), "speed");
        assertEquals("88", leaf.path("retained").path("payload").asText());
        assertFalse(leaf.path("hasChildren").asBoolean());
    }

    private static JsonNode child(JsonNode level, String name) {
        for (JsonNode c : level.path("children")) {
            if (c.path("name").asText().equals(name)) {
                return c;
            }
        }
        return null;
    }

    @Test
    void sessionsAndSubscriptionsAreListedAndFiltered() throws Exception {
        Mqtt5BlockingClient keeper = Mqtt5Client.builder().identifier("keeper").serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).buildBlocking();
        keeper.connectWith().cleanStart(true).sessionExpiryInterval(3600).send();
        keeper.subscribeWith().topicFilter("plant/#").send();
        keeper.disconnect();
        Mqtt5BlockingClient live = mqtt("live-one");
        live.subscribeWith().topicFilter("plant/+/temp").send();

        JsonNode offline = api.ok("/api/v1/sessions?state=offline");
        assertEquals(1, offline.path("items").size());
        assertEquals("keeper", offline.path("items").get(0).path("clientId").asText());
        assertEquals(3600, offline.path("items").get(0).path("expirySeconds").asLong());
        assertEquals("live-one", api.ok("/api/v1/sessions?state=online").path("items").get(0).path("clientId").asText());
        assertEquals(400, api.get("/api/v1/sessions?state=sleeping").status());

        JsonNode matching = api.ok("/api/v1/subscriptions?topic=plant/hall-1/temp");
        Set<String> filters = new HashSet<>();
        matching.path("items").forEach(s -> filters.add(s.path("filter").asText()));
        assertEquals(Set.of("plant/#", "plant/+/temp"), filters);
        assertEquals(0, api.ok("/api/v1/subscriptions?filter=nowhere").path("items").size());
        assertEquals(1, api.ok("/api/v1/subscriptions?filter=temp").path("items").size());
    }

    @Test
    void theConsoleIsServedFromTheJarAtTheRootAndUnderConsole() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(new ConsoleFiles().present(),
                "the console was not built into the classes (no Node.js 20+ at build time)");
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + server.port("http");
        for (String path : List.of("/", "/console/", "/console/console.js", "/console/console.css")) {
            java.net.http.HttpResponse<String> r = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(base + path)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), path);
            assertTrue(r.headers().firstValue("content-security-policy").orElse("").contains("default-src 'self'"), path);
            assertFalse(r.body().contains("//cdn") || r.body().contains("https://unpkg"), path + " loads nothing from elsewhere");
        }
        java.net.http.HttpResponse<String> index = http.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(base + "/")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertTrue(index.headers().firstValue("content-type").orElse("").startsWith("text/html"));
        assertTrue(index.body().contains("/console/console.js"));
        assertEquals(404, http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/console/missing.js"))
                .build(), java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    void secretSettingsAreMasked() throws Exception {
        String secret = "s3cr3t-" + System.nanoTime();
        try (SluiceServer withSecret = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1")
                .with(Settings.MQTT_PORT, 0).with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, -1)
                .with(Settings.SYS_INTERVAL, 0L).with(Settings.TLS_KEYSTORE_PASSWORD, secret))) {
            AdminHttp.Answer a = new AdminHttp(withSecret.port("http")).get("/api/v1/settings");
            assertEquals(200, a.status());
            assertFalse(a.body().toString().contains(secret), "the secret never leaves the broker");
            boolean seen = false;
            for (JsonNode s : a.body()) {
                if (s.path("name").asText().equals("tls-keystore-password")) {
                    seen = true;
                    assertTrue(s.path("masked").asBoolean());
                    assertEquals("********", s.path("value").asText());
                }
                if (s.path("name").asText().equals("admin-max-page")) {
                    assertFalse(s.path("masked").asBoolean(), "ordinary settings are shown");
                }
            }
            assertTrue(seen, "the secret setting is listed, masked");
        }
    }

    @Test
    void summarySettingsAndRefusalsDescribeTheBroker() throws Exception {
        mqtt("summarised");
        JsonNode summary = api.ok("/api/v1/summary");
        assertNotNull(summary.path("version").asText(null));
        assertEquals(1, summary.path("counts").path("connections").asLong());
        assertEquals(1, summary.path("connectionsByProtocol").path("mqtt").path("tcp").asLong());
        Set<String> listeners = new HashSet<>();
        summary.path("listeners").forEach(l -> listeners.add(l.path("name").asText()));
        assertEquals(Set.of("mqtt", "http", "stomp"), listeners);

        JsonNode settings = api.ok("/api/v1/settings");
        assertEquals(Settings.all().size(), settings.size());
        for (JsonNode s : settings) {
            if (s.path("name").asText().equals("admin-max-page")) {
                assertEquals(Integer.toString(MAX_PAGE), s.path("value").asText());
                assertEquals("1000", s.path("defaultValue").asText());
            }
        }

        JsonNode refusals = api.ok("/api/v1/refusals");
        assertTrue(refusals.path("drops").has("qos0_overflow"), refusals.toString());
        assertTrue(refusals.has("refusals") && refusals.has("disconnects"));
        assertEquals(404, api.get("/api/v1/nothing-here").status());
        assertEquals(405, api.delete("/api/v1/summary").status());
        assertNull(api.get("/api/v1/summary").body().get("error"));
    }
}
