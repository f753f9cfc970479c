package io.sluice.server.transport;

import io.sluice.server.SluiceServer;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** WebSockets the server ends get a Close frame saying why; refusals and heartbeats show in the metrics. */
class WebSocketCloseTest {

    @Test
    void aProtocolThatEndsTheConnectionSends1000() throws Exception {
        SluiceServer server = TransportTestServer.start();
        try (WsClient c = WsClient.connect(server.port("http"), "/", "mqtt")) {
            c.binary("bye\n", true);
            assertEquals(1000, ((WsClient.Closed) c.next()).status());
        } finally {
            server.close();
        }
    }

    @Test
    void aServerShuttingDownSends1001() throws Exception {
        SluiceServer server = TransportTestServer.start();
        try (WsClient mqtt = WsClient.connect(server.port("http"), "/", "mqtt");
             WsClient stomp = WsClient.connect(server.port("http"), "/", "v12.stomp")) {
            mqtt.binary("x\n", true);
            assertEquals(new WsClient.Binary("mqtt:x\n"), mqtt.next()); // both are established
            stomp.text("x\n", true);
            assertEquals(new WsClient.Text("stomp:x\n"), stomp.next());
            server.close();
            assertEquals(1001, ((WsClient.Closed) mqtt.next()).status());
            assertEquals(1001, ((WsClient.Closed) stomp.next()).status());
        } finally {
            server.close();
        }
    }

    @Test
    void refusalsAndHeartbeatsAreCounted() throws Exception {
        SluiceServer server = TransportTestServer.start();
        try {
            int http = server.port("http");
            try (RawWebSocket raw = RawWebSocket.connect(http)) {
                assertTrue(raw.upgrade("/", "Sec-WebSocket-Protocol: chat").startsWith("HTTP/1.1 400"));
            }
            try (WsClient c = WsClient.connect(http, "/", "mqtt")) {
                c.ws.sendPing(ByteBuffer.wrap(new byte[] {1})).join();
                assertEquals(new WsClient.Pong("\u0001"), c.next());
            }
            String metrics = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertCounted(metrics, "sluice_connections_refused_total", List.of("reason=\"bad_handshake\"", "transport=\"ws\""));
            assertCounted(metrics, "sluice_heartbeats_total", List.of("kind=\"ws_ping_received\"", "protocol=\"mqtt\""));
        } finally {
            server.close();
        }
    }

    private static void assertCounted(String metrics, String name, List<String> labels) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + "{") && labels.stream().allMatch(line::contains)) {
                double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                assertTrue(value >= 1, line);
                return;
            }
        }
        throw new AssertionError(name + " " + labels + " not in /metrics:\n" + metrics);
    }
}
