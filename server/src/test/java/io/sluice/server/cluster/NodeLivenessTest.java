package io.sluice.server.cluster;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The liveness rules on a clock the test moves: timeout, return, grace after an outage, the heartbeat's format. */
class NodeLivenessTest {
    private static final long MS = 1_000_000L;
    private final List<String> events = new ArrayList<>();
    private final NodeLiveness live = new NodeLiveness("self", 1_000, new NodeLiveness.Listener() {
        @Override
        public void down(String node, long silentMillis) {
            events.add("down " + node + " " + silentMillis);
        }

        @Override
        public void up(String node) {
            events.add("up " + node);
        }
    });

    @Test
    void aNodeIsDownExactlyOnceItWasSilentForTheTimeoutAndUpWhenHeardAgain() {
        live.heard("a", Map.of(), 0);
        live.check(999 * MS);
        assertTrue(live.isAlive("a"));
        live.check(1_000 * MS);
        assertFalse(live.isAlive("a"));
        live.check(5_000 * MS); // once
        live.heard("a", Map.of(), 6_000 * MS);
        live.heard("a", Map.of(), 6_100 * MS);
        assertTrue(live.isAlive("a"));
        assertEquals(List.of("down a 1000", "up a"), events);
    }

    /**
     * A heartbeat heard while the node is being declared down (another thread): the listener hears "down" and then
     * "up", never "up" first, which would leave the node's routes set aside while it counts as alive.
     */
    @Test
    void aHeartbeatHeardWhileTheNodeIsDeclaredDownIsToldAfterIt() throws Exception {
        List<String> told = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicReference<Thread> hearer = new java.util.concurrent.atomic.AtomicReference<>();
        NodeLiveness l = new NodeLiveness("self", 1_000, new NodeLiveness.Listener() {
            @Override
            public void down(String node, long silentMillis) {
                // the heartbeat comes now, on its own thread; down() (setting the routes aside) ends after it waited
                // or was told
                Thread t = new Thread(() -> {
                    // (met: the peer exists; heard at a time after the check's)
                    hearerHeard(node);
                });
                hearer.set(t);
                t.start();
                long deadline = System.nanoTime() + 10_000 * MS;
                while (t.getState() != Thread.State.BLOCKED && !told.contains("up " + node)
                        && t.isAlive() && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                told.add("down " + node);
            }

            @Override
            public void up(String node) {
                told.add("up " + node);
            }

            private void hearerHeard(String node) {
                liveness[0].heard(node, Map.of(), 2_000 * MS);
            }
        });
        liveness[0] = l;
        l.heard("a", Map.of(), 0);
        l.check(1_500 * MS);
        hearer.get().join(10_000);
        assertEquals(List.of("down a", "up a"), told);
        assertTrue(l.isAlive("a"));
    }

    private final NodeLiveness[] liveness = new NodeLiveness[1];

    @Test
    void aNodeDownForTheForgetTimeIsGoneOnceAndJoinsAfreshWhenHeardAgain() {
        List<String> seen = new ArrayList<>();
        NodeLiveness l = new NodeLiveness("self", 1_000, 5_000, new NodeLiveness.Listener() {
            @Override
            public void down(String node, long silentMillis) {
                seen.add("down " + node);
            }

            @Override
            public void up(String node) {
                seen.add("up " + node);
            }

            @Override
            public void gone(String node, long silentMillis) {
                seen.add("gone " + node + " " + silentMillis);
            }
        });
        l.heard("a", Map.of(), 0);
        l.check(1_000 * MS);
        assertEquals(1_000, l.silentMillisIfDown("a", 1_000 * MS));
        l.check(4_999 * MS);
        assertTrue(l.nodes().containsKey("a"), "down, not gone yet");
        l.check(5_000 * MS);
        l.check(9_000 * MS); // once
        assertFalse(l.nodes().containsKey("a"));
        assertEquals(-1, l.silentMillisIfDown("a", 9_000 * MS), "unknown once gone");
        l.heard("a", Map.of(), 10_000 * MS);
        assertTrue(l.isAlive("a"));
        assertEquals(List.of("down a", "gone a 5000"), seen, "a node heard after it was forgotten is simply new");
    }

    @Test
    void aNodeMetThroughARouteGetsAFullTimeoutAndHeartbeatsKeepItAlive() {
        live.met("b", 100 * MS);
        live.heard("b", Map.of(), 900 * MS);
        live.check(1_500 * MS);
        assertTrue(live.isAlive("b"));
        live.met("b", 1_800 * MS); // meeting again is not hearing
        live.check(1_900 * MS);
        assertFalse(live.isAlive("b"));
        assertTrue(live.isAlive("never-seen"), "a node never met is not declared down");
    }

    @Test
    void afterThisNodeCouldHearNoOneEveryNodeGetsAFullTimeoutAgain() {
        live.heard("c", Map.of(), 0);
        live.restartClocks(5_000 * MS);
        live.check(5_999 * MS);
        assertTrue(live.isAlive("c"));
        live.check(6_000 * MS);
        assertFalse(live.isAlive("c"));
    }

    @Test
    void thisNodeIsNeverItsOwnPeerAndOnlyAliveNodesCountersAreSummed() {
        live.heard("self", Map.of("x", 1L), 0);
        live.heard("d", Map.of("x", 2L), 0);
        live.heard("e", Map.of("x", 3L), 900 * MS);
        live.check(1_000 * MS);
        assertEquals(Map.of("e", Map.of("x", 3L)), live.aliveCounters());
        assertEquals(Map.of("d", false, "e", true), live.nodes());
    }

    @Test
    void countersCrossAsNameValueLinesAndAnythingElseIsSkipped() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("messages/received", 12L);
        m.put("clients/connected", 0L);
        assertEquals(m, NodeLiveness.decode(NodeLiveness.encode(m)));
        assertEquals(Map.of("a", 1L), NodeLiveness.decode("a=1\n=2\nb\nc=x\n\n".getBytes()));
    }
}
