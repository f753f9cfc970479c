package io.sluice.server.transport;

import io.sluice.protocol.ws.Subprotocol;
import io.sluice.server.SluiceServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which protocol serves a WebSocket: by offered subprotocol, by path, by the first bytes; and refusals. */
class SubprotocolNegotiationTest {
    private static SluiceServer server;
    private static int http;

    @BeforeAll
    static void start() {
        server = TransportTestServer.start();
        http = server.port("http");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String expectedModule(Subprotocol p) {
        return p.family() == Subprotocol.Family.MQTT ? "mqtt" : "stomp";
    }

    @ParameterizedTest
    @EnumSource(Subprotocol.class)
    void eachSubprotocolIsChosenEchoedAndServedByItsModule(Subprotocol p) throws Exception {
        try (WsClient c = WsClient.connect(http, "/", p.token())) {
            assertEquals(p.token(), c.ws.getSubprotocol());
            c.binary("MQ hello\n", true);
            assertEquals(new WsClient.Binary(expectedModule(p) + ":MQ hello\n"), c.next());
        }
    }

    @Test
    void theFirstSupportedOfTheClientsOffersWins() throws Exception {
        try (WsClient c = WsClient.connect(http, "/mqtt", "chat", "v11.stomp", "mqtt")) {
            assertEquals("v11.stomp", c.ws.getSubprotocol());
            c.binary("x\n", true);
            assertEquals(new WsClient.Binary("stomp:x\n"), c.next());
        }
        try (WsClient c = WsClient.connect(http, "/stomp", "mqttv3.1", "v12.stomp")) {
            assertEquals("mqttv3.1", c.ws.getSubprotocol());
            c.binary("x\n", true);
            assertEquals(new WsClient.Binary("mqtt:x\n"), c.next());
        }
    }

    @Test
    void onlyUnknownSubprotocolsAreRefusedWith400NamingTheSupportedOnes() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(http)) {
            String head = raw.upgrade("/mqtt", "Sec-WebSocket-Protocol: chat, superchat");
            assertTrue(head.startsWith("HTTP/1.1 400"), head);
            String body = raw.readToEnd();
            assertTrue(body.contains("chat") && body.contains("superchat"), body);
            for (Subprotocol p : Subprotocol.values()) {
                assertTrue(body.contains(p.token()), body);
            }
        }
    }

    @Test
    void noSubprotocolIsServedByPath() throws Exception {
        try (WsClient c = WsClient.connect(http, "/mqtt")) {
            assertEquals("", c.ws.getSubprotocol());
            c.binary("CONNECT\n", true);
            assertEquals(new WsClient.Binary("mqtt:CONNECT\n"), c.next());
        }
        try (WsClient c = WsClient.connect(http, "/stomp?x=1")) {
            c.binary("MQ\n", true);
            assertEquals(new WsClient.Binary("stomp:MQ\n"), c.next());
        }
    }

    @Test
    void noSubprotocolOnAnotherPathIsServedByTheFirstBytes() throws Exception {
        try (WsClient c = WsClient.connect(http, "/")) {
            c.binary("MQTT connect\n", true);
            assertEquals(new WsClient.Binary("mqtt:MQTT connect\n"), c.next());
        }
        try (WsClient c = WsClient.connect(http, "/anything")) {
            // recognition needs the whole first line, which arrives over two frames
            c.text("CON", true);
            c.text("NECT\nsecond\n", true);
            assertEquals(new WsClient.Text("stomp:CONNECT\n"), c.next());
            assertEquals(new WsClient.Text("stomp:second\n"), c.next());
        }
    }

    @Test
    void firstBytesOfNoKnownProtocolCloseWith1003() throws Exception {
        try (WsClient c = WsClient.connect(http, "/")) {
            c.binary("GET / HTTP/1.1\n", true);
            assertEquals(1003, ((WsClient.Closed) c.next()).status());
        }
    }

    @Test
    void sniffedTextOnABinaryProtocolClosesWith1003() throws Exception {
        try (WsClient c = WsClient.connect(http, "/")) {
            c.text("MQ\n", true);
            assertEquals(1003, ((WsClient.Closed) c.next()).status());
        }
    }

    @Test
    void sniffingStopsAtTheLimit() throws Exception {
        SluiceServer small = TransportTestServer.start(s -> s.with(io.sluice.server.config.Settings.WS_SNIFF_LIMIT, 64));
        try (WsClient c = WsClient.connect(small.port("http"), "/")) {
            String line = "CONNECT" + "x".repeat(55) + "\n"; // 63 bytes: recognised just under the limit
            c.binary(line, true);
            assertEquals(new WsClient.Binary("stomp:" + line), c.next());
        }
        try (WsClient c = WsClient.connect(small.port("http"), "/")) {
            c.binary("C".repeat(63), true);
            c.binary("C", true);
            assertEquals(1008, ((WsClient.Closed) c.next()).status());
        } finally {
            small.close();
        }
    }
}
