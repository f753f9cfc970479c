package io.sluice.server.security;

import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Browser origins on the HTTP port: WebSocket upgrades and HTTP endpoints alike; CORS for listed origins. */
class OriginTest {
    private SluiceServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private void start(List<String> origins) {
        server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, -1)
                .with(Settings.STOMP_PORT, -1).with(Settings.HTTP_PORT, 0).with(Settings.ALLOWED_ORIGINS, origins));
    }

    /** The status line and headers of the answer to a raw HTTP request. */
    static String exchange(int port, String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0) {
                head.write(b);
                if (head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
                    break;
                }
            }
            return head.toString(StandardCharsets.US_ASCII);
        }
    }

    static String upgrade(String path, String origin) {
        return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Protocol: mqtt\r\n" + (origin == null ? "" : "Origin: " + origin + "\r\n") + "\r\n";
    }

    static String get(String path, String origin) {
        return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + (origin == null ? "" : "Origin: " + origin + "\r\n") + "\r\n";
    }

    @Test
    void anOriginOutsideTheListIsRefusedWith403OnUpgradesAndEndpoints() throws Exception {
        start(List.of("https://app.example.com", "http://localhost:3000"));
        int port = server.port("http");
        long denials = server.security().audit().denials();
        for (String path : List.of("/mqtt", "/stomp", "/")) {
            assertTrue(exchange(port, upgrade(path, "https://evil.example.net")).startsWith("HTTP/1.1 403"));
            assertTrue(exchange(port, upgrade(path, "https://app.example.com")).startsWith("HTTP/1.1 101"));
            assertTrue(exchange(port, upgrade(path, null)).startsWith("HTTP/1.1 101"), "no Origin: not a browser");
        }
        assertTrue(exchange(port, get("/metrics", "https://evil.example.net")).startsWith("HTTP/1.1 403"));
        assertTrue(exchange(port, get("/metrics", "null")).startsWith("HTTP/1.1 403"), "an opaque origin is not listed");
        assertEquals(denials + 5, server.security().audit().denials());

        String ok = exchange(port, get("/metrics", "http://localhost:3000"));
        assertTrue(ok.startsWith("HTTP/1.1 200"), ok);
        assertTrue(ok.toLowerCase().contains("access-control-allow-origin: http://localhost:3000"), ok);
        String preflight = exchange(port, "OPTIONS /metrics HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example.com\r\n"
                + "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: authorization\r\n\r\n");
        assertTrue(preflight.startsWith("HTTP/1.1 200"), preflight);
        assertTrue(preflight.toLowerCase().contains("access-control-allow-origin: https://app.example.com"), preflight);
        assertTrue(preflight.toLowerCase().contains("authorization"), preflight);
    }

    @Test
    void withoutAListEveryOriginMayConnectButNoCorsHeadersAreGiven() throws Exception {
        start(List.of());
        int port = server.port("http");
        assertTrue(exchange(port, upgrade("/mqtt", "https://anywhere.example")).startsWith("HTTP/1.1 101"));
        String answer = exchange(port, get("/metrics", "https://anywhere.example"));
        assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
        assertFalse(answer.toLowerCase().contains("access-control-allow-origin"), answer);
    }

    @Test
    void aStarListsEveryOriginAndAnswersEachWithCorsHeaders() throws Exception {
        start(List.of("*"));
        int port = server.port("http");
        assertTrue(exchange(port, upgrade("/mqtt", "https://anywhere.example")).startsWith("HTTP/1.1 101"));
        for (String path : List.of("/metrics", "/poll?filter=o/p")) {
            String answer = exchange(port, get(path, "https://anywhere.example"));
            assertTrue(answer.startsWith("HTTP/1.1 200"), path + ": " + answer);
            assertTrue(answer.toLowerCase().contains("access-control-allow-origin: "), path + ": " + answer);
        }
        String preflight = exchange(port, "OPTIONS /publish?topic=o/p HTTP/1.1\r\nHost: localhost\r\n"
                + "Origin: https://anywhere.example\r\nAccess-Control-Request-Method: POST\r\n"
                + "Access-Control-Request-Headers: content-type\r\n\r\n");
        assertTrue(preflight.startsWith("HTTP/1.1 200"), preflight);
        assertTrue(preflight.toLowerCase().contains("access-control-allow-methods: ") && preflight.contains("POST"), preflight);
    }
}
