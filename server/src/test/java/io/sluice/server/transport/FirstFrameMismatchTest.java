package io.sluice.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.protocol.ws.Subprotocol;
import io.sluice.server.BrokerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A WebSocket whose first frame is the opening frame of another protocol than the negotiated subprotocol is
 * closed with 1002 and a reason naming both, and the broker logs one line saying the same: every subprotocol
 * against every opening frame of the other family, on the real broker process (its log is read back).
 */
class FirstFrameMismatchTest {
    @TempDir
    static Path dir;
    private static BrokerProcess broker;
    private static int http;

    @BeforeAll
    static void start() throws Exception {
        broker = BrokerProcess.start(dir.resolve("broker.log"), "--mqtt-port", "0", "--http-port", "0",
                "--stomp-port", "-1", "--sys-interval", "0");
        http = broker.port("http");
    }

    @AfterAll
    static void stop() throws Exception {
        broker.close();
    }

    private record Opening(String name, byte[] bytes) {
    }

    private static List<Opening> mqttConnects() {
        List<Opening> all = new ArrayList<>();
        for (MqttVersion v : List.of(MqttVersion.MQTT_3_1, MqttVersion.MQTT_3_1_1, MqttVersion.MQTT_5)) {
            EmbeddedChannel encoder = new EmbeddedChannel(MqttEncoder.INSTANCE);
            encoder.writeOutbound(MqttMessageBuilders.connect().protocolVersion(v).clientId("c").cleanSession(true).build());
            ByteBuf out = encoder.readOutbound();
            all.add(new Opening("MQTT " + v, ByteBufUtil.getBytes(out)));
            out.release();
            encoder.finishAndReleaseAll();
        }
        return all;
    }

    private static List<Opening> stompConnects() {
        return List.of(
                new Opening("STOMP CONNECT", "CONNECT\naccept-version:1.2\nhost:x\n\n\0".getBytes(StandardCharsets.UTF_8)),
                new Opening("STOMP STOMP", "STOMP\naccept-version:1.2\nhost:x\n\n\0".getBytes(StandardCharsets.UTF_8)),
                new Opening("STOMP 1.0 CONNECT", "CONNECT\n\n\0".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void everySubprotocolRefusesTheOtherFamilysOpeningFrameWith1002() throws Exception {
        for (Subprotocol p : Subprotocol.values()) {
            boolean mqtt = p.family() == Subprotocol.Family.MQTT;
            for (Opening opening : mqtt ? stompConnects() : mqttConnects()) {
                String expected = "negotiated " + p.token() + ", first frame is " + (mqtt ? "STOMP" : "MQTT") + " CONNECT";
                try (RawWebSocket raw = RawWebSocket.connect(http)) {
                    String head = raw.upgrade("/", "Sec-WebSocket-Protocol: " + p.token());
                    assertTrue(head.startsWith("HTTP/1.1 101"), head);
                    raw.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(opening.bytes())));
                    CloseWebSocketFrame close = nextClose(raw, p + " " + opening.name());
                    assertEquals(1002, close.statusCode(), p + " " + opening.name());
                    assertEquals(expected, close.reasonText(), p + " " + opening.name());
                    close.release();
                    String remote = "remote=127.0.0.1:" + raw.socket.getLocalPort() + " ";
                    awaitLogLines(remote, expected, 1);
                }
            }
        }
    }

    /** The matching opening frame on each subprotocol is served as before: CONNACK, CONNECTED. */
    @Test
    void theNegotiatedProtocolsOwnOpeningFrameIsServed() throws Exception {
        for (Subprotocol p : Subprotocol.values()) {
            boolean mqtt = p.family() == Subprotocol.Family.MQTT;
            Opening opening = mqtt ? mqttConnects().get(p == Subprotocol.MQTT_V31 ? 0 : 1) : stompConnects().get(0);
            try (RawWebSocket raw = RawWebSocket.connect(http)) {
                raw.upgrade("/", "Sec-WebSocket-Protocol: " + p.token());
                raw.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(opening.bytes())));
                WebSocketFrame reply = raw.read();
                assertNotNull(reply, p.token());
                try {
                    if (mqtt) {
                        assertTrue(reply instanceof BinaryWebSocketFrame, p + ": " + reply);
                        assertEquals(0x20, reply.content().getUnsignedByte(0), p + ": CONNACK expected");
                    } else {
                        String text = reply.content().toString(StandardCharsets.UTF_8);
                        assertTrue(text.startsWith("CONNECTED\n"), p + ": " + text);
                    }
                } finally {
                    reply.release();
                }
            }
        }
    }

    /** A text frame that opens STOMP on an MQTT subprotocol is closed for being text (1003), as before. */
    @Test
    void textOnAnMqttSubprotocolStays1003() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(http)) {
            raw.upgrade("/", "Sec-WebSocket-Protocol: mqtt");
            raw.send(new TextWebSocketFrame("CONNECT\naccept-version:1.2\n\n\0"));
            CloseWebSocketFrame close = nextClose(raw, "text");
            assertEquals(1003, close.statusCode());
            close.release();
        }
    }

    private static CloseWebSocketFrame nextClose(RawWebSocket raw, String what) throws Exception {
        while (true) {
            WebSocketFrame f = raw.read();
            if (f == null) {
                fail(what + ": connection closed without a Close frame");
            }
            if (f instanceof CloseWebSocketFrame close) {
                return close;
            }
            f.release();
        }
    }

    private static void awaitLogLines(String remote, String text, int expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> matching = List.of();
        while (System.nanoTime() < deadline) {
            matching = broker.logLines().stream().filter(l -> l.contains(remote)).toList();
            if (matching.stream().anyMatch(l -> l.contains(text))) {
                break;
            }
            Thread.sleep(20);
        }
        assertEquals(expected, matching.stream().filter(l -> l.contains(text)).count(), String.join("\n", matching));
        assertEquals(expected, matching.size(), "one line for the connection: " + String.join("\n", matching));
    }
}
