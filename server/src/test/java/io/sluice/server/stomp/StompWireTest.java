package io.sluice.server.stomp;

import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.stomp.StompTestClient.frame;
import static io.sluice.server.stomp.StompTestClient.sendFrame;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Header escaping per version, content-length bodies with NUL bytes, EOLs between frames, heart-beats. */
class StompWireTest {
    private StompTestServer server;

    @BeforeEach
    void start() {
        server = new StompTestServer(Settings.defaults()
                .with(Settings.STOMP_HEARTBEAT_MIN, 100L)
                .with(Settings.STOMP_HEARTBEAT_GRACE, 300L));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void version12EscapesCrLfColonBackslash() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            pub.connect("1.2");
            sub.subscribe("/topic/esc", "s");
            // Netty's client encoder escapes the value 1.2-style on the way in
            pub.sendAndAwaitReceipt(sendFrame("/topic/esc", "x", "note", "a:b\nc\\d\re"), "r");
            StompTestClient.Frame m = sub.next(StompCommand.MESSAGE);
            assertEquals("a:b\nc\\d\re", m.header("note"));
            assertTrue(sub.rawText().contains("note:a\\cb\\nc\\\\d\\re\n"), sub.rawText());
        }
    }

    @Test
    void version11HasNoCrEscape() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect("1.1");
            pub.connect("1.2");
            sub.subscribe("/topic/esc", "s");
            pub.sendAndAwaitReceipt(sendFrame("/topic/esc", "x", "note", "a:b\nc\\d\re"), "r");
            sub.next(StompCommand.MESSAGE);
            // \c \n \\ escaped; the CR, which 1.1 cannot carry, is dropped rather than sent as the undefined \r
            assertTrue(sub.rawText().contains("note:a\\cb\\nc\\\\de\n"), sub.rawText());
        }
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.1");
            c.sendRaw("SEND\ndestination:/topic/esc\nnote:a\\rb\n\nbody\0");
            c.expectError("malformed frame");
        }
    }

    @Test
    void version10HasNoEscapesAtAll() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port());
             StompTestClient sub12 = new StompTestClient(server.port());
             StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect(null);
            sub12.connect("1.2");
            pub.connect(null);
            sub.subscribe("/topic/esc", "s");
            sub12.subscribe("/topic/esc", "s");
            // a 1.0 client's backslashes are plain characters
            pub.sendRaw("SEND\ndestination:/topic/esc\nnote:D\\\\dir\\c\nreceipt:r\n\nbody\0");
            pub.next(StompCommand.RECEIPT);
            sub.next(StompCommand.MESSAGE);
            assertTrue(sub.rawText().contains("note:D\\\\dir\\c\n"), sub.rawText());
            // the same value, to a 1.2 client, escaped as 1.2 requires
            assertEquals("D\\\\dir\\c", sub12.next(StompCommand.MESSAGE).header("note"));
        }
    }

    @Test
    void badEscapeIsAnError() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.sendRaw("SEND\ndestination:/topic/a\nnote:a\\tb\n\nbody\0");
            c.expectError("malformed frame");
        }
    }

    @Test
    void contentLengthCarriesNulBytesBothWays() throws Exception {
        byte[] body = {1, 0, 2, 0, 0, 3};
        try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            pub.connect("1.2");
            sub.subscribe("/topic/bin", "s");
            pub.sendAndAwaitReceipt(sendFrame("/topic/bin", body, "content-length", "6"), "r");
            StompTestClient.Frame m = sub.next(StompCommand.MESSAGE);
            assertArrayEquals(body, m.body());
            assertEquals("6", m.header("content-length"));
        }
    }

    @Test
    void eolsBetweenFramesAndSeveralFramesInOneWrite() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.sendRaw("\n\r\nCONNECT\naccept-version:1.2\nhost:x\n\n\0\n\n");
            c.next(StompCommand.CONNECTED);
            c.sendRaw("SUBSCRIBE\ndestination:/topic/t\nid:1\n\n\0\nSEND\ndestination:/topic/t\n\nhello\0\r\n\n"
                    + "SEND\ndestination:/topic/t\nreceipt:done\n\nagain\0");
            // deliveries are asynchronous to the RECEIPT: collect all three, then check
            List<String> got = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                StompTestClient.Frame f = c.next();
                got.add(f.command() == StompCommand.RECEIPT ? "receipt:" + f.header("receipt-id") : f.text());
            }
            assertTrue(got.containsAll(List.of("hello", "again", "receipt:done")), got.toString());
            assertTrue(got.indexOf("hello") < got.indexOf("again"), got.toString());
        }
    }

    @Test
    void serverSendsHeartbeatsAtTheAgreedRate() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            StompTestClient.Frame connected = c.connect("1.2", "0,150");
            assertEquals("150,0", connected.header("heart-beat"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(StompTestClient.TIMEOUT_SECONDS);
            while (c.heartbeatsReceived() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(c.heartbeatsReceived() >= 3, "heart-beats received: " + c.heartbeatsReceived());
        }
    }

    @Test
    void heartbeatIntervalsNeverBelowTheMinimum() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            assertEquals("100,100", c.connect("1.2", "1,1").header("heart-beat"));
            c.sendRaw("\n");
        }
    }

    @Test
    void version10ClientThatAsksGetsBeatsButNeedNotSendAny() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            StompTestClient.Frame connected = c.connect(null, "150,150");
            assertEquals("150,0", connected.header("heart-beat"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(StompTestClient.TIMEOUT_SECONDS);
            while (c.heartbeatsReceived() < 5 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            // five beats take 750 ms, past 150 ms + 300 ms grace: silence from the client was not held against it
            assertTrue(c.heartbeatsReceived() >= 5 && c.isOpen());
        }
        try (StompTestClient c = new StompTestClient(server.port())) {
            assertNull(c.connect(null).header("heart-beat"), "no heart-beat header unless a 1.0 client asks");
        }
    }

    @Test
    void silentClientIsDisconnected() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            StompTestClient.Frame connected = c.connect("1.2", "200,0");
            assertEquals("0,200", connected.header("heart-beat"));
            c.expectError("heart-beat timeout");
        }
    }

    @Test
    void heartbeatingClientStaysConnected() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2", "200,0");
            // well past the 200 ms + 300 ms grace, beating every 100 ms
            for (int i = 0; i < 15; i++) {
                c.sendRaw("\n");
                Thread.sleep(100);
            }
            assertTrue(c.isOpen());
            c.sendAndAwaitReceipt(sendFrame("/topic/x", "still here"), "alive");
        }
    }

    @Test
    void utf8HeadersAndBodies() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            pub.connect("1.2");
            sub.subscribe("/topic/ünï/cödé", "s");
            pub.sendAndAwaitReceipt(sendFrame("/topic/ünï/cödé", "grüße", "greeting", "héllo"), "r");
            StompTestClient.Frame m = sub.next(StompCommand.MESSAGE);
            assertEquals("héllo", m.header("greeting"));
            assertEquals("/topic/ünï/cödé", m.header("destination"));
            assertArrayEquals("grüße".getBytes(StandardCharsets.UTF_8), m.body());
        }
    }
}
