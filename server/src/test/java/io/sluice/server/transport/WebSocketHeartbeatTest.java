package io.sluice.server.transport;

import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Server Pings, and the idle timeout that closes a peer that sends nothing, not even a Pong. */
class WebSocketHeartbeatTest {

    @Test
    void theServerPingsAndClosesAPeerThatNeverAnswers() throws Exception {
        SluiceServer server = TransportTestServer.start(s -> s
                .with(Settings.WS_PING_INTERVAL, 100L)
                .with(Settings.WS_IDLE_TIMEOUT, 1_000L));
        try (RawWebSocket raw = RawWebSocket.connect(server.port("http"))) {
            assertTrue(raw.upgrade("/mqtt").startsWith("HTTP/1.1 101"));
            int pings = 0;
            WebSocketFrame f;
            while ((f = raw.read()) instanceof PingWebSocketFrame) { // the raw client never answers
                pings++;
                f.release();
            }
            assertTrue(pings >= 2, "pings before the close: " + pings);
            assertInstanceOf(CloseWebSocketFrame.class, f);
            assertEquals(1001, ((CloseWebSocketFrame) f).statusCode());
            f.release();
            assertTrue(raw.closedByServer());
        } finally {
            server.close();
        }
    }

    @Test
    void aPeerThatAnswersPingsOutlivesManyIdleTimeouts() throws Exception {
        SluiceServer server = TransportTestServer.start(s -> s
                .with(Settings.WS_PING_INTERVAL, 100L)
                .with(Settings.WS_IDLE_TIMEOUT, 2_000L));
        try (WsClient c = WsClient.connect(server.port("http"), "/", "mqtt")) {
            // The JDK client answers every Ping with a Pong by itself (and sends nothing else): wait for about
            // 5 s of pings, more than twice the idle timeout.
            long deadline = System.nanoTime() + 2 * WsClient.WAIT_SECONDS * 1_000_000_000L;
            while (c.pings.get() < 50 && System.nanoTime() < deadline) {
                assertTrue(c.events.isEmpty(), () -> "unexpected " + c.events.peek());
                Thread.sleep(50);
            }
            assertTrue(c.pings.get() >= 50, "pings: " + c.pings.get());
            c.binary("alive\n", true);
            assertEquals(new WsClient.Binary("mqtt:alive\n"), c.next());
        } finally {
            server.close();
        }
    }

    @Test
    void aPeerTheServerStoppedReadingIsNotClosedAsIdle() throws Exception {
        SluiceServer server = TransportTestServer.start(s -> s
                .with(Settings.WS_PING_INTERVAL, 0L)
                .with(Settings.WS_IDLE_TIMEOUT, 1_000L));
        try (WsClient c = WsClient.connect(server.port("http"), "/", "mqtt")) {
            c.binary("pause 3000\n", true); // three idle timeouts without the server reading
            assertEquals(new WsClient.Binary("mqtt:resumed\n"), c.next());
            c.binary("after\n", true);
            assertEquals(new WsClient.Binary("mqtt:after\n"), c.next());
        } finally {
            server.close();
        }
    }

    @Test
    void zeroSwitchesPingsAndTheIdleTimeoutOff() throws Exception {
        SluiceServer server = TransportTestServer.start(s -> s
                .with(Settings.WS_PING_INTERVAL, 0L)
                .with(Settings.WS_IDLE_TIMEOUT, 0L));
        try (RawWebSocket raw = RawWebSocket.connect(server.port("http"))) {
            assertTrue(raw.upgrade("/mqtt").startsWith("HTTP/1.1 101"));
            raw.socket.setSoTimeout(1_500);
            assertTrue(!raw.closedByServer(), "closed or pinged although both are off");
        } finally {
            server.close();
        }
    }
}
