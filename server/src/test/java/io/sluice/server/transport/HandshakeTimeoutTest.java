package io.sluice.server.transport;

import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Connections that never get as far as a protocol are closed after the handshake timeout. */
class HandshakeTimeoutTest {
    private static SluiceServer server;

    @BeforeAll
    static void start() {
        server = TransportTestServer.start(s -> s.with(Settings.HANDSHAKE_TIMEOUT, 500L)
                .with(Settings.WS_PING_INTERVAL, 0L).with(Settings.WS_IDLE_TIMEOUT, 0L));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aSilentSocketOnTheHttpPortIsClosed() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.port("http"))) {
            assertTrue(raw.closedByServer());
        }
    }

    @Test
    void anUnfinishedUpgradeRequestIsClosed() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.port("http"))) {
            raw.sendRaw("GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n".getBytes(StandardCharsets.US_ASCII));
            assertTrue(raw.closedByServer());
        }
    }

    @Test
    void anUpgradedSocketThatNeverShowsItsProtocolIsClosed() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.port("http"))) {
            assertTrue(raw.upgrade("/").startsWith("HTTP/1.1 101")); // no subprotocol, no protocol path: sniffing
            assertTrue(raw.closedByServer());
        }
    }

    @Test
    void anIdleKeepAliveHttpConnectionIsClosedAfterItsAnswer() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.port("http"))) {
            raw.sendRaw("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String head = raw.readHead();
            assertTrue(head.startsWith("HTTP/1.1 404") && !head.toLowerCase().contains("connection: close"), head);
            raw.sendRaw("GET /again HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            // both answers, then the server closes the idle connection (readToEnd times out otherwise)
            String rest = raw.readToEnd();
            assertTrue(rest.contains("not found: /nothing") && rest.contains("not found: /again"), rest);
        }
    }

    @Test
    void aSilentSocketOnATcpPortIsClosed() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.port("mqtt"))) {
            assertTrue(raw.closedByServer());
        }
    }

    @Test
    void anEstablishedConnectionOutlivesTheTimeout() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.port("http"))) {
            assertTrue(raw.upgrade("/mqtt").startsWith("HTTP/1.1 101"));
            raw.socket.setSoTimeout(1_500); // three handshake timeouts
            assertFalse(raw.closedByServer());
        }
        try (RawWebSocket tcp = RawWebSocket.connect(server.port("mqtt"))) {
            tcp.sendRaw("MQ hi\n".getBytes(StandardCharsets.US_ASCII));
            tcp.socket.setSoTimeout(1_500);
            byte[] reply = new byte["mqtt:MQ hi\n".length()];
            int n = tcp.socket.getInputStream().readNBytes(reply, 0, reply.length);
            assertEquals("mqtt:MQ hi\n", new String(reply, 0, n, StandardCharsets.US_ASCII));
            assertFalse(tcp.closedByServer());
        }
    }
}
