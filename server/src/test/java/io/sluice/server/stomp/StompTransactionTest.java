package io.sluice.server.stomp;

import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.sluice.server.stomp.StompTestClient.frame;
import static io.sluice.server.stomp.StompTestClient.sendFrame;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** BEGIN/COMMIT/ABORT: SEND and ACK applied at COMMIT, discarded at ABORT and at disconnect; receipts for each. */
class StompTransactionTest {
    private StompTestServer server;

    @BeforeEach
    void start() {
        server = new StompTestServer(Settings.defaults().with(Settings.STOMP_MAX_TRANSACTION_FRAMES, 3));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void sendsAppliedAtCommitInOrder() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            pub.connect("1.2");
            sub.subscribe("/topic/tx", "s");
            pub.sendAndAwaitReceipt(frame(StompCommand.BEGIN, "transaction", "t1"), "b");
            pub.sendAndAwaitReceipt(sendFrame("/topic/tx", "one", "transaction", "t1"), "s1");
            pub.sendAndAwaitReceipt(sendFrame("/topic/tx", "two", "transaction", "t1"), "s2");
            assertNull(sub.poll(300), "nothing before COMMIT");
            pub.sendAndAwaitReceipt(frame(StompCommand.COMMIT, "transaction", "t1"), "c");
            assertEquals("one", sub.next(StompCommand.MESSAGE).text());
            assertEquals("two", sub.next(StompCommand.MESSAGE).text());
        }
    }

    @Test
    void abortAndDisconnectDiscard() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            sub.subscribe("/topic/tx", "s");
            try (StompTestClient pub = new StompTestClient(server.port())) {
                pub.connect("1.2");
                pub.send(frame(StompCommand.BEGIN, "transaction", "t1"));
                pub.send(sendFrame("/topic/tx", "aborted", "transaction", "t1"));
                pub.sendAndAwaitReceipt(frame(StompCommand.ABORT, "transaction", "t1"), "a");
                pub.send(frame(StompCommand.BEGIN, "transaction", "t2"));
                pub.sendAndAwaitReceipt(sendFrame("/topic/tx", "never committed", "transaction", "t2"), "s");
            }
            try (StompTestClient pub = new StompTestClient(server.port())) {
                pub.connect("1.2");
                pub.sendAndAwaitReceipt(sendFrame("/topic/tx", "plain"), "p");
            }
            assertEquals("plain", sub.next(StompCommand.MESSAGE).text());
            assertNull(sub.poll(300));
        }
    }

    @Test
    void ackInTransactionAppliedAtCommitOnly() throws Exception {
        try (StompTestClient sub = new StompTestClient(server.port()); StompTestClient pub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            pub.connect("1.2");
            sub.subscribe("/topic/txack", "s", "ack", "client-individual", "prefetch-count", "1");
            pub.sendAndAwaitReceipt(sendFrame("/topic/txack", "m1"), "r1");
            pub.sendAndAwaitReceipt(sendFrame("/topic/txack", "m2"), "r2");
            StompTestClient.Frame m1 = sub.next(StompCommand.MESSAGE);
            sub.send(frame(StompCommand.BEGIN, "transaction", "t"));
            sub.send(frame(StompCommand.ACK, "id", m1.header("ack"), "transaction", "t"));
            sub.sendAndAwaitReceipt(frame(StompCommand.ABORT, "transaction", "t"), "a");
            assertNull(sub.poll(300), "the aborted ACK freed nothing");
            sub.send(frame(StompCommand.BEGIN, "transaction", "t2"));
            sub.send(frame(StompCommand.ACK, "id", m1.header("ack"), "transaction", "t2"));
            sub.send(frame(StompCommand.COMMIT, "transaction", "t2"));
            assertEquals("m2", sub.next(StompCommand.MESSAGE).text());
        }
    }

    @Test
    void unknownTransactionIsAnError() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.send(frame(StompCommand.COMMIT, "transaction", "nope"));
            c.expectError("unknown transaction");
        }
    }

    @Test
    void transactionSizeIsBounded() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.send(frame(StompCommand.BEGIN, "transaction", "t"));
            for (int i = 0; i < 3; i++) {
                c.sendAndAwaitReceipt(sendFrame("/topic/x", "m", "transaction", "t"), "r" + i);
            }
            c.send(sendFrame("/topic/x", "m", "transaction", "t"));
            c.expectError("transaction too large");
        }
    }
}
