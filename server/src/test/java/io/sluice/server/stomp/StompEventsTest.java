package io.sluice.server.stomp;

import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.sluice.server.stomp.StompTestClient.frame;
import static io.sluice.server.stomp.StompTestClient.sendFrame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What STOMP connections report to operations (metrics, connection log), and the topic limits they obey. */
class StompEventsTest {
    private StompTestServer server;

    @BeforeEach
    void start() {
        server = new StompTestServer(Settings.defaults()
                .with(Settings.MAX_TOPIC_LENGTH, 16)
                .with(Settings.MAX_TOPIC_LEVELS, 3)
                .with(Settings.STOMP_HEARTBEAT_MIN, 100L)
                .with(Settings.STOMP_HEARTBEAT_GRACE, 200L)
                .with(Settings.STOMP_CONNECT_TIMEOUT, 300L));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void connectTrafficAndGoodbye() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2", "100,100");
            assertTrue(server.events.await("connected stomp"));
            c.subscribe("/topic/a", "s");
            c.sendAndAwaitReceipt(sendFrame("/topic/a", "four"), "r");
            c.next(StompCommand.MESSAGE);
            assertTrue(server.events.await("in qos1 4"));
            assertTrue(server.events.await("out qos1 4"));
            c.sendRaw("\n");
            assertTrue(server.events.await("heartbeat stomp_heartbeat_received"));
            assertTrue(server.events.await("heartbeat stomp_heartbeat_sent"));
            c.sendAndAwaitReceipt(frame(StompCommand.DISCONNECT), "bye");
            assertTrue(server.events.await("disconnected client_disconnect"));
        }
    }

    @Test
    void errorsAndTimeouts() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.sendRaw("FLY\n\n\0");
            c.expectError("unknown command");
            assertTrue(server.events.await("protocol error"));
            assertTrue(server.events.await("disconnected protocol_error"));
        }
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2", "100,0");
            c.expectError("heart-beat timeout");
            assertTrue(server.events.await("heartbeat timeout"));
            assertTrue(server.events.await("disconnected keep_alive_timeout"));
        }
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.send(frame(StompCommand.CONNECT, "accept-version", "9.9", "host", "x"));
            c.expectError("unsupported STOMP version");
            assertTrue(server.events.await("refused unsupported_version"));
        }
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.close();
            assertTrue(server.events.await("disconnected connection_lost"));
        }
    }

    @Test
    void noConnectInTimeIsRefused() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.sendRaw("CONN");
            c.expectError("CONNECT timeout");
            assertTrue(server.events.await("refused handshake_timeout"));
        }
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            Thread.sleep(600);
            c.sendAndAwaitReceipt(sendFrame("/topic/a", "connected in time stays connected"), "r");
        }
    }

    @Test
    void topicLimitsApplyToDestinations() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.sendAndAwaitReceipt(sendFrame("/topic/a/b/c", "three levels fit"), "ok");
            c.send(sendFrame("/topic/a/b/c/d", "four do not"));
            c.expectError("destination too long");
            assertTrue(server.events.await("limit topic_levels"));
            assertTrue(server.events.await("disconnected limit_exceeded"));
        }
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.send(frame(StompCommand.SUBSCRIBE, "destination", "/topic/" + "x".repeat(17), "id", "1"));
            c.expectError("destination too long");
            assertTrue(server.events.await("limit topic_length"));
        }
    }
}
