package io.sluice.server.transport;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Frames to bytes and back: fragmentation, several units per frame, text rules, control frames, limits. */
class WebSocketFramesTest {
    private static final int MAX_FRAME = 1024;
    private static SluiceServer server;
    private static int http;

    @BeforeAll
    static void start() {
        server = TransportTestServer.start(s -> s.with(Settings.WS_MAX_FRAME_SIZE, MAX_FRAME));
        http = server.port("http");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aUnitSplitOverSeveralFramesArrivesWhole() throws Exception {
        try (WsClient c = WsClient.connect(http, "/", "mqtt")) {
            c.binary("hel", true);
            c.binary("lo ", true);
            c.binary("world\n", true);
            assertEquals(new WsClient.Binary("mqtt:hello world\n"), c.next());
        }
    }

    @Test
    void aUnitSplitOverContinuationFramesArrivesWhole() throws Exception {
        try (WsClient c = WsClient.connect(http, "/", "mqtt")) {
            c.binary("con", false);   // binary frame, FIN clear
            c.binary("tinu", false);  // continuation
            c.binary("ed\n", true);   // final continuation
            assertEquals(new WsClient.Binary("mqtt:continued\n"), c.next());
        }
    }

    @Test
    void severalUnitsInOneFrameArriveSeparatelyAndInOrder() throws Exception {
        try (WsClient c = WsClient.connect(http, "/", "mqtt")) {
            c.binary("one\ntwo\nthr", true);
            c.binary("ee\n", true);
            assertEquals(new WsClient.Binary("mqtt:one\n"), c.next());
            assertEquals(new WsClient.Binary("mqtt:two\n"), c.next());
            assertEquals(new WsClient.Binary("mqtt:three\n"), c.next());
        }
    }

    @Test
    void aTextFrameOnABinaryProtocolClosesWith1003() throws Exception {
        try (WsClient c = WsClient.connect(http, "/", "mqtt")) {
            c.binary("first\n", true);
            assertEquals(new WsClient.Binary("mqtt:first\n"), c.next());
            c.text("MQ\n", true);
            WsClient.Closed closed = (WsClient.Closed) c.next();
            assertEquals(1003, closed.status());
        }
    }

    @Test
    void aTextProtocolIsAnsweredInTheFrameTypeTheClientUses() throws Exception {
        try (WsClient c = WsClient.connect(http, "/", "v12.stomp")) {
            c.text("in text\n", true);
            assertEquals(new WsClient.Text("stomp:in text\n"), c.next());
            c.binary("in binary\n", true);
            assertEquals(new WsClient.Binary("stomp:in binary\n"), c.next());
            c.text("split ", false);
            c.text("text\n", true);
            assertEquals(new WsClient.Text("stomp:split text\n"), c.next());
        }
    }

    @Test
    void aPingIsAnsweredWithAPongCarryingItsPayload() throws Exception {
        try (WsClient c = WsClient.connect(http, "/", "mqtt")) {
            c.ws.sendPing(ByteBuffer.wrap("are you there".getBytes(StandardCharsets.UTF_8))).join();
            assertEquals(new WsClient.Pong("are you there"), c.next());
        }
    }

    @Test
    void aCloseIsAnsweredWithACloseEchoingTheStatus() throws Exception {
        try (WsClient c = WsClient.connect(http, "/", "mqtt")) {
            c.ws.sendClose(4000, "done").join();
            assertEquals(4000, ((WsClient.Closed) c.next()).status());
        }
    }

    @Test
    void aFrameAtTheSizeLimitPassesAndOneByteMoreClosesWith1009() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(http)) {
            assertTrue(raw.upgrade("/mqtt").startsWith("HTTP/1.1 101"));
            String atLimit = "x".repeat(MAX_FRAME - 1) + "\n";
            raw.send(new BinaryWebSocketFrame(Unpooled.copiedBuffer(atLimit, StandardCharsets.UTF_8)));
            WebSocketFrame echo = raw.read();
            assertEquals("mqtt:" + atLimit, echo.content().toString(StandardCharsets.UTF_8));
            echo.release();
            raw.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[MAX_FRAME + 1])));
            WebSocketFrame close = raw.read();
            assertInstanceOf(CloseWebSocketFrame.class, close);
            assertEquals(1009, ((CloseWebSocketFrame) close).statusCode());
            close.release();
            assertTrue(raw.closedByServer());
        }
    }

    @Test
    void aContinuationWithoutAStartIsAProtocolErrorClosedWith1002() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(http)) {
            assertTrue(raw.upgrade("/mqtt").startsWith("HTTP/1.1 101"));
            raw.send(new ContinuationWebSocketFrame(Unpooled.copiedBuffer("orphan\n", StandardCharsets.UTF_8)));
            WebSocketFrame close = raw.read();
            assertInstanceOf(CloseWebSocketFrame.class, close);
            assertEquals(1002, ((CloseWebSocketFrame) close).statusCode());
            close.release();
            assertTrue(raw.closedByServer());
        }
    }

    @Test
    void invalidUtf8InATextFrameClosesWith1007() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(http)) {
            assertTrue(raw.upgrade("/stomp").startsWith("HTTP/1.1 101"));
            raw.send(new TextWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {'o', 'k', (byte) 0xC3, (byte) 0x28, '\n'})));
            assertCloseStatus(raw, 1007);
        }
    }

    @Test
    void anUnmaskedClientFrameClosesWith1002() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(http)) {
            assertTrue(raw.upgrade("/mqtt").startsWith("HTTP/1.1 101"));
            raw.sendUnmasked(new BinaryWebSocketFrame(Unpooled.copiedBuffer("plain\n", StandardCharsets.UTF_8)));
            assertCloseStatus(raw, 1002);
        }
    }

    private static void assertCloseStatus(RawWebSocket raw, int status) throws Exception {
        WebSocketFrame close = raw.read();
        assertInstanceOf(CloseWebSocketFrame.class, close);
        assertEquals(status, ((CloseWebSocketFrame) close).statusCode());
        close.release();
        assertTrue(raw.closedByServer());
    }

    @Test
    void anOtherClientIsUntouchedByOnesViolation() throws Exception {
        try (WsClient good = WsClient.connect(http, "/", "mqtt"); WsClient bad = WsClient.connect(http, "/", "mqtt")) {
            bad.text("nope\n", true);
            assertEquals(1003, ((WsClient.Closed) bad.next()).status());
            good.binary("still here\n", true);
            assertEquals(new WsClient.Binary("mqtt:still here\n"), good.next());
        }
    }
}
