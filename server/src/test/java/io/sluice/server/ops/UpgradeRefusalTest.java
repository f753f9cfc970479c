package io.sluice.server.ops;

import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** WebSocket upgrades past a limit are refused in HTTP: 503 at max-connections, 429 past the connect rate. */
class UpgradeRefusalTest {
    private OpsTestServer server;
    private final List<WebSocket> open = new ArrayList<>();

    @AfterEach
    void stop() {
        open.forEach(WebSocket::abort);
        server.close();
    }

    private WebSocket upgrade() throws Exception {
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().subprotocols("mqtt")
                .buildAsync(URI.create("ws://127.0.0.1:" + server.httpPort() + "/mqtt"), new WebSocket.Listener() { })
                .get(20, TimeUnit.SECONDS);
        open.add(ws);
        return ws;
    }

    private WebSocketHandshakeException refusedUpgrade() {
        ExecutionException e = assertThrows(ExecutionException.class, this::upgrade);
        Throwable cause = e.getCause() instanceof CompletionException c ? c.getCause() : e.getCause();
        return assertInstanceOf(WebSocketHandshakeException.class, cause);
    }

    @Test
    void upgradePastMaxConnectionsGets503AndHealthStillAnswers() throws Exception {
        server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.CONNECT_RATE, 0).with(Settings.MAX_CONNECTIONS, 1));
        upgrade();
        WebSocketHandshakeException refused = refusedUpgrade();
        assertEquals(503, refused.getResponse().statusCode());
        assertTrue(refused.getResponse().headers().firstValue("retry-after").isPresent(), "Retry-After");
        // the operator's endpoints answer on a connection past the limit
        assertEquals(200, Scrape.get(server.httpPort(), "/healthz").statusCode());
        assertTrue(Scrape.of(server.httpPort()).value("sluice_connections_refused_total", "reason", "connection_limit") >= 1);
    }

    @Test
    void upgradePastTheConnectRateGets429() throws Exception {
        server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.CONNECT_RATE, 1).with(Settings.CONNECT_BURST, 1));
        upgrade();
        WebSocketHandshakeException refused = null;
        for (int i = 0; i < 20 && refused == null; i++) {
            try {
                upgrade(); // a slow machine may earn a token between two upgrades: try again, back to back
            } catch (ExecutionException e) {
                refused = assertInstanceOf(WebSocketHandshakeException.class,
                        e.getCause() instanceof CompletionException c ? c.getCause() : e.getCause());
            }
        }
        assertTrue(refused != null, "upgrades back to back past the burst were refused");
        assertEquals(429, refused.getResponse().statusCode());
        long retryAfter = Long.parseLong(refused.getResponse().headers().firstValue("retry-after").orElseThrow());
        assertTrue(retryAfter >= 1, "Retry-After " + retryAfter);
    }

    @Test
    void headersPastTheLimitGet431AndAreCounted() throws Exception {
        server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.HTTP_MAX_HEADER_SIZE, 1024));
        java.net.http.HttpResponse<String> atEdge = HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.httpPort() + "/healthz"))
                .header("X-Padding", "p".repeat(700)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, atEdge.statusCode(), "within the header limit");
        java.net.http.HttpResponse<String> past = HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.httpPort() + "/healthz"))
                .header("X-Padding", "p".repeat(2000)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(431, past.statusCode());
        assertEquals(1.0, Scrape.of(server.httpPort()).value("sluice_connections_refused_total", "reason", "header_too_large"));
    }
}
