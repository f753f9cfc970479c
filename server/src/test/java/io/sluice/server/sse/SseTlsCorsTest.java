package io.sluice.server.sse;

import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import io.sluice.server.security.TestPki;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static io.sluice.server.sse.FallbackBroker.WAIT;
import static io.sluice.server.sse.FallbackBroker.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The HTTP fallback on the HTTPS listener (a certificate made at test time) as a browser page on another origin
 * uses it: an EventSource-style reader over TLS with live delivery and a resume by Last-Event-ID, and CORS
 * following the configured origins (the answer names a listed origin, a preflight allows the cross-origin
 * POST /publish, an unlisted origin is refused, a request without Origin gets no CORS headers).
 */
class SseTlsCorsTest {
    private static final String APP = "https://app.example.com";
    private static SluiceServer server;
    private static HttpClient https;
    private static MqttClient pub;

    @BeforeAll
    static void start(@TempDir Path dir) throws Exception {
        TestPki pki = new TestPki("Sluice SSE test CA");
        Path cert = dir.resolve("server.crt");
        Path key = dir.resolve("server.key");
        pki.server().writePem(cert, key);
        server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, -1).with(Settings.STOMP_PORT, -1).with(Settings.MQTTS_PORT, -1)
                .with(Settings.HTTPS_PORT, 0).with(Settings.TLS_CERT_FILE, cert).with(Settings.TLS_KEY_FILE, key)
                .with(Settings.ALLOWED_ORIGINS, List.of(APP)));
        https = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(pki.clientContext(null))
                .connectTimeout(Duration.ofSeconds(5)).build();
        pub = new MqttClient("tcp://127.0.0.1:" + server.port("mqtt"), "tls-pub", new MemoryPersistence());
        pub.connect();
    }

    @AfterAll
    static void stop() throws Exception {
        pub.disconnect();
        server.close();
    }

    private static String url(String pathAndQuery) {
        return "https://127.0.0.1:" + server.port("https") + pathAndQuery;
    }

    @Test
    void anEventSourceReadsOverHttpsAndResumesByLastEventId() throws Exception {
        String lastId;
        try (SseClient sse = SseClient.open(https, url("/sse?filter=tls/%23"), null, "Origin", APP)) {
            assertEquals(200, sse.response.statusCode());
            assertTrue(sse.response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
            assertEquals(APP, sse.response.headers().firstValue("access-control-allow-origin").orElse(null));
            while (sse.nextRaw(WAIT).id().isEmpty()) {
                // the retry block; the position block follows once the stream is subscribed
            }
            pub.publish("tls/a", "one".getBytes(StandardCharsets.UTF_8), 1, false);
            SseClient.Event e = sse.next(WAIT);
            assertEquals("tls/a", json(e).get("topic").asText());
            assertEquals("one", json(e).get("payload").asText());
            lastId = sse.lastEventId();
        }
        pub.publish("tls/b", "two".getBytes(StandardCharsets.UTF_8), 1, false);
        try (SseClient sse = SseClient.open(https, url("/sse?filter=tls/%23"), lastId, "Origin", APP)) {
            SseClient.Event e = sse.next(WAIT);
            assertEquals("message", e.type(), e.data());
            assertEquals("two", json(e).get("payload").asText());
        }
    }

    @Test
    void corsFollowsTheConfiguredOrigins() throws Exception {
        // preflight of the cross-origin publish a page makes with fetch(..., {method: "POST"})
        HttpResponse<String> preflight = send(HttpRequest.newBuilder(URI.create(url("/publish?topic=tls/p&qos=1")))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).header("Origin", APP)
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "content-type"));
        assertTrue(preflight.statusCode() / 100 == 2, preflight.statusCode() + " " + preflight.body());
        assertEquals(APP, header(preflight, "access-control-allow-origin"));
        assertTrue(header(preflight, "access-control-allow-methods").contains("POST"), preflight.headers().toString());
        assertTrue(header(preflight, "access-control-allow-headers").toLowerCase().contains("content-type"),
                preflight.headers().toString());

        HttpResponse<String> published = send(HttpRequest.newBuilder(URI.create(url("/publish?topic=tls/p&qos=1")))
                .POST(HttpRequest.BodyPublishers.ofString("x")).header("Origin", APP));
        assertEquals(200, published.statusCode(), published.body());
        assertEquals(APP, header(published, "access-control-allow-origin"));
        assertTrue(header(published, "vary").toLowerCase().contains("origin"), published.headers().toString());

        HttpResponse<String> poll = send(HttpRequest.newBuilder(URI.create(url("/poll?filter=tls/p")))
                .header("Origin", APP));
        assertEquals(200, poll.statusCode(), poll.body());
        assertEquals(APP, header(poll, "access-control-allow-origin"));

        // an origin not listed is refused before anything is read or published
        for (String path : List.of("/sse?filter=tls/%23", "/poll?filter=tls/p")) {
            HttpResponse<String> evil = send(HttpRequest.newBuilder(URI.create(url(path)))
                    .header("Origin", "https://evil.example.net"));
            assertEquals(403, evil.statusCode(), path);
            assertEquals("", header(evil, "access-control-allow-origin"));
        }
        HttpResponse<String> evilPublish = send(HttpRequest.newBuilder(URI.create(url("/publish?topic=tls/p&qos=1")))
                .POST(HttpRequest.BodyPublishers.ofString("x")).header("Origin", "https://evil.example.net"));
        assertEquals(403, evilPublish.statusCode());

        // not a browser: served, no CORS headers
        HttpResponse<String> plain = send(HttpRequest.newBuilder(URI.create(url("/poll?filter=tls/p"))));
        assertEquals(200, plain.statusCode());
        assertFalse(plain.headers().firstValue("access-control-allow-origin").isPresent());
    }

    private static HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return https.send(b.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse("");
    }
}
