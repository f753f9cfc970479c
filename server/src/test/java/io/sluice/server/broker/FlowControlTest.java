package io.sluice.server.broker;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The core's side of lossless QoS 1 backpressure: bounded queues, windows, and publishers that wait. */
class FlowControlTest {
    private static final QueueLimits SMALL = new QueueLimits(4, 1 << 20, 2, 3, List.of("prices/#"));

    private final Broker broker = new Broker(new BrokerConfig(SMALL, 1024));
    private final RecordingSink sub = new RecordingSink();
    private final RecordingSink other = new RecordingSink();

    @AfterEach
    void tearDown() {
        sub.close();
        other.close();
        broker.close();
    }

    private static Message msg(String topic, int qos, String body) {
        return Message.builder(topic).qos(qos).payload(body.getBytes(StandardCharsets.UTF_8)).build();
    }

    private CompletableFuture<PublishOutcome> publish(Message m) {
        CompletableFuture<PublishOutcome> f = new CompletableFuture<>();
        broker.publish(m, f::complete);
        return f;
    }

    /** Sessions of this test live in a namespace of their own, as each protocol's do. */
    private static SessionId id(String clientId) {
        return new SessionId("test", clientId);
    }

    private Broker.Connection connect(String id, RecordingSink sink, boolean clean, long expiry, String filter,
                                      int qos) throws Exception {
        return sink.onLoop(() -> {
            Broker.Connection c = broker.connect(id(id), clean, expiry, 0, sink);
            if (filter != null) {
                broker.subscribe(c.session(), filter, null, SubscriptionOptions.ofQos(qos), null);
            }
            return c;
        });
    }

    @Test
    void aFullQueueHoldsThePublisherUntilTheSubscriberAcknowledgesAndLosesNothing() throws Exception {
        Broker.Connection c = connect("slow", sub, true, 0, "t/#", 1);
        Session s = c.session();
        int total = 40;
        int maxQueued = 0;
        int received = 0;
        for (int i = 0; i < total; i++) {
            CompletableFuture<PublishOutcome> done = publish(msg("t/a", 1, "m" + i));
            while (!done.isDone()) {
                // the publisher is held: the queue is at its bound, the window never above its size
                assertTrue(s.queue().queuedReliable() <= SMALL.maxQueuedMessages());
                assertTrue(s.queue().inflightCount() <= SMALL.defaultWindow());
                Delivery d = sub.next();
                assertEquals("m" + received++, new String(d.message().payload(), StandardCharsets.UTF_8));
                sub.onLoop(() -> s.queue().acknowledge(d.packetId()));
                try {
                    done.get(100, TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException stillHeld) {
                    // not yet: the queue is still at its bound, acknowledge another
                }
            }
            assertEquals(1, done.get().matchedSessions());
            maxQueued = Math.max(maxQueued, s.queue().queuedReliable());
        }
        while (received < total) {
            Delivery d = sub.next();
            assertEquals("m" + received++, new String(d.message().payload(), StandardCharsets.UTF_8));
            sub.onLoop(() -> s.queue().acknowledge(d.packetId()));
        }
        assertTrue(maxQueued <= SMALL.maxQueuedMessages());
        assertTrue(broker.stats().backpressurePauses.sum() > 0);
        assertEquals(0, broker.stats().drops(BrokerStats.Drop.OFFLINE_QUEUE_FULL));
    }

    @Test
    void aHeldPublisherDoesNotHoldOtherTopics() throws Exception {
        Broker.Connection slow = connect("slow", sub, true, 0, "slow/#", 1);
        connect("fast", other, true, 0, "fast/#", 1);
        CompletableFuture<PublishOutcome> last = null;
        for (int i = 0; i < 10; i++) {
            last = publish(msg("slow/x", 1, "s" + i));
        }
        assertFalse(last.isDone(), "the slow subscriber's queue should be full by now");
        for (int i = 0; i < 20; i++) {
            CompletableFuture<PublishOutcome> f = publish(msg("fast/x", 1, "f" + i));
            assertTrue(f.isDone(), "a publish on another topic must not wait for the slow subscriber");
            Delivery d = other.next();
            other.onLoop(() -> broker.session(id("fast")).queue().acknowledge(d.packetId()));
        }
        assertTrue(slow.session().queue().queuedReliable() <= SMALL.maxQueuedMessages());
    }

    @Test
    void qos0DropsOldestWhenTheSubscriberCannotKeepUpAndCountsIt() throws Exception {
        sub.writable = false;
        connect("stalled", sub, true, 0, "live/#", 0);
        for (int i = 0; i < 10; i++) {
            assertTrue(publish(msg("live/x", 0, "v" + i)).isDone());
        }
        assertEquals(SMALL.maxQos0Messages(), broker.session(id("stalled")).queue().queuedQos0());
        assertEquals(10 - SMALL.maxQos0Messages(), broker.stats().drops(BrokerStats.Drop.QOS0_OVERFLOW));
        sub.writable = true;
        sub.onLoop(() -> {
            broker.session(id("stalled")).queue().drain();
            return null;
        });
        assertEquals("v7", new String(sub.next().message().payload()));
        assertEquals("v8", new String(sub.next().message().payload()));
        assertEquals("v9", new String(sub.next().message().payload()));
    }

    /**
     * While the connection is writable, QoS 0 messages wait only for the drain on its event loop (here: a busy loop),
     * not for the subscriber: none is dropped at the bound, up to the hand-off bound, past which the oldest goes.
     * Once the connection turns out unwritable, the bound applies again and the excess goes, oldest first.
     */
    @Test
    void qos0WaitingOnlyForTheEventLoopIsNotDroppedUntilTheSubscriberFallsBehind() throws Exception {
        Session s = connect("busy", sub, true, 0, "live/#", 0).session();
        int handOff = SMALL.maxQos0Messages() * SubscriberQueue.HANDOFF_FACTOR;
        java.util.concurrent.CountDownLatch busy = new java.util.concurrent.CountDownLatch(1);
        sub.loop.execute(() -> {
            try {
                busy.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        for (int i = 0; i < handOff + 2; i++) {
            assertTrue(publish(msg("live/x", 0, "v" + i)).isDone());
        }
        assertEquals(handOff, s.queue().queuedQos0());
        assertEquals(2, broker.stats().drops(BrokerStats.Drop.QOS0_OVERFLOW));
        busy.countDown();
        for (int i = 2; i < handOff + 2; i++) {
            assertEquals("v" + i, new String(sub.next().message().payload(), StandardCharsets.UTF_8));
        }

        java.util.concurrent.CountDownLatch busyAgain = new java.util.concurrent.CountDownLatch(1);
        sub.loop.execute(() -> {
            try {
                busyAgain.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        for (int i = 0; i < 10; i++) {
            publish(msg("live/x", 0, "w" + i));
        }
        sub.writable = false;
        busyAgain.countDown();
        sub.onLoop(() -> null);
        assertEquals(SMALL.maxQos0Messages(), s.queue().queuedQos0());
        assertEquals(2 + 10 - SMALL.maxQos0Messages(), broker.stats().drops(BrokerStats.Drop.QOS0_OVERFLOW));
        sub.writable = true;
        sub.onLoop(() -> {
            s.queue().drain();
            return null;
        });
        assertEquals("w7", new String(sub.next().message().payload(), StandardCharsets.UTF_8));
        assertEquals("w8", new String(sub.next().message().payload(), StandardCharsets.UTF_8));
        assertEquals("w9", new String(sub.next().message().payload(), StandardCharsets.UTF_8));
    }

    @Test
    void conflatedTopicsKeepOnlyTheLatestValueEach() throws Exception {
        sub.writable = false;
        connect("ticker", sub, true, 0, "prices/+", 0);
        for (int i = 0; i < 5; i++) {
            publish(msg("prices/a", 0, "a" + i));
            publish(msg("prices/b", 0, "b" + i));
        }
        assertEquals(2, broker.session(id("ticker")).queue().queuedQos0());
        assertEquals(8, broker.stats().drops(BrokerStats.Drop.QOS0_CONFLATED));
        sub.writable = true;
        sub.onLoop(() -> {
            broker.session(id("ticker")).queue().drain();
            return null;
        });
        assertEquals("a4", new String(sub.next().message().payload()));
        assertEquals("b4", new String(sub.next().message().payload()));
    }

    @Test
    void aPersistentSessionResumesWithItsWindowResentAsDuplicatesThenTheQueue() throws Exception {
        Broker.Connection first = connect("keeper", sub, false, 3600, "k/#", 1);
        for (int i = 0; i < 5; i++) {
            publish(msg("k/x", 1, "m" + i));
        }
        Delivery d0 = sub.next();
        Delivery d1 = sub.next();
        sub.onLoop(() -> {
            broker.disconnect(first, false);
            return null;
        });
        assertFalse(broker.session(id("keeper")).isOnline());
        // published while offline: queued up to the bound
        publish(msg("k/x", 1, "m5"));
        try (RecordingSink again = new RecordingSink()) {
            Broker.Connection second = again.onLoop(() -> broker.connect(id("keeper"), false, 3600, 0, again));
            assertTrue(second.present());
            Delivery r0 = again.next();
            Delivery r1 = again.next();
            assertTrue(r0.duplicate() && r1.duplicate());
            assertEquals(d0.packetId(), r0.packetId());
            assertEquals(d1.packetId(), r1.packetId());
            again.onLoop(() -> second.session().queue().acknowledge(r0.packetId()));
            again.onLoop(() -> second.session().queue().acknowledge(r1.packetId()));
            for (int i = 2; i <= 5; i++) {
                Delivery d = again.next();
                assertEquals("m" + i, new String(d.message().payload()));
                again.onLoop(() -> second.session().queue().acknowledge(d.packetId()));
            }
        }
    }

    private CompletableFuture<PublishOutcome> publishRefusable(Message m) {
        CompletableFuture<PublishOutcome> f = new CompletableFuture<>();
        broker.publish(m, true, f::complete);
        return f;
    }

    private Broker.Connection offline(Broker b, String id) throws Exception {
        Broker.Connection c = sub.onLoop(() -> {
            Broker.Connection conn = b.connect(id(id), false, 3600, 0, sub);
            b.subscribe(conn.session(), "o/#", null, SubscriptionOptions.ofQos(1), null);
            return conn;
        });
        sub.onLoop(() -> {
            b.disconnect(c, false);
            return null;
        });
        return c;
    }

    private static Broker withholding(long boundMillis) {
        return new Broker(new BrokerConfig(SMALL, 64, 0, OfflineQueuePolicy.WITHHOLD,
                new BrokerLimits(boundMillis, 0, 0, 0, 0)));
    }

    private static CompletableFuture<PublishOutcome> publish(Broker b, Message m, boolean canRefuse) {
        CompletableFuture<PublishOutcome> f = new CompletableFuture<>();
        b.publish(m, canRefuse, f::complete);
        return f;
    }

    /**
     * The default: an offline session's full queue neither holds nor refuses anyone, refusable publisher or not;
     * the message reaches everyone else, the session's loss is counted, and it learns of it when it returns.
     */
    @Test
    void byDefaultAnOfflineFullSessionNeitherHoldsNorRefusesAnyPublisher() throws Exception {
        offline(broker, "away");
        connect("present", other, true, 0, "o/#", 1);
        int extra = 3;
        for (int i = 0; i < SMALL.maxQueuedMessages() + extra; i++) {
            for (boolean canRefuse : new boolean[] {false, true}) {
                PublishOutcome o = publish(broker, msg("o/x", 1, "m" + i + canRefuse), canRefuse).get(5, TimeUnit.SECONDS);
                assertFalse(o.quotaExceeded(), "nobody is refused for an absent session");
                assertTrue(o.matchedSessions() >= 1, "the present session has it");
                Delivery d = other.next();
                other.onLoop(() -> broker.session(id("present")).queue().acknowledge(d.packetId()));
            }
        }
        Session away = broker.session(id("away"));
        long missed = 2L * (SMALL.maxQueuedMessages() + extra) - SMALL.maxQueuedMessages();
        assertEquals(missed, broker.stats().drops(BrokerStats.Drop.OFFLINE_QUEUE_FULL));
        assertEquals(missed, away.queue().overflowedTotal());
        assertTrue(away.queue().isOverflowing());
        assertEquals(1, broker.stats().sessionsOverflowing.sum(), "one episode, one session");
        try (RecordingSink back = new RecordingSink()) {
            Broker.Connection again = back.onLoop(() -> broker.connect(id("away"), false, 3600, 0, back));
            assertEquals(missed, again.droppedWhileOffline(), "told how many it missed when it returns");
            assertFalse(again.session().queue().isOverflowing(), "the episode ends with its return");
            assertEquals(0, broker.stats().sessionsOverflowing.sum());
            for (int i = 0; i < SMALL.maxQueuedMessages() / 2; i++) {
                for (boolean canRefuse : new boolean[] {false, true}) {
                    Delivery d = back.next();
                    assertEquals("m" + i + canRefuse, new String(d.message().payload()), "what fitted, in order");
                    back.onLoop(() -> again.session().queue().acknowledge(d.packetId()));
                }
            }
        }
    }

    @Test
    void withholdRefusesARefusablePublisherAndTheMessageGoesNowhere() throws Exception {
        try (Broker b = withholding(60_000)) {
            offline(b, "away");
            for (int i = 0; i < SMALL.maxQueuedMessages(); i++) {
                assertFalse(publish(b, msg("o/x", 1, "m" + i), true).get(5, TimeUnit.SECONDS).quotaExceeded());
            }
            PublishOutcome refused = publish(b, msg("o/x", 1, "late"), true).get(5, TimeUnit.SECONDS);
            assertTrue(refused.quotaExceeded());
            assertEquals(0, refused.matchedSessions(), "a refused message must not reach anyone");
            assertEquals(1, b.stats().drops(BrokerStats.Drop.OFFLINE_QUEUE_FULL));
        }
    }

    @Test
    void withholdHoldsAPublisherThatCannotBeRefusedUntilTheOfflineSessionComesBack() throws Exception {
        try (Broker b = withholding(60_000)) {
            Broker.Connection c = offline(b, "away");
            for (int i = 0; i < SMALL.maxQueuedMessages(); i++) {
                assertTrue(publish(b, msg("o/x", 1, "m" + i), false).isDone());
            }
            CompletableFuture<PublishOutcome> held = publish(b, msg("o/x", 1, "m" + SMALL.maxQueuedMessages()), false);
            assertFalse(held.isDone(), "withheld until the session makes room");
            try (RecordingSink back = new RecordingSink()) {
                Broker.Connection again = back.onLoop(() -> b.connect(id("away"), false, 3600, 0, back));
                for (int i = 0; i <= SMALL.maxQueuedMessages(); i++) {
                    Delivery d = back.next();
                    assertEquals("m" + i, new String(d.message().payload()));
                    back.onLoop(() -> again.session().queue().acknowledge(d.packetId()));
                }
                assertFalse(held.get(5, TimeUnit.SECONDS).quotaExceeded());
            }
            assertEquals(0, b.stats().drops(BrokerStats.Drop.OFFLINE_QUEUE_FULL));
            assertEquals(c.session(), b.session(id("away")));
        }
    }

    /** The bound on withholding, for several bounds: held at least that long, released soon after, loss counted. */
    @Test
    void withholdHoldsNoLongerThanItsBound() throws Exception {
        for (long bound : new long[] {50, 300}) {
            try (Broker b = withholding(bound)) {
                offline(b, "away");
                connect(b, "present", other);
                for (int i = 0; i < SMALL.maxQueuedMessages(); i++) {
                    assertTrue(publish(b, msg("o/x", 1, "m" + i), false).isDone());
                    Delivery d = other.next();
                    other.onLoop(() -> b.session(id("present")).queue().acknowledge(d.packetId()));
                }
                long start = System.nanoTime();
                CompletableFuture<PublishOutcome> held = publish(b, msg("o/x", 1, "late"), false);
                PublishOutcome o = held.get(bound + 10_000, TimeUnit.MILLISECONDS);
                long heldMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertTrue(heldMillis >= bound - 5, "held for the bound: " + heldMillis + " ms of " + bound);
                assertFalse(o.quotaExceeded());
                assertEquals("late", new String(other.next().message().payload()), "everyone else has it");
                assertEquals(1, b.session(id("away")).queue().overflowedTotal(), "the absent session's loss, counted");
                assertEquals(1, b.stats().drops(BrokerStats.Drop.OFFLINE_QUEUE_FULL));
            }
        }
    }

    private Broker.Connection connect(Broker b, String id, RecordingSink sink) throws Exception {
        return sink.onLoop(() -> {
            Broker.Connection c = b.connect(id(id), true, 0, 0, sink);
            b.subscribe(c.session(), "o/#", null, SubscriptionOptions.ofQos(1), null);
            return c;
        });
    }

    @Test
    void aSharedGroupWithNoMemberAbleToTakeTheMessageRefusesARefusablePublisher() throws Exception {
        Broker.Connection holder = sub.onLoop(() -> {
            Broker.Connection conn = broker.connect(id("holder"), false, Long.MAX_VALUE, 0, sub);
            broker.subscribe(conn.session(), "q/jobs", "jobs", SubscriptionOptions.ofQos(1), null);
            return conn;
        });
        sub.onLoop(() -> {
            broker.disconnect(holder, false);
            return null;
        });
        for (int i = 0; i < SMALL.maxQueuedMessages(); i++) {
            assertFalse(publish(broker, msg("q/jobs", 1, "j" + i), true).get(5, TimeUnit.SECONDS).quotaExceeded());
        }
        assertTrue(publish(broker, msg("q/jobs", 1, "one too many"), true).get(5, TimeUnit.SECONDS).quotaExceeded(),
                "the message would go nowhere: its publisher is told");
    }

    @Test
    void theTotalQueuedBytesBoundDropsForOfflineSessionsOnly() throws Exception {
        QueueLimits roomy = new QueueLimits(1000, 1 << 20, 2, 3, List.of());
        long bound = 10L * msg("o/x", 1, "m0").weight();
        try (Broker b = new Broker(new BrokerConfig(roomy, 64, 0, OfflineQueuePolicy.DROP,
                new BrokerLimits(30_000, 0, bound, 0, 0)))) {
            offline(b, "away-1");
            offline(b, "away-2");
            for (int i = 0; i < 20; i++) {
                assertFalse(publish(b, msg("o/x", 1, "m" + i), false).get(5, TimeUnit.SECONDS).quotaExceeded());
            }
            long queued = b.session(id("away-1")).queue().queuedBytes() + b.session(id("away-2")).queue().queuedBytes();
            assertTrue(queued <= bound + msg("o/x", 1, "m0").weight(), "total queued " + queued + " within " + bound);
            assertEquals(queued, b.stats().queuedBytes.sum(), "the total is what the sessions hold");
            assertEquals(40 - 10, b.stats().drops(BrokerStats.Drop.OFFLINE_QUEUE_FULL));
        }
    }
    /**
     * The live bound, for every relation between it and the offline bound: a connected subscriber's queue takes
     * publishes until it holds {@code liveWindows} windows (never more than {@code maxQueuedMessages}; 0: that
     * bound), the next publisher is held, and it is woken only once the queue is half empty (at the first free
     * slot when the live bound is the offline one). Nothing is lost or reordered.
     */
    @Test
    void aConnectedSubscribersQueueHoldsPublishersAtItsLiveBoundAndWakesThemAtHalf() throws Exception {
        // {maxQueuedMessages, window, liveWindows, expected live bound, acknowledgements before the wake-up}
        int[][] cases = {
            {20, 2, 3, 6, 3},   // a few windows, under the offline bound
            {20, 2, 10, 20, 1}, // exactly the offline bound: woken at the first free slot, as before
            {5, 2, 4, 5, 1},    // more windows than the offline bound: capped at it
            {20, 2, 0, 20, 1},  // 0: the offline bound
            {20, 1, 1, 1, 1},   // one window of one: woken when the queue is empty
            {20, 3, 3, 9, 5},   // an odd bound: woken at 4 queued
        };
        for (int[] c : cases) {
            String label = java.util.Arrays.toString(c);
            QueueLimits limits = new QueueLimits(c[0], 1 << 20, c[1], 3, List.of(), c[2]);
            assertEquals(c[3], limits.liveBound(c[1]), label);
            try (Broker b = new Broker(new BrokerConfig(limits, 64)); RecordingSink s = new RecordingSink()) {
                Broker.Connection conn = s.onLoop(() -> {
                    Broker.Connection x = b.connect(id("live"), true, 0, 0, s);
                    b.subscribe(x.session(), "l/#", null, SubscriptionOptions.ofQos(1), null);
                    return x;
                });
                SubscriberQueue q = conn.session().queue();
                int accepted = c[1] + c[3]; // the window, then the live bound
                for (int i = 0; i < accepted; i++) {
                    assertTrue(publish(b, msg("l/x", 1, "m" + i), false).isDone(), label + ": publish " + i + " held");
                    if (i == c[1] - 1) {
                        s.onLoop(() -> null); // the drain has filled the window
                        assertEquals(c[1], q.inflightCount(), label);
                    }
                }
                assertEquals(c[3], q.queuedReliable(), label);
                CompletableFuture<PublishOutcome> held = publish(b, msg("l/x", 1, "m" + accepted), false);
                assertFalse(held.isDone(), label + ": the publish past the live bound must wait");
                int received = 0;
                for (int ack = 1; ack <= c[4]; ack++) {
                    Delivery d = s.next();
                    assertEquals("m" + received++, new String(d.message().payload(), StandardCharsets.UTF_8), label);
                    s.onLoop(() -> q.acknowledge(d.packetId()));
                    s.onLoop(() -> null); // the drain the acknowledgement scheduled has run
                    if (ack < c[4]) {
                        assertFalse(held.isDone(), label + ": woken after " + ack + " acknowledgements, queue "
                                + q.queuedReliable());
                    }
                }
                assertEquals(1, held.get(5, TimeUnit.SECONDS).matchedSessions(), label);
                while (received <= accepted) {
                    Delivery d = s.next();
                    assertEquals("m" + received++, new String(d.message().payload(), StandardCharsets.UTF_8), label);
                    s.onLoop(() -> q.acknowledge(d.packetId()));
                }
                assertTrue(s.sent.isEmpty(), label);
            }
        }
    }

    /**
     * The two bounds meet at a reconnect: offline, a persistent session queues up to the offline bound (well past
     * the live one) without holding or dropping anything; back online, the live bound holds new publishers until
     * the backlog is down to half of it, and the backlog comes first, in order.
     */
    @Test
    void anOfflineSessionQueuesToTheOfflineBoundAndOnceBackItsPublishersWaitForTheLiveOne() throws Exception {
        QueueLimits limits = new QueueLimits(20, 1 << 20, 2, 3, List.of(), 2); // live bound 4
        try (Broker b = new Broker(new BrokerConfig(limits, 64)); RecordingSink back = new RecordingSink()) {
            Broker.Connection first = sub.onLoop(() -> {
                Broker.Connection x = b.connect(id("away"), false, 3600, 0, sub);
                b.subscribe(x.session(), "o/#", null, SubscriptionOptions.ofQos(1), null);
                return x;
            });
            sub.onLoop(() -> {
                b.disconnect(first, false);
                return null;
            });
            for (int i = 0; i < limits.maxQueuedMessages(); i++) {
                assertTrue(publish(b, msg("o/x", 1, "m" + i), false).isDone(), "offline: publish " + i + " held");
            }
            assertEquals(0, b.stats().drops(BrokerStats.Drop.OFFLINE_QUEUE_FULL));
            Broker.Connection again = back.onLoop(() -> b.connect(id("away"), false, 3600, 0, back));
            SubscriberQueue q = again.session().queue();
            CompletableFuture<PublishOutcome> held = publish(b, msg("o/x", 1, "new"), false);
            assertFalse(held.isDone(), "18 queued behind a window of 2 is past the live bound of 4");
            int received = 0;
            while (!held.isDone()) {
                Delivery d = back.next();
                assertEquals("m" + received++, new String(d.message().payload(), StandardCharsets.UTF_8));
                back.onLoop(() -> q.acknowledge(d.packetId()));
                back.onLoop(() -> null);
                assertTrue(held.isDone() || q.queuedReliable() > 2, "held with only " + q.queuedReliable() + " queued");
                assertTrue(received <= limits.maxQueuedMessages(), "never woken");
            }
            while (received < limits.maxQueuedMessages()) {
                Delivery d = back.next();
                assertEquals("m" + received++, new String(d.message().payload(), StandardCharsets.UTF_8));
                back.onLoop(() -> q.acknowledge(d.packetId()));
            }
            assertEquals("new", new String(back.next().message().payload(), StandardCharsets.UTF_8));
        }
    }

    /** Retained messages a subscribe brings are held to the offline bound: nobody waits for them to be paced. */
    @Test
    void retainedMessagesOnSubscribeAreNotCutToTheLiveBound() throws Exception {
        QueueLimits limits = new QueueLimits(20, 1 << 20, 2, 3, List.of(), 2); // live bound 4
        try (Broker b = new Broker(new BrokerConfig(limits, 64))) {
            int topics = 15;
            for (int i = 0; i < topics; i++) {
                assertTrue(publish(b, Message.builder("r/" + i).qos(1).retain(true).payload(new byte[] {(byte) i})
                        .build(), false).isDone());
            }
            Broker.Connection c = connect(b, "late", "r/#");
            assertEquals(0, b.stats().drops(BrokerStats.Drop.RETAINED_QUEUE_FULL));
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            for (int i = 0; i < topics; i++) {
                Delivery d = sub.next();
                seen.add((int) d.message().payload()[0]);
                sub.onLoop(() -> c.session().queue().acknowledge(d.packetId()));
            }
            assertEquals(topics, seen.size());
        }
    }

    private Broker.Connection connect(Broker b, String id, String filter) throws Exception {
        return sub.onLoop(() -> {
            Broker.Connection x = b.connect(id(id), true, 0, 0, sub);
            b.subscribe(x.session(), filter, null, SubscriptionOptions.ofQos(1), null);
            return x;
        });
    }

    @Test
    void aSecondConnectionWithTheSameIdTakesTheSessionOver() throws Exception {
        connect("dup", sub, false, 3600, "d/#", 1);
        try (RecordingSink second = new RecordingSink()) {
            Broker.Connection c2 = second.onLoop(() -> broker.connect(id("dup"), false, 3600, 0, second));
            assertTrue(c2.present());
            assertEquals(CloseReason.SESSION_TAKEN_OVER, sub.closed.poll(10, TimeUnit.SECONDS));
            publish(msg("d/x", 1, "after"));
            assertEquals("after", new String(second.next().message().payload()));
        }
    }

    @Test
    void sharedGroupsGiveEachMessageToOneMemberAndPassOnALeavingMembersShare() throws Exception {
        Broker.Connection a = sub.onLoop(() -> {
            Broker.Connection c = broker.connect(id("a"), true, 0, 0, sub);
            broker.subscribe(c.session(), "jobs/#", "workers", SubscriptionOptions.ofQos(1), null);
            return c;
        });
        other.onLoop(() -> {
            Broker.Connection c = broker.connect(id("b"), true, 0, 0, other);
            broker.subscribe(c.session(), "jobs/#", "workers", SubscriptionOptions.ofQos(1), null);
            return c;
        });
        for (int i = 0; i < 4; i++) {
            assertEquals(1, publish(msg("jobs/x", 1, "j" + i)).get(5, TimeUnit.SECONDS).matchedSessions());
        }
        // both windows (2 each) hold the four messages; nobody acknowledges yet
        sub.next();
        sub.next();
        Delivery b0 = other.next();
        Delivery b1 = other.next();
        int toA = 2;
        sub.onLoop(() -> {
            broker.disconnect(a, false);
            return null;
        });
        other.onLoop(() -> broker.session(id("b")).queue().acknowledge(b0.packetId()));
        other.onLoop(() -> broker.session(id("b")).queue().acknowledge(b1.packetId()));
        AtomicInteger seen = new AtomicInteger();
        for (int i = 0; i < toA; i++) {
            Delivery d = other.next();
            seen.incrementAndGet();
            other.onLoop(() -> broker.session(id("b")).queue().acknowledge(d.packetId()));
        }
        assertEquals(toA, seen.get());
        assertTrue(other.sent.isEmpty());
    }

    @Test
    void aConsumerWhoseWindowStaysFullIsDisconnectedAsStuck() throws Exception {
        try (Broker quick = new Broker(new BrokerConfig(SMALL, 64, 200))) {
            sub.onLoop(() -> {
                Broker.Connection c = quick.connect(id("stuck"), true, 0, 0, sub);
                quick.subscribe(c.session(), "s/#", null, SubscriptionOptions.ofQos(1), null);
                return c;
            });
            for (int i = 0; i < SMALL.defaultWindow(); i++) {
                quick.publish(msg("s/x", 1, "m" + i), o -> { });
            }
            sub.next();
            sub.next();
            assertEquals(CloseReason.STUCK_CONSUMER, sub.closed.poll(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aWillIsPublishedOnAbnormalLossOnly() throws Exception {
        connect("watcher", other, true, 0, "wills/#", 1);
        Broker.Connection normal = sub.onLoop(() -> broker.connect(id("n"), true, 0, 0, sub));
        normal.session().will(new Will(msg("wills/n", 1, "gone"), 0));
        sub.onLoop(() -> {
            broker.disconnect(normal, false);
            return null;
        });
        Broker.Connection lost = sub.onLoop(() -> broker.connect(id("l"), true, 0, 0, sub));
        lost.session().will(new Will(msg("wills/l", 1, "lost"), 0));
        sub.onLoop(() -> {
            broker.disconnect(lost, true);
            return null;
        });
        Delivery d = other.next();
        assertEquals("wills/l", d.message().topic());
        assertTrue(other.sent.isEmpty());
    }

    @Test
    void aDelayedWillIsCancelledWhenTheSessionResumesInTime() throws Exception {
        connect("watcher", other, true, 0, "wills/#", 1);
        Broker.Connection c = sub.onLoop(() -> broker.connect(id("d"), false, 60, 0, sub));
        c.session().will(new Will(msg("wills/d", 1, "late"), 30));
        sub.onLoop(() -> {
            broker.disconnect(c, true);
            return null;
        });
        sub.onLoop(() -> broker.connect(id("d"), false, 60, 0, sub));
        assertEquals(null, other.sent.poll(300, TimeUnit.MILLISECONDS));
    }
}
