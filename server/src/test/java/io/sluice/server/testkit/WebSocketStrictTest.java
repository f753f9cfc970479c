package io.sluice.server.testkit;

import io.sluice.server.Sluice;
import io.sluice.server.events.Violation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.util.stream.Stream;

import static io.sluice.server.testkit.RawSocket.connect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RFC 6455 and MQTT-over-WebSocket rules in strict mode, with frames written by hand after a real upgrade: the
 * violation is recorded with its rule, and the client gets the RFC's close status.
 */
class WebSocketStrictTest {
    private static Sluice strict;

    @BeforeAll
    static void start() {
        strict = Sluice.builder().strict(true).set("ws-max-frame-size", "1k").start();
    }

    @AfterAll
    static void stop() {
        strict.close();
    }

    @BeforeEach
    void forget() {
        strict.violations().clear();
    }

    static Stream<Object[]> frames() {
        return Stream.of(
                new Object[] {"unmasked frame from the client", frame(0x82, false, new byte[] {(byte) 0xC0, 0}), "RFC6455-5.2", 1002},
                new Object[] {"text frame on MQTT", frame(0x81, true, "{}".getBytes()), "MQTT-6.0.0-1", 1003},
                new Object[] {"frame over ws-max-frame-size", frame(0x82, true, new byte[2048]), "RFC6455-7.4.1", 1009});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("frames")
    void eachBrokenFrameRuleIsRecordedAndClosedWithTheRfcStatus(String name, byte[] bad, String ruleId, int status) {
        try (RawSocket s = new RawSocket(strict.urls().httpPort())) {
            s.send("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    + "Sec-WebSocket-Protocol: mqtt\r\n\r\n");
            String response = s.awaitText("\r\n\r\n", 5_000);
            assertTrue(response.startsWith("HTTP/1.1 101"), response);
            int upgraded = response.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1).length;
            s.send(frame(0x82, true, connect(4, "ws-bad", 60)));
            assertTrue(s.awaitBytes(upgraded + 6, 5_000).length >= upgraded + 6, "CONNACK in a binary frame");
            s.send(bad);
            Violation v = StrictModeTest.awaitViolation(strict);
            assertEquals(ruleId, v.ruleId(), v.describe());
            assertEquals("ws", v.transport());
            assertEquals("ws-bad", v.clientId());
            byte[] all = s.awaitBytes(upgraded + 6 + 4, 5_000);
            int close = upgraded + 6;
            assertEquals(0x88, all[close] & 0xFF, "a Close frame");
            assertEquals(status, ((all[close + 2] & 0xFF) << 8) | (all[close + 3] & 0xFF));
            assertTrue(s.awaitClosed(5_000));
        }
    }

    /** One frame, FIN set, masked (with a zero mask, so the payload reads as is) or not. */
    static byte[] frame(int first, boolean masked, byte[] payload) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(first);
        int mask = masked ? 0x80 : 0;
        if (payload.length < 126) {
            out.write(mask | payload.length);
        } else {
            out.write(mask | 126);
            out.write(payload.length >> 8);
            out.write(payload.length & 0xFF);
        }
        if (masked) {
            out.writeBytes(new byte[4]);
        }
        out.writeBytes(payload);
        return out.toByteArray();
    }
}
