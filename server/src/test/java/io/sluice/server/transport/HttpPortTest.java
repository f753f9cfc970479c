package io.sluice.server.transport;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Plain HTTP on the HTTP port: the endpoint registry, 404, and the header and body limits. */
class HttpPortTest {
    private static final int MAX_HEADER = 2048;
    private static final int MAX_BODY = 512;
    private static SluiceServer server;
    private static final HttpClient client = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        server = TransportTestServer.start(s -> s.with(Settings.HTTP_MAX_HEADER_SIZE, MAX_HEADER)
                .with(Settings.HTTP_MAX_CONTENT_LENGTH, MAX_BODY));
        server.http().register("/hello", (ctx, req) -> HttpResponses.text(ctx, req, HttpResponseStatus.OK,
                "text/plain", "hello " + req.content().readableBytes() + "\n"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port("http") + path);
    }

    @Test
    void aRegisteredEndpointAnswersOnKeepAliveAndUnknownPathsGet404() throws Exception {
        for (int i = 0; i < 3; i++) { // one pooled keep-alive connection
            HttpResponse<String> ok = client.send(HttpRequest.newBuilder(uri("/hello?x=1")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, ok.statusCode());
            assertEquals("hello 0\n", ok.body());
        }
        HttpResponse<String> missing = client.send(HttpRequest.newBuilder(uri("/nothing")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(404, missing.statusCode());
    }

    @Test
    void aBodyAtTheLimitIsReadAndOneByteMoreIsRefusedWith413() throws Exception {
        HttpResponse<String> ok = client.send(HttpRequest.newBuilder(uri("/hello"))
                .POST(HttpRequest.BodyPublishers.ofString("b".repeat(MAX_BODY))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals("hello " + MAX_BODY + "\n", ok.body());
        HttpResponse<String> big = client.send(HttpRequest.newBuilder(uri("/hello"))
                .POST(HttpRequest.BodyPublishers.ofString("b".repeat(MAX_BODY + 1))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(413, big.statusCode());
    }

    @Test
    void anUpgradeWithHeadersOverTheLimitIsRefusedWith431() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.port("http"))) {
            String head = raw.upgrade("/mqtt", "X-Padding: " + "p".repeat(MAX_HEADER));
            assertTrue(head.startsWith("HTTP/1.1 431"), head);
        }
        try (RawWebSocket raw = RawWebSocket.connect(server.port("http"))) {
            String head = raw.upgrade("/mqtt", "X-Padding: " + "p".repeat(MAX_HEADER - 400));
            assertTrue(head.startsWith("HTTP/1.1 101"), head);
        }
    }

    @Test
    void anUnsupportedWebSocketVersionGets426() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.port("http"))) {
            raw.sendRaw(("GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Version: 99\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String head = raw.readHead();
            assertTrue(head.startsWith("HTTP/1.1 426"), head);
        }
    }
}
