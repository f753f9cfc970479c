package io.sluice.server.stomp;

import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.broker.Authorizer;
import io.sluice.server.security.Login;
import io.sluice.server.security.Security;
import io.sluice.server.broker.BrokerConfig;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;

import static io.sluice.server.stomp.StompTestClient.frame;
import static io.sluice.server.stomp.StompTestClient.sendFrame;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each kind of bad input gets an ERROR frame (message header and a body saying what was wrong), then the
 * connection closes; what the broker accepted before stays accepted, and other connections carry on.
 */
class StompBadInputTest {
    private StompTestServer server;
    private StompTestClient bystander;

    @BeforeEach
    void start() throws Exception {
        server = new StompTestServer(Settings.defaults()
                .with(Settings.MAX_PACKET_SIZE, 1024)
                .with(Settings.STOMP_MAX_HEADER_LINE, 256)
                .with(Settings.STOMP_MAX_HEADERS, 8)
                .with(Settings.STOMP_MAX_SUBSCRIPTIONS, 2),
                BrokerConfig.DEFAULTS,
                Security.of(credentials -> "mallory".equals(credentials.username()) ? Login.badCredentials("test")
                        : Login.allow(credentials.username()), Authorizer.ALLOW_ALL));
        bystander = new StompTestClient(server.port());
        bystander.connect("1.2");
        bystander.subscribe("/topic/#", "all");
    }

    @AfterEach
    void stop() throws Exception {
        // the other connection is unaffected
        bystander.send(sendFrame("/topic/still/fine", "ok", "receipt", "fine"));
        boolean receipt = false;
        for (int i = 0; i < 10 && !receipt; i++) {
            receipt = bystander.next().command() == StompCommand.RECEIPT;
        }
        assertTrue(receipt);
        bystander.close();
        server.close();
    }

    private StompTestClient connected() throws InterruptedException {
        StompTestClient c = new StompTestClient(server.port());
        c.connect("1.2");
        return c;
    }

    @Test
    void unknownCommand() throws Exception {
        try (StompTestClient c = connected()) {
            c.sendRaw("FLY\ndestination:/topic/a\n\n\0");
            c.expectError("unknown command");
        }
    }

    @Test
    void serverFrameFromClient() throws Exception {
        try (StompTestClient c = connected()) {
            c.send(frame(StompCommand.MESSAGE, "destination", "/topic/a"));
            c.expectError("unexpected MESSAGE frame");
        }
    }

    @Test
    void frameBeforeConnect() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.send(sendFrame("/topic/a", "x"));
            c.expectError("not connected");
        }
    }

    @Test
    void refusedLogin() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.send(frame(StompCommand.CONNECT, "accept-version", "1.2", "host", "x", "login", "mallory", "passcode", "x"));
            c.expectError("access refused");
        }
    }

    @Test
    void missingDestination() throws Exception {
        try (StompTestClient c = connected()) {
            c.send(frame(StompCommand.SEND, "receipt", "r"));
            assertEquals("r", c.expectError("missing destination header").header("receipt-id"));
        }
    }

    @Test
    void missingSubscriptionId() throws Exception {
        try (StompTestClient c = connected()) {
            c.send(frame(StompCommand.SUBSCRIBE, "destination", "/topic/a"));
            c.expectError("missing id header");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"/exchange/amq.topic/a", "/topic/", "/topic/a/+", "/topic/a/#", "/topic/$SYS/x", "/queue/a/+", "nowhere"})
    void invalidSendDestination(String destination) throws Exception {
        try (StompTestClient c = connected()) {
            c.send(sendFrame(destination, "x"));
            c.expectError("invalid destination");
        }
    }

    @Test
    void invalidSubscribeFilter() throws Exception {
        try (StompTestClient c = connected()) {
            c.send(frame(StompCommand.SUBSCRIBE, "destination", "/topic/a/#/b", "id", "1"));
            c.expectError("invalid destination");
        }
    }

    @Test
    void bodyOverTheSizeLimit() throws Exception {
        byte[] big = new byte[2000];
        Arrays.fill(big, (byte) 'x');
        try (StompTestClient c = connected()) {
            c.send(sendFrame("/topic/big", big, "content-length", "2000"));
            c.expectError("frame too large");
        }
        try (StompTestClient c = connected()) {
            c.send(sendFrame("/topic/big", big));
            c.expectError("frame too large");
        }
        // at the limit it passes
        try (StompTestClient c = connected()) {
            c.sendAndAwaitReceipt(sendFrame("/topic/big", Arrays.copyOf(big, 1024)), "fits");
        }
    }

    @Test
    void bodyLongerThanItsContentLength() throws Exception {
        try (StompTestClient c = connected()) {
            c.sendRaw("SEND\ndestination:/topic/a\ncontent-length:2\n\nabc\0");
            c.expectError("malformed frame");
        }
    }

    @Test
    void headerLineOverTheLimit() throws Exception {
        try (StompTestClient c = connected()) {
            // "long:" plus 251 characters is a line of 256 bytes, the limit
            c.sendAndAwaitReceipt(sendFrame("/topic/a", "x", "long", "v".repeat(251)), "fits");
        }
        try (StompTestClient c = connected()) {
            c.send(sendFrame("/topic/a", "x", "long", "v".repeat(300)));
            c.expectError("frame too large");
        }
    }

    @Test
    void tooManyHeaders() throws Exception {
        try (StompTestClient c = connected()) {
            // destination, receipt and six more: eight, the limit
            c.sendAndAwaitReceipt(sendFrame("/topic/a", "x", "h1", "1", "h2", "2", "h3", "3", "h4", "4", "h5", "5", "h6", "6"), "fits");
        }
        try (StompTestClient c = connected()) {
            c.send(sendFrame("/topic/a", "x", "h1", "1", "h2", "2", "h3", "3", "h4", "4", "h5", "5", "h6", "6", "h7", "7", "h8", "8"));
            c.expectError("frame too large");
        }
    }

    @Test
    void tooManySubscriptions() throws Exception {
        try (StompTestClient c = connected()) {
            c.subscribe("/topic/a", "1");
            c.subscribe("/topic/b", "2");
            c.send(frame(StompCommand.SUBSCRIBE, "destination", "/topic/c", "id", "3"));
            c.expectError("too many subscriptions");
        }
    }

    @Test
    void badAckHeaderAndPrefetch() throws Exception {
        try (StompTestClient c = connected()) {
            c.send(frame(StompCommand.SUBSCRIBE, "destination", "/topic/c", "id", "3", "ack", "sometimes"));
            c.expectError("bad ack header");
        }
        try (StompTestClient c = connected()) {
            c.send(frame(StompCommand.SUBSCRIBE, "destination", "/topic/c", "id", "3", "prefetch-count", "0"));
            c.expectError("bad prefetch-count header");
        }
    }

    @Test
    void ackForUnknownId() throws Exception {
        try (StompTestClient c = connected()) {
            c.send(frame(StompCommand.ACK, "id", "7-42"));
            c.expectError("ACK for unknown message");
        }
        try (StompTestClient c = connected()) {
            c.send(frame(StompCommand.NACK, "id", "garbage"));
            c.expectError("NACK for unknown message");
        }
    }

    @Test
    void whatWasAcceptedBeforeTheBadFrameIsKept() throws Exception {
        try (StompTestClient c = connected()) {
            c.sendRaw("SEND\ndestination:/topic/kept\nreceipt:before\n\naccepted\0FLY\n\n\0SEND\ndestination:/topic/kept\n\nafter\0");
            assertEquals("before", c.next(StompCommand.RECEIPT).header("receipt-id"));
            c.expectError("unknown command");
        }
        StompTestClient.Frame m = bystander.next(StompCommand.MESSAGE);
        assertEquals("accepted", m.text());
        assertTrue(bystander.poll(300) == null, "nothing after the bad frame was taken");
    }
}
