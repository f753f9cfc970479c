package io.sluice.server.stomp;

import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.broker.BrokerConfig;
import io.sluice.server.broker.QueueLimits;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static io.sluice.server.stomp.StompTestClient.frame;
import static io.sluice.server.stomp.StompTestClient.sendFrame;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /queue/ destinations: competing consumers, held while nobody consumes (bounded), redelivery to another consumer. */
class StompQueueTest {
    private static final QueueLimits LIMITS = new QueueLimits(5, 1 << 20, 32, 1000, List.of());
    private StompTestServer server;

    @BeforeEach
    void start() {
        server = new StompTestServer(Settings.defaults().with(Settings.STOMP_MAX_QUEUES, 3), new BrokerConfig(LIMITS, 1024));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void eachMessageGoesToOneConsumer() throws Exception {
        try (StompTestClient a = new StompTestClient(server.port());
             StompTestClient b = new StompTestClient(server.port());
             StompTestClient pub = new StompTestClient(server.port())) {
            a.connect("1.2");
            b.connect("1.2");
            pub.connect("1.2");
            a.subscribe("/queue/work", "a");
            b.subscribe("/queue/work", "b");
            for (int i = 0; i < 10; i++) {
                pub.sendAndAwaitReceipt(sendFrame("/queue/work", "job" + i), "r" + i);
            }
            List<String> all = new ArrayList<>();
            StompTestClient.Frame f;
            while (all.size() < 10 && (f = a.poll(200)) != null) {
                all.add(f.text());
                assertEquals("/queue/work", f.header("destination"));
            }
            int fromA = all.size();
            while (all.size() < 10 && (f = b.poll(2000)) != null) {
                all.add(f.text());
            }
            assertEquals(10, all.size(), all.toString());
            assertEquals(10, new HashSet<>(all).size(), "no message twice: " + all);
            assertTrue(fromA > 0 && fromA < 10, "both consumers got some: " + fromA);
            assertNull(a.poll(200));
            assertNull(b.poll(200));
        }
    }

    @Test
    void heldWhileNoConsumerThenDeliveredInOrder() throws Exception {
        try (StompTestClient pub = new StompTestClient(server.port())) {
            pub.connect("1.2");
            for (int i = 1; i <= 3; i++) {
                pub.sendAndAwaitReceipt(sendFrame("/queue/later", "m" + i), "r" + i);
            }
        }
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.subscribe("/queue/later", "q", "ack", "client-individual");
            for (int i = 1; i <= 3; i++) {
                StompTestClient.Frame m = c.next(StompCommand.MESSAGE);
                assertEquals("m" + i, m.text());
                c.send(frame(StompCommand.ACK, "id", m.header("ack")));
            }
        }
    }

    @Test
    void queueWithoutConsumerIsBounded() throws Exception {
        try (StompTestClient pub = new StompTestClient(server.port())) {
            pub.connect("1.2");
            for (int i = 1; i <= 5; i++) {
                pub.sendAndAwaitReceipt(sendFrame("/queue/full", "m" + i), "r" + i);
            }
            pub.send(sendFrame("/queue/full", "m6", "receipt", "r6"));
            StompTestClient.Frame error = pub.expectError("queue full");
            assertEquals("r6", error.header("receipt-id"));
        }
        // the five accepted are still there
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.subscribe("/queue/full", "q");
            for (int i = 1; i <= 5; i++) {
                assertEquals("m" + i, c.next(StompCommand.MESSAGE).text());
            }
        }
    }

    @Test
    void numberOfQueuesIsBounded() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            for (int i = 0; i < 3; i++) {
                c.sendAndAwaitReceipt(sendFrame("/queue/q" + i, "x"), "r" + i);
            }
            c.send(sendFrame("/queue/q3", "x"));
            c.expectError("too many queues");
        }
    }

    @Test
    void unacknowledgedGoToAnotherConsumerWhenOneLeaves() throws Exception {
        try (StompTestClient stays = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            stays.connect("1.2");
            pub.connect("1.2");
            Set<String> seen = new HashSet<>();
            try (StompTestClient leaves = new StompTestClient(server.port())) {
                leaves.connect("1.2");
                leaves.subscribe("/queue/jobs", "l", "ack", "client-individual", "prefetch-count", "5");
                for (int i = 1; i <= 3; i++) {
                    pub.sendAndAwaitReceipt(sendFrame("/queue/jobs", "j" + i), "r" + i);
                }
                for (int i = 1; i <= 3; i++) {
                    seen.add(leaves.next(StompCommand.MESSAGE).text());
                }
                stays.subscribe("/queue/jobs", "s", "ack", "client-individual");
            }
            // the leaver acknowledged nothing: all three come again, to the one that stays
            Set<String> again = new HashSet<>();
            for (int i = 0; i < 3; i++) {
                again.add(stays.next(StompCommand.MESSAGE).text());
            }
            assertEquals(seen, again);
            assertEquals(Set.of("j1", "j2", "j3"), again);
        }
    }

    @Test
    void unacknowledgedAreHeldWhenTheLastConsumerLeaves() throws Exception {
        try (StompTestClient pub = new StompTestClient(server.port())) {
            pub.connect("1.2");
            try (StompTestClient only = new StompTestClient(server.port())) {
                only.connect("1.2");
                only.subscribe("/queue/solo", "o", "ack", "client-individual");
                pub.sendAndAwaitReceipt(sendFrame("/queue/solo", "first"), "r1");
                assertEquals("first", only.next(StompCommand.MESSAGE).text());
            }
            pub.sendAndAwaitReceipt(sendFrame("/queue/solo", "second"), "r2");
        }
        try (StompTestClient next = new StompTestClient(server.port())) {
            next.connect("1.2");
            next.subscribe("/queue/solo", "n", "ack", "client-individual");
            Set<String> got = new HashSet<>();
            for (int i = 0; i < 2; i++) {
                StompTestClient.Frame m = next.next(StompCommand.MESSAGE);
                got.add(m.text());
                next.send(frame(StompCommand.ACK, "id", m.header("ack")));
            }
            assertEquals(Set.of("first", "second"), got);
        }
    }

    @Test
    void topicNamespaceOfQueuesIsReserved() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.send(frame(StompCommand.SUBSCRIBE, "destination", "/topic/$stomp/queue/jobs", "id", "1"));
            c.expectError("invalid destination");
        }
    }
}
