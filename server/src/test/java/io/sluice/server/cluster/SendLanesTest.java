package io.sluice.server.cluster;

import io.nats.client.api.PublishAck;
import io.nats.client.impl.NatsMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;

import static io.sluice.server.cluster.ClusterFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A lane's rules, with JetStream's answers in the test's hands: pipelined while everything is taken; the first send not
 * taken stops the lane, the oldest not yet taken goes out alone (same message id) until taken, then the rest go out
 * again in order within a window; what is given up is answered as such.
 */
class SendLanesTest {
    private static final String TIMER_THREAD = "lanes-test-timer";
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            r -> new Thread(r, TIMER_THREAD));
    /** Every attempt, in the order it went out, with the future the test completes. */
    private final List<Attempt> out = new CopyOnWriteArrayList<>();
    private final AtomicReference<SendLanes.Verdict> verdict = new AtomicReference<>(SendLanes.Verdict.RETRY);
    private final List<String> answers = new CopyOnWriteArrayList<>();
    private final SendLanes lanes = new SendLanes(this::publish, timer, (subject, w, why) -> verdict.get(), () -> { },
            "n-run", 60_000, 4, 0, null);
    /** The receiving node is alive, as the credited lanes' tests say. */
    private final java.util.concurrent.atomic.AtomicBoolean alive = new java.util.concurrent.atomic.AtomicBoolean(true);
    /** The receiving node is down (not heard for the node timeout); alive is then false too. */
    private final java.util.concurrent.atomic.AtomicBoolean down = new java.util.concurrent.atomic.AtomicBoolean(false);
    /** Sends whose publisher's deadline passed, by body. */
    private final java.util.Set<String> expired = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Lanes to subjects starting with "node." held to a window of {@code credit}; others not. */
    private SendLanes credited(int credit) {
        return new SendLanes(this::publish, timer, (subject, w, why) -> verdict.get(), () -> { }, "n-run", 60_000,
                1_000, credit, new SendLanes.Room() {
            @Override
            public boolean flowControlled(String subject) {
                return subject.startsWith("node.");
            }

            @Override
            public boolean alive(String subject) {
                return alive.get();
            }

            @Override
            public boolean down(String subject) {
                return down.get();
            }

            @Override
            public boolean expired(String subject, SendLanes.Waiter waiter, long nowMillis) {
                return expired.contains(((Named) waiter).body());
            }
        });
    }

    /** A waiter that knows its send's body. */
    private interface Named extends SendLanes.Waiter {
        String body();
    }

    /**
     * One attempt; {@code onTimer}: it went out on the lanes' timer thread (a probe, or a resumed lane), which may
     * still be in the middle of that send when the test answers it, and then handles the answer a moment later.
     * Such an answer is given on the timer's thread, after that send, and waited for: the test reads what it did.
     */
    record Attempt(NatsMessage msg, CompletableFuture<PublishAck> ack, ScheduledExecutorService onTimer) {
        String body() {
            return new String(msg.getData(), StandardCharsets.UTF_8);
        }

        String id() {
            return msg.getHeaders().getFirst("Nats-Msg-Id");
        }

        String order() {
            return msg.getHeaders().getFirst(SendLanes.ORDER_HEADER);
        }

        void take() {
            answer(() -> ack.complete(null));
        }

        void refuse() {
            answer(() -> ack.completeExceptionally(new IllegalStateException("maximum messages per subject exceeded")));
        }

        private void answer(Runnable complete) {
            if (onTimer == null) {
                complete.run();
                return;
            }
            try {
                onTimer.submit(complete).get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError("the timer's thread did not take the answer", e);
            }
        }
    }

    private CompletableFuture<PublishAck> publish(NatsMessage msg) {
        CompletableFuture<PublishAck> f = new CompletableFuture<>();
        out.add(new Attempt(msg, f, Thread.currentThread().getName().equals(TIMER_THREAD) ? timer : null));
        return f;
    }

    @AfterEach
    void stop() {
        lanes.close();
        timer.shutdownNow();
    }

    private void send(String subject, String body) {
        send(lanes, subject, body);
    }

    private void send(SendLanes lanes, String subject, String body) {
        lanes.send(subject, "id-" + body, null, body.getBytes(StandardCharsets.UTF_8), new Named() {
            @Override
            public String body() {
                return body;
            }

            @Override
            public void sent() {
                answers.add(body + " sent");
            }

            @Override
            public void refused() {
                answers.add(body + " refused");
            }
        });
    }

    private List<String> bodies(int from) {
        List<String> b = new ArrayList<>();
        for (int i = from; i < out.size(); i++) {
            b.add(out.get(i).body());
        }
        return b;
    }

    @Test
    void whileEverythingIsTakenALanePipelines() {
        for (String b : List.of("1", "2", "3")) {
            send("s.a", b);
        }
        assertEquals(List.of("1", "2", "3"), bodies(0), "all out at once, in order");
        assertEquals(List.of("n-run-1 1 1", "n-run-1 2 1", "n-run-1 3 1"), out.stream().map(Attempt::order).toList());
        out.get(2).take();
        out.get(0).take();
        assertEquals(List.of("3 sent", "1 sent"), answers, "each answered when taken");
        send("s.a", "4");
        assertEquals("n-run-1 4 2", out.get(3).order(), "the oldest place not yet taken is 2");
    }

    @Test
    void aRefusedSendGoesOutAloneAheadOfEveryLaterOneThenTheRestAgainInOrder() {
        for (String b : List.of("1", "2", "3")) {
            send("s.a", b);
        }
        out.get(0).take();
        out.get(1).refuse();
        send("s.a", "4"); // the lane is stopped: 4 waits
        await(() -> out.size() == 4, "the oldest not yet taken, alone, after the backoff");
        assertEquals("2", out.get(3).body());
        assertEquals("id-2", out.get(3).id(), "the same message id: JetStream stores it once");
        out.get(2).refuse(); // 3's first attempt, in flight behind the stop: it goes out again later anyway
        assertEquals(4, out.size(), "nothing else while 2 is not taken");
        out.get(3).take();
        // resumed: 3 and 4 go out again in order, two at a time at first
        await(() -> bodies(4).equals(List.of("3", "4")), "3 and 4 again, got " + bodies(4));
        assertEquals("id-3", out.get(4).id());
        out.get(4).take();
        out.get(5).take();
        assertEquals(List.of("1 sent", "2 sent", "3 sent", "4 sent"), answers);
    }

    @Test
    void afterAStopTheWindowOpensOneByOneUpToTheCeiling() {
        send("s.a", "0");
        out.get(0).refuse();
        for (int i = 1; i <= 10; i++) {
            send("s.a", Integer.toString(i));
        }
        await(() -> out.size() == 2, "the probe");
        // the probe went out on the timer's thread: an answer given as it goes out is handled there, a moment later
        out.get(1).take(); // 0 taken: window 2
        await(() -> bodies(2).equals(List.of("1", "2")), "1 and 2, got " + bodies(2));
        out.get(2).take(); // window 3: 3 and 4 go out
        await(() -> bodies(2).equals(List.of("1", "2", "3", "4")), "3 and 4, got " + bodies(2));
        out.get(3).take(); // window 4, the ceiling: 5 and 6
        await(() -> out.size() == 8, "5 and 6");
        out.get(4).take(); // still 4: one more, 7
        await(() -> bodies(2).equals(List.of("1", "2", "3", "4", "5", "6", "7")), "7, got " + bodies(2));
    }

    @Test
    void aSendGivenUpIsAnsweredSoAndTheNextGoesOutAlone() {
        send("s.a", "1");
        send("s.a", "2");
        out.get(0).refuse(); // RETRY: stopped
        await(() -> out.size() == 3, "the probe of 1");
        verdict.set(SendLanes.Verdict.REFUSE);
        out.get(2).refuse(); // its deadline passed
        assertEquals(List.of("1 refused"), answers);
        await(() -> out.size() == 4 && out.get(3).body().equals("2"), "2 alone next");
        verdict.set(SendLanes.Verdict.RETRY);
        out.get(3).take();
        await(() -> answers.contains("2 sent"), "2 answered as sent");
    }

    @Test
    void aLaneWhoseNodeIsDownAnswersEverySendAsSentAndGoesOn() {
        send("s.a", "1");
        send("s.a", "2");
        verdict.set(SendLanes.Verdict.SKIP_LANE);
        out.get(1).refuse();
        assertEquals(List.of("1 sent", "2 sent"), answers, "not held by a node that is down");
        verdict.set(SendLanes.Verdict.RETRY);
        send("s.a", "3");
        assertEquals("3", out.get(out.size() - 1).body(), "the lane pipelines again");
    }

    @Test
    void lanesOfDifferentSubjectsDoNotWaitForEachOther() {
        send("s.a", "a1");
        out.get(0).refuse();
        send("s.a", "a2");
        send("s.b", "b1");
        assertEquals(List.of("a1", "b1"), bodies(0));
        assertTrue(out.get(1).order().startsWith("n-run-2 "), "a lane of its own");
    }

    @Test
    void aLaneToANodeSendsAtMostItsWindowAheadOfThatNodesReportsAndGoesOnAtOnceWithOne() {
        SendLanes w = credited(3);
        try {
            for (int i = 1; i <= 6; i++) {
                send(w, "node.b", Integer.toString(i));
            }
            assertEquals(List.of("1", "2", "3"), bodies(0), "the window");
            out.forEach(Attempt::take);
            assertEquals(List.of("1 sent", "2 sent", "3 sent"), answers, "taken by JetStream: their publishers answered");
            assertEquals(3, out.size(), "taken is not done: the node has not reported room");
            w.room("n-run-1", 2);
            assertEquals(List.of("1", "2", "3", "4", "5"), bodies(0), "two done at the node: two more, at once");
            w.room("n-run-1", 1);
            assertEquals(5, out.size(), "an older report (out of order) frees nothing");
            w.room("n-run-9", 99);
            assertEquals(5, out.size(), "another lane's report frees nothing here");
            assertEquals("n-run-1 4 4", out.get(3).order());
            send(w, "session.s", "k1");
            assertEquals("k1", out.get(out.size() - 1).body(), "a kept session's lane has no window");
            assertEquals(1, w.heldForRoom());
        } finally {
            w.close();
        }
    }

    @Test
    void aReportResumesALaneStoppedByARefusalWithoutWaitingOutItsBackoff() {
        SendLanes w = credited(10);
        try {
            send(w, "node.b", "1");
            send(w, "node.b", "2");
            out.get(0).refuse(); // stopped; backoffs 20, 40, ... ms
            out.get(1).refuse();
            for (int attempt = 3; attempt <= 7; attempt++) {
                int n = attempt;
                await(() -> out.size() == n, "probe " + n);
                out.get(n - 1).refuse();
            }
            // the next probe is due after 640 ms; a report of room sends it now
            w.room("n-run-1", 0);
            assertEquals(8, out.size(), "the probe went out with the report");
            assertEquals("1", out.get(7).body());
            out.get(7).take();
            assertEquals(List.of("1", "2"), bodies(7), "resumed: 2 again");
        } finally {
            w.close();
        }
    }

    @Test
    void aSendGivenUpFreesItsRoom() {
        SendLanes w = credited(2);
        try {
            for (String b : List.of("1", "2", "3")) {
                send(w, "node.b", b);
            }
            verdict.set(SendLanes.Verdict.REFUSE);
            out.get(0).refuse(); // refused to its publisher: never reaches the node, which never reports it
            assertEquals(List.of("1", "2", "3"), bodies(0), "3 takes the room 1 had");
        } finally {
            w.close();
        }
    }

    @Test
    void withoutReportsALaneSendsOnePastItsWindowNowAndThen() {
        SendLanes w = credited(2);
        try {
            for (int i = 1; i <= 4; i++) {
                send(w, "node.b", Integer.toString(i));
            }
            out.forEach(Attempt::take);
            await(() -> out.size() == 3, "one send past the window once no report came for a while");
            assertEquals("3", out.get(2).body());
            assertEquals(1, w.pastWindow());
            out.get(2).take();
            w.room("n-run-1", 3); // its report frees the lane
            assertEquals(List.of("1", "2", "3", "4"), bodies(0));
        } finally {
            w.close();
        }
    }

    @Test
    void aLaneWhoseNodeIsDownGivesUpWhatItHoldsForRoomAndSendsItNothingMore() {
        SendLanes w = credited(2);
        try {
            for (int i = 1; i <= 5; i++) {
                send(w, "node.b", Integer.toString(i));
            }
            assertEquals(2, out.size());
            alive.set(false);
            down.set(true);
            await(() -> answers.containsAll(List.of("3 sent", "4 sent", "5 sent")),
                    "what waited for a dead node's room answered without it");
            assertEquals(List.of("1", "2"), bodies(0), "nothing past the window went into JetStream for it");
            assertEquals(3, w.gaveUpForDown());
            out.get(0).take();
            out.get(1).take();
            await(() -> answers.containsAll(List.of("1 sent", "2 sent")), "what JetStream took answered");
            // it comes back: its report puts the lane to work again, the places given up skipped
            alive.set(true);
            down.set(false);
            w.room("n-run-1", 2);
            send(w, "node.b", "6");
            assertEquals(List.of("1", "2", "6"), bodies(0));
            assertEquals("n-run-1 3 3 6", out.get(2).msg().getHeaders().getFirst(SendLanes.ORDER_HEADER),
                    "the next unit covers the places given up (3 to 6), so the receiving node waits for none of them");
        } finally {
            w.close();
        }
    }

    @Test
    void aLaneWhoseNodeReportsNoRoomIsNotHeldToItsWindow() {
        SendLanes w = credited(2);
        try {
            for (int i = 1; i <= 5; i++) {
                send(w, "node.b", Integer.toString(i));
            }
            assertEquals(2, out.size());
            alive.set(false);
            await(() -> out.size() == 5, "everything out: JetStream's bound and the node timeout decide");
            alive.set(true);
            w.room("n-run-1", 5);
            send(w, "node.b", "6");
            send(w, "node.b", "7");
            send(w, "node.b", "8");
            assertEquals(List.of("6", "7"), bodies(5), "its report puts the window back");
        } finally {
            w.close();
        }
    }

    @Test
    void aSendHeldForRoomPastItsPublishersDeadlineIsRefused() {
        SendLanes w = credited(1);
        try {
            send(w, "node.b", "1");
            send(w, "node.b", "2");
            send(w, "node.b", "3");
            expired.add("2");
            await(() -> answers.contains("2 refused"), "2 refused while held");
            assertEquals(1, out.size(), "nothing more out: 3 still waits for room");
            out.get(0).take();
            w.room("n-run-1", 1);
            assertEquals(List.of("1", "3"), bodies(0));
        } finally {
            w.close();
        }
    }

    /** Lanes to "node." subjects packing up to {@code batch} messages, {@code inFlight} JetStream messages unanswered. */
    private SendLanes packing(int credit, int batch, int inFlight) {
        return new SendLanes(this::publish, timer, (subject, w, why) -> verdict.get(), () -> { }, "n-run", 60_000,
                1_000, credit, new SendLanes.Room() {
            @Override
            public boolean flowControlled(String subject) {
                return subject.startsWith("node.");
            }

            @Override
            public boolean alive(String subject) {
                return alive.get();
            }

            @Override
            public boolean down(String subject) {
                return down.get();
            }

            @Override
            public boolean expired(String subject, SendLanes.Waiter waiter, long nowMillis) {
                return expired.contains(((Named) waiter).body());
            }
        }, batch, 1 << 20, inFlight);
    }

    /** The messages one attempt carries, each message's body. */
    private static List<String> carried(Attempt a) {
        String count = a.msg.getHeaders().getFirst(LaneBatch.HEADER);
        if (count == null) {
            return List.of(a.body());
        }
        List<String> bodies = new ArrayList<>();
        for (LaneBatch.Entry e : LaneBatch.unpack(a.msg.getData(), Integer.parseInt(count))) {
            bodies.add(new String(e.body(), StandardCharsets.UTF_8));
        }
        return bodies;
    }

    @Test
    void whatIsSentWhileALanesBatchesAreInFlightGoesOutPackedAndIsAnsweredWhenItsBatchIsTaken() {
        SendLanes p = packing(0, 3, 2);
        try {
            for (int i = 1; i <= 6; i++) {
                send(p, "node.b", Integer.toString(i));
            }
            assertEquals(2, out.size(), "two in flight, each alone: an idle lane does not wait to pack");
            out.get(0).take();
            assertEquals(3, out.size());
            assertEquals(List.of("3", "4", "5"), carried(out.get(2)), "the next three, packed, in order");
            assertEquals("n-run-1 3 2 5", out.get(2).order(), "places 3 to 5, the oldest not yet taken 2");
            assertEquals("id-3", out.get(2).id(), "named by its first message");
            out.get(2).take();
            assertEquals(List.of("1 sent", "3 sent", "4 sent", "5 sent"), answers, "each publisher of the batch answered");
            assertEquals(List.of("6"), carried(out.get(3)));
            send(p, "session.s", "k1");
            send(p, "session.s", "k2");
            assertEquals(List.of("k1"), carried(out.get(4)), "a kept session's lane never packs");
            assertEquals(List.of("k2"), carried(out.get(5)));
            assertEquals(4, p.packed() + 1, "three messages went out packed");
        } finally {
            p.close();
        }
    }

    @Test
    void aRefusedBatchGoesOutAgainWholeUnderTheSameIdAndNothingJoinsIt() {
        SendLanes p = packing(0, 10, 1);
        try {
            send(p, "node.b", "1");
            send(p, "node.b", "2");
            send(p, "node.b", "3");
            out.get(0).take();
            assertEquals(List.of("2", "3"), carried(out.get(1)));
            out.get(1).refuse(); // stopped
            send(p, "node.b", "4");
            await(() -> out.size() == 3, "the batch probed again after the backoff");
            assertEquals(List.of("2", "3"), carried(out.get(2)), "the same messages: JetStream stores it once");
            assertEquals(out.get(1).id(), out.get(2).id());
            assertEquals(out.get(1).order(), out.get(2).order());
            out.get(2).take(); // the probe went out on the timer's thread, which may handle its answer a moment later
            await(() -> out.size() == 4, "what waited behind it");
            assertEquals(List.of("4"), carried(out.get(3)));
            assertEquals("n-run-1 4 4", out.get(3).order());
        } finally {
            p.close();
        }
    }

    @Test
    void aPackingLaneCountsMessagesAgainstItsWindow() {
        SendLanes p = packing(4, 10, 1);
        try {
            for (int i = 1; i <= 9; i++) {
                send(p, "node.b", Integer.toString(i));
            }
            out.get(0).take();
            assertEquals(List.of("2", "3", "4"), carried(out.get(1)), "the window has room for three more");
            out.get(1).take();
            assertEquals(2, out.size(), "four out, none reported done: held");
            p.room("n-run-1", 3); // the node reported up to 3, inside the batch 2..4: only 1 is freed
            assertEquals(List.of("5"), carried(out.get(2)));
            out.get(2).take();
            p.room("n-run-1", 5);
            assertEquals(List.of("6", "7", "8", "9"), carried(out.get(3)), "2..5 done: four more");
        } finally {
            p.close();
        }
    }

    @Test
    void aMessageHeldForRoomPastItsDeadlineIsLeftOutOfTheNextBatchWhichCoversItsPlace() {
        SendLanes p = packing(1, 10, 1);
        try {
            for (int i = 1; i <= 4; i++) {
                send(p, "node.b", Integer.toString(i));
            }
            expired.add("2");
            await(() -> answers.contains("2 refused"), "2 refused while held");
            out.get(0).take();
            p.room("n-run-1", 1);
            assertEquals(List.of("3"), carried(out.get(1)), "the window of one");
            assertEquals("n-run-1 2 2 3", out.get(1).order(), "covering 2, which never goes out: no gap to wait for");
        } finally {
            p.close();
        }
    }

    @Test
    void aBatchHoldsNoMoreBytesThanItsBound() {
        SendLanes p = new SendLanes(this::publish, timer, (subject, w, why) -> verdict.get(), () -> { }, "n-run", 60_000,
                1_000, 0, new SendLanes.Room() {
            @Override
            public boolean flowControlled(String subject) {
                return true;
            }

            @Override
            public boolean alive(String subject) {
                return true;
            }

            @Override
            public boolean expired(String subject, SendLanes.Waiter waiter, long nowMillis) {
                return false;
            }
        }, 100, 20, 1);
        try {
            for (int i = 10; i <= 16; i++) {
                send(p, "node.b", Integer.toString(i)); // 2 bytes and 6 of overhead each
            }
            out.get(0).take();
            assertEquals(List.of("11", "12"), carried(out.get(1)), "16 bytes fit in 20, 24 do not");
        } finally {
            p.close();
        }
    }

    @Test
    void aMessageQueuedBehindAStoppedLanePastItsDeadlineIsRefusedWithoutGoingOut() {
        SendLanes p = packing(0, 10, 1);
        try {
            send(p, "node.b", "1");
            out.get(0).refuse(); // stopped: 1 is probed again and again
            send(p, "node.b", "2");
            send(p, "node.b", "3");
            expired.add("2");
            await(() -> answers.contains("2 refused"), "2 refused while the lane is stopped");
            assertTrue(out.stream().noneMatch(a -> carried(a).contains("2")), "2 never went out");
            await(() -> out.size() >= 2, "the probe of 1");
            out.get(out.size() - 1).take();
            await(() -> carried(out.get(out.size() - 1)).equals(List.of("3")), "3 after 1");
            assertEquals("n-run-1 2 2 3", out.get(out.size() - 1).order(), "covering 2's place");
        } finally {
            p.close();
        }
    }
}
