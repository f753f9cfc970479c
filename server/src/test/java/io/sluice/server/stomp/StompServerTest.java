package io.sluice.server.stomp;

import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static io.sluice.server.stomp.StompTestClient.frame;
import static io.sluice.server.stomp.StompTestClient.sendFrame;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** STOMP through the real server: its TCP listener, and WebSocket with each subprotocol or the /stomp path. */
class StompServerTest {
    private SluiceServer server;

    @BeforeEach
    void start() {
        server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1")
                .with(Settings.MQTT_PORT, 0).with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, 0));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static StompFrame connect(String acceptVersion) {
        return frame(StompCommand.CONNECT, "accept-version", acceptVersion, "host", "localhost");
    }

    @Test
    void tcpListener() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port("stomp"))) {
            c.connect("1.2");
            c.subscribe("/topic/tcp", "s");
            c.sendAndAwaitReceipt(sendFrame("/topic/tcp", "over tcp"), "r");
            assertEquals("over tcp", c.next(StompCommand.MESSAGE).text());
        }
    }

    @ParameterizedTest
    @CsvSource({"v10.stomp,", "v11.stomp,1.1", "v12.stomp,1.2"})
    void webSocketWithEachSubprotocol(String subprotocol, String version) throws Exception {
        try (WsStompClient ws = WsStompClient.connect(server.port("http"), "/stomp", subprotocol);
             StompTestClient tcp = new StompTestClient(server.port("stomp"))) {
            assertEquals(subprotocol, ws.ws.getSubprotocol());
            // the client accepts every version: the subprotocol decides
            ws.sendText(connect("1.0,1.1,1.2"));
            StompTestClient.Frame connected = ws.next(StompCommand.CONNECTED);
            assertEquals(version, connected.header("version"));
            ws.sendText(frame(StompCommand.SUBSCRIBE, "destination", "/topic/ws/#", "id", "w", "receipt", "sub"));
            ws.next(StompCommand.RECEIPT);
            tcp.connect("1.2");
            tcp.sendAndAwaitReceipt(sendFrame("/topic/ws/in", "from tcp"), "r");
            StompTestClient.Frame m = ws.next(StompCommand.MESSAGE);
            assertEquals("from tcp", m.text());
            assertEquals("/topic/ws/in", m.header("destination"));
        }
    }

    @Test
    void pathWithoutSubprotocolSeveralFramesPerMessageAndBinaryFrames() throws Exception {
        try (WsStompClient ws = WsStompClient.connect(server.port("http"), "/stomp")) {
            ws.sendText(connect("1.2"));
            ws.next(StompCommand.CONNECTED);
            // two frames in one text message, a heart-beat EOL between them
            ws.sendText(new String(WsStompClient.encode(
                    frame(StompCommand.SUBSCRIBE, "destination", "/topic/multi", "id", "m")), UTF_8)
                    + "\n" + new String(WsStompClient.encode(sendFrame("/topic/multi", "one")), UTF_8));
            assertEquals("one", ws.next(StompCommand.MESSAGE).text());
            ws.sendText("\n");
            // a binary message with a body holding NUL bytes
            ws.sendBinary(sendFrame("/topic/multi", new byte[] {7, 0, 7}, "content-length", "3"));
            StompTestClient.Frame a = ws.next(StompCommand.MESSAGE);
            assertArrayEquals(new byte[] {7, 0, 7}, a.body());
        }
    }

    @Test
    void binaryBodyReachesATextSpeakingClientIntact() throws Exception {
        byte[] body = {(byte) 0xff, 0, (byte) 0xfe, 'x'};
        try (WsStompClient ws = WsStompClient.connect(server.port("http"), "/stomp", "v12.stomp");
             StompTestClient tcp = new StompTestClient(server.port("stomp"))) {
            ws.sendText(connect("1.2"));
            ws.next(StompCommand.CONNECTED);
            ws.sendText(frame(StompCommand.SUBSCRIBE, "destination", "/topic/bin", "id", "b", "receipt", "s"));
            ws.next(StompCommand.RECEIPT);
            tcp.connect("1.2");
            tcp.sendAndAwaitReceipt(sendFrame("/topic/bin", body, "content-length", "4"), "r");
            // not valid UTF-8: it cannot travel in a text frame, so it comes as a binary one
            assertArrayEquals(body, ws.next(StompCommand.MESSAGE).body());
            tcp.sendAndAwaitReceipt(sendFrame("/topic/bin", "plain text"), "t");
            assertEquals("plain text", ws.next(StompCommand.MESSAGE).text());
        }
    }

    @Test
    void firstFrameRecognisedWhenNothingIsNamed() throws Exception {
        try (WsStompClient ws = WsStompClient.connect(server.port("http"), "/")) {
            ws.sendText("\nCONNECT\naccept-version:1.2\nhost:x\n\n\0");
            assertEquals("1.2", ws.next(StompCommand.CONNECTED).header("version"));
            ws.sendText(frame(StompCommand.DISCONNECT, "receipt", "bye"));
            assertEquals("bye", ws.next(StompCommand.RECEIPT).header("receipt-id"));
        }
    }

    @Test
    void errorOverWebSocket() throws Exception {
        try (WsStompClient ws = WsStompClient.connect(server.port("http"), "/stomp", "v12.stomp")) {
            ws.sendText(connect("1.2"));
            ws.next(StompCommand.CONNECTED);
            ws.sendText("SEND\n\nno destination\0");
            StompTestClient.Frame e = ws.next(StompCommand.ERROR);
            assertEquals("missing destination header", e.header("message"));
            assertNull(e.header("receipt-id"));
        }
    }
}
