package io.sluice.server.ops;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code max-pending-handshakes}: at that many connections accepted and not yet answered the listeners stop
 * accepting, and resume once half of them are answered or closed.
 */
class HandshakeBudgetTest {
    /** MQTT 3.1.1 CONNECT, clean session, keep-alive 60, client id "c" or "d". */
    private static final byte[] CONNECT_C = {0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'c'};
    private static final byte[] CONNECT_D = {0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'd'};
    private static final byte[] CONNACK_ACCEPTED = {0x20, 2, 0, 0};

    @Test
    void pausesAtTheLimitNotBeforeAndResumesOnceHalfThePlacesCameBack() {
        HandshakeBudget budget = new HandshakeBudget(4);
        EmbeddedChannel listener = new EmbeddedChannel();
        budget.pauses(listener);
        EmbeddedChannel[] c = new EmbeddedChannel[4];
        for (int i = 0; i < 4; i++) {
            c[i] = new EmbeddedChannel();
            budget.take(c[i]);
            assertEquals(i == 3, budget.paused(), "paused at the limit (4), not before: " + (i + 1));
        }
        assertFalse(listener.config().isAutoRead(), "the listener stops accepting");

        Admission.established(c[0]);
        Admission.established(c[0]); // answered twice, given back once
        listener.runPendingTasks();
        assertEquals(3, budget.pending());
        assertTrue(budget.paused(), "one place free is not half");

        c[1].close(); // a socket closing before its answer gives its place back
        listener.runPendingTasks();
        assertEquals(2, budget.pending());
        assertFalse(budget.paused(), "half free: accepting again");
        assertTrue(listener.config().isAutoRead());
        Admission.established(c[1]);
        assertEquals(2, budget.pending());
    }

    /** A socket silent for a second on its I/O thread gives its place back; one that spoke keeps it until answered. */
    @Test
    void aSilentSocketGivesItsPlaceBackAndASpeakingOneKeepsIt() throws Exception {
        HandshakeBudget budget = new HandshakeBudget(2);
        EmbeddedChannel silent = new EmbeddedChannel(false, false);
        EmbeddedChannel speaking = new EmbeddedChannel(false, false);
        budget.take(silent);
        budget.take(speaking);
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
     * both places and the listeners pause; a third client waits in the listen backlog and gets its CONNACK once
     * one of the two is answered.
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
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!budget.paused()) {
                assertTrue(System.nanoTime() < deadline, "never paused; pending " + budget.pending());
                Thread.sleep(10);
            }
            assertEquals(2, budget.pending());
            try (Socket third = new Socket("127.0.0.1", server.mqttPort())) {
                third.setSoTimeout(20_000);
                third.getOutputStream().write(CONNECT_D);
                assertTrue(budget.paused(), "the third waits in the backlog while both places are held");
                first.setSoTimeout(20_000);
                first.getOutputStream().write(CONNECT_C, 1, CONNECT_C.length - 1);
                assertArrayEquals(CONNACK_ACCEPTED, read(first.getInputStream(), 4));
                assertArrayEquals(CONNACK_ACCEPTED, read(third.getInputStream(), 4), "let in once a place was free");
            }
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
