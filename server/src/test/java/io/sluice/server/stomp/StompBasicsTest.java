package io.sluice.server.stomp;

import io.netty.handler.codec.stomp.StompCommand;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static io.sluice.server.stomp.StompTestClient.frame;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** CONNECT per version, SUBSCRIBE and SEND on /topic/, MESSAGE and RECEIPT frames, over TCP. */
class StompBasicsTest {
    private StompTestServer server;

    @BeforeEach
    void start() {
        server = new StompTestServer();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.0", "1.1", "1.2"})
    void connectNegotiatesTheVersion(String version) throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            StompTestClient.Frame connected = c.connect(version);
            assertEquals(version.equals("1.0") ? null : version, connected.header("version"));
            assertNotNull(connected.header("session"));
            assertEquals(StompConnectHandler.SERVER, connected.header("server"));
        }
    }

    @Test
    void highestCommonVersionWinsAndNoAcceptVersionMeans10() throws Exception {
        try (StompTestClient a = new StompTestClient(server.port()); StompTestClient b = new StompTestClient(server.port())) {
            assertEquals("1.2", a.connect("1.0,1.1,1.2,2.0").header("version"));
            assertNull(b.connect(null).header("version"));
        }
    }

    @Test
    void stompCommandConnectsLikeConnect() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.send(frame(StompCommand.STOMP, "accept-version", "1.1,1.2", "host", "x", "heart-beat", "0,0"));
            StompTestClient.Frame connected = c.next(StompCommand.CONNECTED);
            assertEquals("1.2", connected.header("version"));
            assertEquals("0,0", connected.header("heart-beat"));
        }
    }

    @Test
    void unsupportedVersionIsAnError() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.send(frame(StompCommand.CONNECT, "accept-version", "2.0", "host", "x"));
            StompTestClient.Frame error = c.expectError("unsupported STOMP version");
            assertEquals("1.0,1.1,1.2", error.header("version"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.0", "1.1", "1.2"})
    void sendReachesTopicSubscriber(String version) throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect(version);
            pub.connect(version);
            sub.subscribe("/topic/sensors/+/temp", "s1");
            pub.sendAndAwaitReceipt(StompTestClient.sendFrame("/topic/sensors/k1/temp", "21.5",
                    "content-type", "text/plain"), "r1");
            StompTestClient.Frame m = sub.next(StompCommand.MESSAGE);
            assertEquals("/topic/sensors/k1/temp", m.header("destination"));
            assertEquals("s1", m.header("subscription"));
            assertEquals("21.5", m.text());
            assertEquals("4", m.header("content-length"));
            assertEquals("text/plain", m.header("content-type"));
            assertNotNull(m.header("message-id"));
            assertNull(m.header("ack"), "no ack header for ack:auto");
        }
    }

    @Test
    void multiLevelWildcardAndUnsubscribe() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.subscribe("/topic/a/#", "all");
            c.sendAndAwaitReceipt(StompTestClient.sendFrame("/topic/a/b/c", "one"), "r1");
            assertEquals("one", c.next(StompCommand.MESSAGE).text());
            c.sendAndAwaitReceipt(frame(StompCommand.UNSUBSCRIBE, "id", "all"), "u1");
            c.sendAndAwaitReceipt(StompTestClient.sendFrame("/topic/a/b", "two"), "r2");
            assertNull(c.poll(300), "no MESSAGE after UNSUBSCRIBE");
        }
    }

    @Test
    void disconnectReceiptThenClose() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.sendAndAwaitReceipt(frame(StompCommand.DISCONNECT), "bye");
            c.awaitClosed();
        }
    }
}
