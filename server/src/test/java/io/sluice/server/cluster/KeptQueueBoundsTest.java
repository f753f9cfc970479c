package io.sluice.server.cluster;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import static io.sluice.server.cluster.ClusterFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rules of a kept session's queue bound as each node counts it ({@link KeptQueueBounds}), with the stream played
 * by the test: what each node lets through, in order; a full queue's policy; and, over several nodes sending at once
 * with JetStream's answers coming late, a queue that never holds more than the limit plus each node's share.
 */
class KeptQueueBoundsTest {
    private static final String SUBJECT = "sluice.session.s";
    private final List<ScheduledExecutorService> threads = new ArrayList<>();

    @AfterEach
    void stop() {
        threads.forEach(ScheduledExecutorService::shutdownNow);
    }

    private ScheduledExecutorService thread() {
        ScheduledExecutorService t = Executors.newSingleThreadScheduledExecutor();
        threads.add(t);
        return t;
    }

    /** The stream's share of one subject: what it holds, and the most it ever held. */
    private static final class Stream {
        final AtomicLong held = new AtomicLong();
        final AtomicLong most = new AtomicLong();
        /** Sends gone out, their answers not yet given (the test answers them). */
        final ConcurrentLinkedQueue<Runnable> unanswered = new ConcurrentLinkedQueue<>();

        void store() {
            most.accumulateAndGet(held.incrementAndGet(), Math::max);
        }
    }

    private static KeptQueueBounds.Send send(boolean qos0, Consumer<Runnable> out, List<String> told, String name) {
        return new KeptQueueBounds.Send(qos0, true, Long.MAX_VALUE, false, out, () -> told.add(name + " dropped"),
                () -> told.add(name + " refused"));
    }

    @Test
    void sendsWithinTheLimitGoOutInOrderAndAFullOfflineQueueDropsTheRest() {
        Stream stream = new Stream();
        List<String> out = new CopyOnWriteArrayList<>();
        List<String> told = new CopyOnWriteArrayList<>();
        KeptQueueBounds bounds = new KeptQueueBounds(s -> stream.held.get(), thread(), () -> 5, () -> 100,
                (s, send, full, now) -> full ? KeptQueueBounds.Full.DROP : KeptQueueBounds.Full.HOLD);
        for (int i = 0; i < 8; i++) {
            String name = "m" + i;
            bounds.send(SUBJECT, send(false, answered -> {
                out.add(name);
                stream.store();
                answered.run();
            }, told, name));
        }
        await(() -> told.size() == 3, "the three past the limit told");
        assertEquals(List.of("m0", "m1", "m2", "m3", "m4"), out);
        assertEquals(List.of("m5 dropped", "m6 dropped", "m7 dropped"), told);
        assertEquals(0, bounds.waiting());
    }

    /** A publisher's sends go out in its order while reads come back on their own thread and let earlier ones go. */
    @Test
    void sendsGoOutInTheOrderTheyCameWhileReadsComeBackOnTheirOwnThread() {
        Stream stream = new Stream();
        List<Integer> out = new CopyOnWriteArrayList<>();
        List<String> told = new CopyOnWriteArrayList<>();
        KeptQueueBounds bounds = new KeptQueueBounds(s -> {
            Thread.sleep(1); // a JetStream round trip
            return 0;
        }, thread(), () -> 1_000_000, () -> 500, (s, send, full, now) -> KeptQueueBounds.Full.HOLD);
        int n = 2000;
        for (int i = 0; i < n; i++) {
            int seq = i;
            bounds.send(SUBJECT, send(false, answered -> {
                java.util.concurrent.locks.LockSupport.parkNanos(100_000); // a send takes its time
                out.add(seq);
                answered.run();
            }, told, "m" + i));
        }
        await(() -> out.size() == n, "every send out, got " + out.size());
        for (int i = 0; i < n; i++) {
            assertEquals(i, out.get(i), "in the order they came, at " + i);
        }
        assertTrue(bounds.reads() > 1, "reads came back in between: " + bounds.reads());
    }

    @Test
    void aHeldSendGoesOnceAReadFindsRoomAndWhatCameAfterItWaitsBehindIt() {
        Stream stream = new Stream();
        stream.held.set(3);
        List<String> out = new CopyOnWriteArrayList<>();
        List<String> told = new CopyOnWriteArrayList<>();
        KeptQueueBounds bounds = new KeptQueueBounds(s -> stream.held.get(), thread(), () -> 3, () -> 100,
                (s, send, full, now) -> KeptQueueBounds.Full.HOLD);
        for (String name : List.of("a", "b")) {
            bounds.send(SUBJECT, send(false, answered -> {
                out.add(name);
                stream.store();
                answered.run();
            }, told, name));
        }
        await(() -> bounds.full() >= 1, "the first met the full queue");
        assertEquals(List.of(), out, "nothing goes while the queue is full");
        assertEquals(2, bounds.waiting());
        stream.held.set(1); // the client acknowledged two
        await(() -> out.size() == 2, "both once a read found room");
        assertEquals(List.of("a", "b"), out);
        assertEquals(List.of(), told);
    }

    @Test
    void aQueueNeverHoldsMoreThanTheLimitAndEachNodesShareWhateverTheNodesDo() throws Exception {
        int limit = 50;
        int share = 7;
        int nodes = 3;
        Random random = new Random(19);
        for (int round = 0; round < 20; round++) {
            Stream stream = new Stream();
            AtomicInteger told = new AtomicInteger();
            AtomicInteger sent = new AtomicInteger();
            List<KeptQueueBounds> each = new ArrayList<>();
            for (int n = 0; n < nodes; n++) {
                each.add(new KeptQueueBounds(s -> stream.held.get(), thread(), () -> limit, () -> share,
                        (s, send, full, now) -> KeptQueueBounds.Full.DROP));
            }
            int total = 200;
            for (int i = 0; i < total; i++) {
                KeptQueueBounds node = each.get(random.nextInt(nodes));
                node.send(SUBJECT, new KeptQueueBounds.Send(false, false, Long.MAX_VALUE, false, answered -> {
                    sent.incrementAndGet();
                    // JetStream stores it at once or a moment later, and answers later still
                    if (random.nextBoolean()) {
                        stream.store();
                        stream.unanswered.add(answered);
                    } else {
                        stream.unanswered.add(() -> {
                            stream.store();
                            answered.run();
                        });
                    }
                }, told::incrementAndGet, told::incrementAndGet));
                if (random.nextInt(4) == 0) {
                    Runnable r = stream.unanswered.poll();
                    if (r != null) {
                        r.run();
                    }
                }
                if (random.nextInt(50) == 0) {
                    Thread.sleep(1); // let reads come back now and then
                }
            }
            await(() -> {
                Runnable r;
                while ((r = stream.unanswered.poll()) != null) {
                    r.run();
                }
                return sent.get() + told.get() == total;
            }, "every send let through or dropped, round " + round);
            assertTrue(stream.most.get() <= limit + (long) nodes * share,
                    "round " + round + ": held " + stream.most.get() + ", at most the limit and each node's share");
            assertTrue(stream.held.get() >= limit, "round " + round + ": the queue filled to its limit");
            assertEquals(stream.held.get(), sent.get(), "round " + round);
        }
    }
}
