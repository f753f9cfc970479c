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
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    /** Every attempt, in the order it went out, with the future the test completes. */
    private final List<Attempt> out = new CopyOnWriteArrayList<>();
    private final AtomicReference<SendLanes.Verdict> verdict = new AtomicReference<>(SendLanes.Verdict.RETRY);
    private final List<String> answers = new CopyOnWriteArrayList<>();
    private final SendLanes lanes = new SendLanes(this::publish, timer, (subject, w, why) -> verdict.get(), () -> { },
            "n-run", 60_000, 4);

    record Attempt(NatsMessage msg, CompletableFuture<PublishAck> ack) {
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
            ack.complete(null);
        }

        void refuse() {
            ack.completeExceptionally(new IllegalStateException("maximum messages per subject exceeded"));
        }
    }

    private CompletableFuture<PublishAck> publish(NatsMessage msg) {
        CompletableFuture<PublishAck> f = new CompletableFuture<>();
        out.add(new Attempt(msg, f));
        return f;
    }

    @AfterEach
    void stop() {
        lanes.close();
        timer.shutdownNow();
    }

    private void send(String subject, String body) {
        lanes.send(subject, "id-" + body, null, body.getBytes(StandardCharsets.UTF_8), new SendLanes.Waiter() {
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
        assertEquals(List.of("3", "4"), bodies(4));
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
        out.get(1).take(); // 0 taken: window 2
        assertEquals(List.of("1", "2"), bodies(2));
        out.get(2).take(); // window 3: 3 and 4 go out
        assertEquals(List.of("1", "2", "3", "4"), bodies(2));
        out.get(3).take(); // window 4, the ceiling: 5 and 6
        out.get(4).take(); // still 4: one more, 7
        assertEquals(List.of("1", "2", "3", "4", "5", "6", "7"), bodies(2));
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
        assertTrue(answers.contains("2 sent"));
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
}
