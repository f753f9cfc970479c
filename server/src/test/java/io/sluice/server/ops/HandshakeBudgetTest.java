package io.sluice.server.ops;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code max-pending-handshakes}: past that many connections on the I/O threads and not yet answered, sockets just
 * accepted wait for a place in the order they came, on no I/O thread; past {@code accept-backlog} waiting the
 * listeners stop accepting, and resume once half of those were handed over. One that waited past
 * {@code handshake-timeout} is closed unanswered when its turn comes.
 */
class HandshakeBudgetTest {
    /** MQTT 3.1.1 CONNECT, clean session, keep-alive 60, client id "c" or "d". */
    private static final byte[] CONNECT_C = {0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'c'};
    private static final byte[] CONNECT_D = {0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'd'};
    private static final byte[] CONNACK_ACCEPTED = {0x20, 2, 0, 0};

    @Test
    void socketsPastTheLimitWaitInOrderAndTheListenersPauseOnlyWhenTheQueueIsFull() {
        HandshakeBudget budget = new HandshakeBudget(2, 3);
        EmbeddedChannel listener = new EmbeddedChannel();
        budget.pauses(listener);
        List<Channel> handedOver = new ArrayList<>();
        EmbeddedChannel[] c = new EmbeddedChannel[5];
        for (int i = 0; i < 5; i++) {
            c[i] = new EmbeddedChannel();
            budget.enter(c[i], (child, waited) -> handedOver.add(child));
            assertEquals(i == 4, budget.paused(), "paused once 3 wait, not before: " + (i + 1));
        }
        assertEquals(List.of(c[0], c[1]), handedOver, "the first two at once, the others wait");
        assertEquals(2, budget.pending());
        assertEquals(3, budget.waiting());
        assertFalse(listener.config().isAutoRead(), "the listener stops accepting");

        Admission.established(c[0]);
        Admission.established(c[0]); // answered twice, given back once
        assertFalse(c[0].hasAttr(HandshakeBudget.PLACE), "an answered connection keeps nothing of its place");
        listener.runPendingTasks();
        assertEquals(List.of(c[0], c[1], c[2]), handedOver, "the oldest waiting one takes the freed place");
        assertEquals(2, budget.pending());
        assertEquals(2, budget.waiting());
        assertTrue(budget.paused(), "two of three still waiting is more than half");

        c[1].close(); // a socket closing before its answer gives its place back
        listener.runPendingTasks();
        assertEquals(List.of(c[0], c[1], c[2], c[3]), handedOver);
        assertEquals(1, budget.waiting());
        assertFalse(budget.paused(), "half the queue served: accepting again");
        assertTrue(listener.config().isAutoRead());
        Admission.established(c[1]);
        assertEquals(2, budget.pending(), "a place comes back once");
        c[0].close();
        assertEquals(2, budget.pending(), "an answered connection that closes gives nothing back again");
    }

    /** A socket silent for a second on its I/O thread gives its place back; one that spoke keeps it until answered. */
    @Test
    void aSilentSocketGivesItsPlaceBackAndASpeakingOneKeepsIt() throws Exception {
        HandshakeBudget budget = new HandshakeBudget(2, 2);
        EmbeddedChannel silent = new EmbeddedChannel(false, false);
        EmbeddedChannel speaking = new EmbeddedChannel(false, false);
        budget.enter(silent, (child, waited) -> { });
        budget.enter(speaking, (child, waited) -> { });
        silent.register();
        speaking.register();
        speaking.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x10}));
        speaking.releaseInbound();
        assertEquals(2, budget.pending());
        silent.advanceTimeBy(HandshakeBudget.SILENT_MILLIS, TimeUnit.MILLISECONDS);
        speaking.advanceTimeBy(HandshakeBudget.SILENT_MILLIS, TimeUnit.MILLISECONDS);
        silent.runScheduledPendingTasks();
        speaking.runScheduledPendingTasks();
        assertEquals(1, budget.pending(), "the silent one gave its place back, the speaking one did not");
        Admission.established(speaking);
        assertEquals(0, budget.pending());
    }

    /**
     * A real broker with {@code --max-pending-handshakes 2}: two clients whose CONNECT has begun and not ended hold
     * both places; a third client, accepted, waits for a place with its CONNECT unread and gets its CONNACK once one
     * of the two is answered.
     */
    @Test
    void aBrokerAtTheLimitLetsTheNextClientInOnceAHandshakeIsAnswered() throws Exception {
        try (OpsTestServer server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.MAX_PENDING_HANDSHAKES, 2));
             Socket first = new Socket("127.0.0.1", server.mqttPort());
             Socket second = new Socket("127.0.0.1", server.mqttPort())) {
            first.getOutputStream().write(CONNECT_C, 0, 1);
            second.getOutputStream().write(CONNECT_C, 0, 1);
            HandshakeBudget budget = server.ops.handshakes();
            awaitTrue(() -> budget.pending() == 2, () -> "pending " + budget.pending());
            try (Socket third = new Socket("127.0.0.1", server.mqttPort())) {
                third.setSoTimeout(20_000);
                third.getOutputStream().write(CONNECT_D);
                awaitTrue(() -> budget.waiting() == 1, () -> "waiting " + budget.waiting());
                assertEquals(2, budget.pending(), "the third waits while both places are held");
                first.setSoTimeout(20_000);
                first.getOutputStream().write(CONNECT_C, 1, CONNECT_C.length - 1);
                assertArrayEquals(CONNACK_ACCEPTED, read(first.getInputStream(), 4));
                assertArrayEquals(CONNACK_ACCEPTED, read(third.getInputStream(), 4), "let in once a place was free");
                assertEquals(0, budget.waiting());
            }
        }
    }

    /**
     * At the limit of {@code handshake-timeout}: a socket that waited longer than it for a place is closed unanswered
     * when its turn comes, and counted as refused for that reason; one that waited less is served.
     */
    @Test
    void aSocketThatWaitedPastTheHandshakeTimeoutIsClosedWhenItsTurnComes() throws Exception {
        try (OpsTestServer server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.MAX_PENDING_HANDSHAKES, 1).with(Settings.HANDSHAKE_TIMEOUT, 1_000L));
             Socket first = new Socket("127.0.0.1", server.mqttPort())) {
            first.getOutputStream().write(CONNECT_C, 0, 1);
            HandshakeBudget budget = server.ops.handshakes();
            awaitTrue(() -> budget.pending() == 1, () -> "pending " + budget.pending());
            try (Socket stale = new Socket("127.0.0.1", server.mqttPort())) {
                stale.setSoTimeout(20_000);
                stale.getOutputStream().write(CONNECT_D);
                awaitTrue(() -> budget.waiting() == 1, () -> "waiting " + budget.waiting());
                long queued = System.nanoTime();
                while (System.nanoTime() - queued < TimeUnit.MILLISECONDS.toNanos(1_500)) {
                    Thread.sleep(50); // past the handshake timeout, measured from when it was seen waiting
                }
                first.setSoTimeout(20_000);
                first.getOutputStream().write(CONNECT_C, 1, CONNECT_C.length - 1);
                assertArrayEquals(CONNACK_ACCEPTED, read(first.getInputStream(), 4));
                assertClosedUnanswered(stale);
                awaitTrue(() -> refusedForTimeout(server) == 1, () -> "refusal not counted");
                try (Socket fresh = new Socket("127.0.0.1", server.mqttPort())) {
                    fresh.setSoTimeout(20_000);
                    fresh.getOutputStream().write(CONNECT_D);
                    assertArrayEquals(CONNACK_ACCEPTED, read(fresh.getInputStream(), 4), "a socket served in time");
                }
            }
        }
    }

    /** Closed without a byte: a FIN, or a reset (its CONNECT was left unread). */
    private static void assertClosedUnanswered(Socket socket) throws IOException {
        try {
            assertEquals(-1, socket.getInputStream().read(), "closed unanswered");
        } catch (java.net.SocketException reset) {
            assertTrue(reset.getMessage().contains("reset"), reset.getMessage());
        }
    }

    private static double refusedForTimeout(OpsTestServer server) {
        try {
            return Scrape.of(server.httpPort()).value("sluice_connections_refused_total", "reason", "handshake_timeout");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void awaitTrue(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what.get());
            Thread.sleep(10);
        }
    }

    private static byte[] read(InputStream in, int n) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (out.size() < n) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed after " + out.size() + " bytes");
            }
            out.write(b);
        }
        return out.toByteArray();
    }
}
