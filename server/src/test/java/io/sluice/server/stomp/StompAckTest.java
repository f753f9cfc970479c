package io.sluice.server.stomp;

import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.broker.BrokerConfig;
import io.sluice.server.broker.QueueLimits;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.sluice.server.stomp.StompTestClient.frame;
import static io.sluice.server.stomp.StompTestClient.sendFrame;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ack modes, prefetch windows, cumulative and individual ACK, NACK redelivery, backpressure on SEND. */
class StompAckTest {
    /** Two messages may wait per subscriber beyond its window: small enough to fill in a test. */
    private static final QueueLimits SMALL = new QueueLimits(2, 1 << 20, 32, 1000, List.of());
    private StompTestServer server;

    @BeforeEach
    void start() {
        server = new StompTestServer(Settings.defaults(), new BrokerConfig(SMALL, 1024));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static void sendAll(StompTestClient pub, String destination, int from, int to) throws InterruptedException {
        for (int i = from; i <= to; i++) {
            pub.sendAndAwaitReceipt(sendFrame(destination, "m" + i), "r" + i);
        }
    }

    @Test
    void clientIndividualHonoursThePrefetchWindow() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            pub.connect("1.2");
            sub.subscribe("/topic/w", "s", "ack", "client-individual", "prefetch-count", "2");
            sendAll(pub, "/topic/w", 1, 4);
            StompTestClient.Frame m1 = sub.next(StompCommand.MESSAGE);
            StompTestClient.Frame m2 = sub.next(StompCommand.MESSAGE);
            assertEquals(List.of("m1", "m2"), List.of(m1.text(), m2.text()));
            assertNotNull(m1.header("ack"));
            assertNull(sub.poll(300), "window of 2 is full");
            sub.send(frame(StompCommand.ACK, "id", m2.header("ack")));
            StompTestClient.Frame m3 = sub.next(StompCommand.MESSAGE);
            assertEquals("m3", m3.text());
            assertNull(sub.poll(300), "m1 still unacknowledged: individual ACK freed one slot only");
            sub.send(frame(StompCommand.ACK, "id", m1.header("ack")));
            assertEquals("m4", sub.next(StompCommand.MESSAGE).text());
        }
    }

    @Test
    void clientAckIsCumulative() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            pub.connect("1.2");
            sub.subscribe("/topic/w", "s", "ack", "client", "prefetch-count", "3");
            sendAll(pub, "/topic/w", 1, 5);
            List<StompTestClient.Frame> first = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                first.add(sub.next(StompCommand.MESSAGE));
            }
            assertNull(sub.poll(300));
            sub.send(frame(StompCommand.ACK, "id", first.get(2).header("ack")));
            assertEquals("m4", sub.next(StompCommand.MESSAGE).text());
            assertEquals("m5", sub.next(StompCommand.MESSAGE).text());
            // m1 was acknowledged by the cumulative ACK of m3
            sub.send(frame(StompCommand.ACK, "id", first.get(0).header("ack")));
            sub.expectError("ACK for unknown message");
        }
    }

    @Test
    void nackRedeliversMarkedRedelivered() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            pub.connect("1.2");
            sub.subscribe("/topic/n", "s", "ack", "client-individual");
            sendAll(pub, "/topic/n", 1, 1);
            StompTestClient.Frame m = sub.next(StompCommand.MESSAGE);
            assertNull(m.header("redelivered"));
            sub.send(frame(StompCommand.NACK, "id", m.header("ack")));
            StompTestClient.Frame again = sub.next(StompCommand.MESSAGE);
            assertEquals("m1", again.text());
            assertEquals("true", again.header("redelivered"));
            sub.sendAndAwaitReceipt(frame(StompCommand.ACK, "id", again.header("ack")), "done");
        }
    }

    @Test
    void version11AndVersion10AckByMessageId() throws Exception {
        for (String version : new String[] {"1.1", null}) {
            try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
                sub.connect(version);
                pub.connect("1.2");
                sub.subscribe("/topic/v", "s", "ack", "client", "prefetch-count", "1");
                sendAll(pub, "/topic/v", 1, 2);
                StompTestClient.Frame m = sub.next(StompCommand.MESSAGE);
                assertNull(m.header("ack"), "the ack header is 1.2's");
                sub.send(frame(StompCommand.ACK, "message-id", m.header("message-id"), "subscription", "s"));
                assertEquals("m2", sub.next(StompCommand.MESSAGE).text());
            }
        }
    }

    @Test
    void fullSubscriberWithholdsTheSendersReceipt() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            pub.connect("1.2");
            sub.subscribe("/topic/slow", "s", "ack", "client-individual", "prefetch-count", "1");
            // 1 in the window + 2 queued (max-queued-messages 2): the subscriber holds three
            sendAll(pub, "/topic/slow", 1, 3);
            StompTestClient.Frame m1 = sub.next(StompCommand.MESSAGE);
            pub.send(sendFrame("/topic/slow", "m4", "receipt", "r4"));
            assertNull(pub.poll(500), "RECEIPT withheld while the subscriber's queue is full");
            sub.send(frame(StompCommand.ACK, "id", m1.header("ack")));
            assertEquals("r4", pub.next(StompCommand.RECEIPT).header("receipt-id"));
            // nothing lost, in order
            List<String> rest = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                StompTestClient.Frame m = sub.next(StompCommand.MESSAGE);
                rest.add(m.text());
                sub.send(frame(StompCommand.ACK, "id", m.header("ack")));
            }
            assertEquals(List.of("m2", "m3", "m4"), rest);
        }
    }

    @Test
    void aConnectionHeldByItsOwnSubscriptionCanStillAck() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.subscribe("/queue/self", "s", "ack", "client-individual", "prefetch-count", "1");
            // 1 in the window + 2 queued: the fourth SEND waits for room this same connection must make
            for (int i = 1; i <= 4; i++) {
                c.send(sendFrame("/queue/self", "m" + i, "receipt", "r" + i));
            }
            List<String> bodies = new ArrayList<>();
            int receipts = 0;
            while (bodies.size() < 4 || receipts < 4) {
                StompTestClient.Frame f = c.next();
                if (f.command() == StompCommand.RECEIPT) {
                    receipts++;
                } else {
                    bodies.add(f.text());
                    c.send(frame(StompCommand.ACK, "id", f.header("ack")));
                }
            }
            assertEquals(List.of("m1", "m2", "m3", "m4"), bodies);
        }
    }

    @Test
    void heldPublisherIsNotTimedOutForUnreadHeartbeats() throws Exception {
        try (StompTestServer hb = new StompTestServer(Settings.defaults().with(Settings.STOMP_HEARTBEAT_MIN, 100L)
                .with(Settings.STOMP_HEARTBEAT_GRACE, 200L), new BrokerConfig(SMALL, 1024));
             StompTestClient sub = new StompTestClient(hb.port()); StompTestClient pub = new StompTestClient(hb.port())) {
            sub.connect("1.2");
            pub.connect("1.2", "200,0");
            sub.subscribe("/topic/held", "s", "ack", "client-individual", "prefetch-count", "1");
            // three fill the subscriber, the fourth waits, and the next frames fill the gate so reading stops
            int total = 4 + Settings.MAX_HELD_INBOUND.defaultValue();
            for (int i = 1; i <= total; i++) {
                pub.send(sendFrame("/topic/held", "m" + i, "receipt", "r" + i));
            }
            // beat for well over 200 ms + 200 ms grace while the server reads nothing
            for (int i = 0; i < 10; i++) {
                pub.sendRaw("\n");
                Thread.sleep(100);
            }
            assertTrue(pub.isOpen(), "a publisher held by backpressure is not timed out");
            for (int i = 1; i <= total; i++) {
                StompTestClient.Frame m = sub.next(StompCommand.MESSAGE);
                assertEquals("m" + i, m.text());
                sub.send(frame(StompCommand.ACK, "id", m.header("ack")));
            }
            for (int i = 1; i <= total; i++) {
                assertEquals("r" + i, pub.next(StompCommand.RECEIPT).header("receipt-id"));
            }
        }
    }

    @Test
    void autoAckDeliversEverythingInOrder() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            pub.connect("1.2");
            sub.subscribe("/topic/auto", "s", "prefetch-count", "1");
            for (int i = 1; i <= 200; i++) {
                pub.send(sendFrame("/topic/auto", "m" + i));
            }
            pub.sendAndAwaitReceipt(sendFrame("/topic/auto", "last"), "end");
            for (int i = 1; i <= 200; i++) {
                assertEquals("m" + i, sub.next(StompCommand.MESSAGE).text());
            }
            assertEquals("last", sub.next(StompCommand.MESSAGE).text());
        }
    }

    @Test
    void ackInAutoModeIsAnError() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            sub.subscribe("/topic/a", "s");
            sub.sendAndAwaitReceipt(sendFrame("/topic/a", "x"), "r");
            StompTestClient.Frame m = sub.next(StompCommand.MESSAGE);
            sub.send(frame(StompCommand.ACK, "id", m.header("message-id")));
            sub.expectError("ACK for unknown message");
        }
    }
}
