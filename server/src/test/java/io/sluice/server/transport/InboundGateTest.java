package io.sluice.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gate's rules, for any bound: in order, nothing lost; acknowledgements pass while paused; reading stops at
 * exactly the bound and starts again on resume; a closing connection releases what is held. The protocols'
 * end-to-end proofs (a real publisher held by a real slow subscriber) are in the MQTT and STOMP flow tests.
 */
class InboundGateTest {
    /** "ack..." messages pass while paused, as a protocol's acknowledgements do. */
    private static final Predicate<Object> ACKS = m -> m instanceof String s && s.startsWith("ack");

    private static final class Recorder extends ChannelInboundHandlerAdapter {
        final List<Object> seen = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            seen.add(msg instanceof ByteBuf b ? b.toString(StandardCharsets.US_ASCII) : msg);
            if (msg instanceof ByteBuf b) {
                b.release();
            }
        }
    }

    @Test
    void readingStopsAtExactlyTheBoundForEveryBound() {
        for (int bound : new int[] {1, 2, 8, 16, 100}) {
            InboundGate gate = new InboundGate(bound, ACKS);
            Recorder rec = new Recorder();
            EmbeddedChannel ch = new EmbeddedChannel(gate, rec);
            ch.writeInbound("p0");
            gate.pause();
            for (int i = 1; i < bound; i++) {
                ch.writeInbound("p" + i);
                assertTrue(ch.config().isAutoRead(), "bound " + bound + ": still reading with " + i + " held");
            }
            ch.writeInbound("p" + bound);
            assertFalse(ch.config().isAutoRead(), "bound " + bound + ": stops reading once " + bound + " are held");
            assertEquals(bound, gate.heldCount());
            assertEquals(List.of("p0"), rec.seen);
            gate.resume();
            assertTrue(ch.config().isAutoRead(), "reads again after resume");
            assertEquals(bound + 1, rec.seen.size());
            for (int i = 0; i <= bound; i++) {
                assertEquals("p" + i, rec.seen.get(i), "replayed in order");
            }
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void acknowledgementsPassWhilePausedAndEverythingElseKeepsItsOrder() {
        InboundGate gate = new InboundGate(16, ACKS);
        Recorder rec = new Recorder();
        EmbeddedChannel ch = new EmbeddedChannel(gate, rec);
        gate.pause();
        ch.writeInbound("p1", "ack1", "p2", "ack2");
        assertEquals(List.of("ack1", "ack2"), rec.seen);
        gate.resume();
        assertEquals(List.of("ack1", "ack2", "p1", "p2"), rec.seen);
        ch.finishAndReleaseAll();
    }

    @Test
    void aReplayedMessageMayPauseAgainAndTheRestWaits() {
        InboundGate gate = new InboundGate(16, ACKS);
        List<Object> seen = new ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(gate, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                seen.add(msg);
                if ("wait".equals(msg)) {
                    gate.pause();
                }
            }
        });
        ch.writeInbound("wait", "a", "wait", "b");
        assertEquals(List.of("wait"), seen);
        gate.resume();
        assertEquals(List.of("wait", "a", "wait"), seen);
        gate.resume();
        assertEquals(List.of("wait", "a", "wait", "b"), seen);
        ch.finishAndReleaseAll();
    }

    @Test
    void pushedFrontRunsBeforeWhatWasHeld() {
        InboundGate gate = new InboundGate(16, ACKS);
        Recorder rec = new Recorder();
        EmbeddedChannel ch = new EmbeddedChannel(gate, rec);
        gate.pause();
        ch.writeInbound("later");
        gate.pushFront(List.of("t1", "t2", (Runnable) () -> rec.seen.add("receipt")));
        assertTrue(rec.seen.isEmpty(), "nothing goes while paused");
        gate.resume();
        assertEquals(List.of("t1", "t2", "receipt", "later"), rec.seen);
        ch.finishAndReleaseAll();
    }

    @Test
    void closingReleasesWhatIsHeldAndWhatStillArrives() {
        InboundGate gate = new InboundGate(4, ACKS);
        Recorder rec = new Recorder();
        EmbeddedChannel ch = new EmbeddedChannel(gate, rec);
        gate.pause();
        ByteBuf held = Unpooled.copiedBuffer("held", StandardCharsets.US_ASCII);
        ch.writeInbound(held);
        gate.discardAll();
        assertEquals(0, held.refCnt(), "a held buffer is released");
        ByteBuf late = Unpooled.copiedBuffer("late", StandardCharsets.US_ASCII);
        ch.writeInbound(late);
        assertEquals(0, late.refCnt(), "what arrives after is released too");
        gate.resume();
        assertTrue(rec.seen.isEmpty());
        ch.finishAndReleaseAll();
    }

    @Test
    void aBoundBelowOneIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new InboundGate(0, ACKS));
    }
}
