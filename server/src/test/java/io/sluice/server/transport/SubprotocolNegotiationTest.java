package io.sluice.server.transport;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.sluice.protocol.ws.Subprotocol;
import io.sluice.server.SluiceServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

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
            c.binary("hello\n", true);
            assertEquals(new WsClient.Binary(expectedModule(p) + ":hello\n"), c.next());
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

    /**
     * RFC 6455 section 11.3.4: several {@code Sec-WebSocket-Protocol} headers mean one comma list; the 101 names
     * the negotiator's choice wherever in that list it was offered, and only one subprotocol.
     */
    @ParameterizedTest
    @EnumSource(Subprotocol.class)
    void repeatedHeadersAreOneListAndTheResponseNamesTheChoice(Subprotocol p) throws Exception {
        List<List<String>> offers = List.of(
                List.of("foo", p.token()),
                List.of("foo, bar", "x-unknown, " + p.token()),
                List.of(p.token(), "foo"),
                List.of("", "foo", p.token() + ", chat"));
        for (List<String> headers : offers) {
            try (RawWebSocket raw = RawWebSocket.connect(http)) {
                String head = raw.upgrade("/", headers.stream().map(h -> "Sec-WebSocket-Protocol: " + h)
                        .toArray(String[]::new));
                assertTrue(head.startsWith("HTTP/1.1 101"), headers + " -> " + head);
                assertEquals(List.of(p.token()), responseHeader(head, "sec-websocket-protocol"), headers + " -> " + head);
                raw.send(new BinaryWebSocketFrame(Unpooled.copiedBuffer("hello\n", StandardCharsets.UTF_8)));
                WebSocketFrame echo = raw.read();
                assertEquals(expectedModule(p) + ":hello\n", echo.content().toString(StandardCharsets.UTF_8));
                echo.release();
            }
        }
    }

    /** The negotiator's choice among several headers wins over the path, as it does within one header. */
    @Test
    void aSubprotocolInALaterHeaderWinsOverThePath() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(http)) {
            String head = raw.upgrade("/mqtt", "Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: v10.stomp, mqtt");
            assertEquals(List.of("v10.stomp"), responseHeader(head, "sec-websocket-protocol"), head);
        }
    }

    /** Served by path or by the first bytes, the client offered nothing, and the response names nothing. */
    @Test
    void withoutAnOfferTheResponseNamesNoSubprotocol() throws Exception {
        for (String path : List.of("/mqtt", "/stomp", "/")) {
            try (RawWebSocket raw = RawWebSocket.connect(http)) {
                String head = raw.upgrade(path);
                assertTrue(head.startsWith("HTTP/1.1 101"), head);
                assertEquals(List.of(), responseHeader(head, "sec-websocket-protocol"), path + " -> " + head);
            }
        }
    }

    /** Repeated headers of unknown subprotocols only are refused like one such list. */
    @Test
    void repeatedHeadersOfUnknownSubprotocolsOnlyAreRefused() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(http)) {
            String head = raw.upgrade("/mqtt", "Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: superchat");
            assertTrue(head.startsWith("HTTP/1.1 400"), head);
            String body = raw.readToEnd();
            assertTrue(body.contains("chat") && body.contains("superchat"), body);
        }
    }

    /** The values of every {@code name} header line of a response head, in order. */
    static List<String> responseHeader(String head, String name) {
        List<String> values = new ArrayList<>();
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
                values.add(line.substring(colon + 1).trim());
            }
        }
        return values;
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
