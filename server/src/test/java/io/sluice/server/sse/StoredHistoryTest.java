package io.sluice.server.sse;

import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageHistory.Recorded;
import io.sluice.server.broker.MessageStore;
import io.sluice.server.broker.SubscriptionOptions;
import io.sluice.server.store.RocksMessageStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksIterator;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The history written through to a real RocksDB store and read back by a new instance, as a restart does: the
 * same epoch, the same positions and answers, every gap (count, age, a forgotten topic) still a gap, and new
 * positions above every old one.
 */
class StoredHistoryTest {
    private final AtomicLong clock = new AtomicLong(1_000_000);

    /** A history on the store after its recovery, with a reader given a position (it is written from then on). */
    private MemoryHistory open(RocksMessageStore store, int perTopic, long ageMillis, int topics) {
        MemoryHistory h = unread(store, perTopic, ageMillis, topics);
        h.readerStarting();
        return h;
    }

    /** A history on the store after its recovery, as a start finds it before any reader. */
    private MemoryHistory unread(RocksMessageStore store, int perTopic, long ageMillis, int topics) {
        MemoryHistory h = new MemoryHistory(perTopic, ageMillis, topics, List.of("#"), store, clock::get);
        // as a broker's start does: the store hands the history back in its recovery pass
        store.recover(new MessageStore.Recovery() {
            @Override
            public boolean retained(Message message) {
                return true;
            }

            @Override
            public void session(String id, long expiry, long disconnectedAtMillis, boolean onlineAtStop) {
            }

            @Override
            public void subscription(String id, String filter, String shareGroup, SubscriptionOptions options) {
            }

            @Override
            public void queued(String id, long seq, Message message, int qos, boolean retainFlag, int[] ids,
                               int packetId, boolean released, String groupKey) {
            }

            @Override
            public void inboundQos2(String id, int packetId) {
            }

            @Override
            public void will(String id, Message will, long publishAtMillis) {
            }

            @Override
            public MessageStore.HistoryRecovery history() {
                return h.recovery();
            }
        });
        h.recovered();
        return h;
    }

    private static Message m(String topic, String payload) {
        return m(topic, payload, 1);
    }

    private static Message m(String topic, String payload, int qos) {
        return Message.builder(topic).payload(payload.getBytes(StandardCharsets.UTF_8)).qos(qos).build();
    }

    /** Keys of one kind byte in a closed store (kinds: docs/persistence.md, key layout). */
    private static long keys(Path dir, int kind) throws Exception {
        try (Options o = new Options(); RocksDB db = RocksDB.openReadOnly(o, dir.resolve("db").toString());
             RocksIterator it = db.newIterator()) {
            long n = 0;
            for (it.seek(new byte[] {(byte) kind}); it.isValid() && it.key()[0] == kind; it.next()) {
                n++;
            }
            return n;
        }
    }

    private static List<String> payloads(List<Recorded> r) {
        return r.stream().map(x -> new String(x.message().payload(), StandardCharsets.UTF_8)).toList();
    }

    private static void awaitWrites(RocksMessageStore store) throws Exception {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        store.afterWrites(done::complete);
        assertTrue(done.get(10, TimeUnit.SECONDS));
    }

    @Test
    void aRestartKeepsPositionsAnswersAndGaps(@TempDir Path dir) throws Exception {
        long epoch;
        long a2;
        long c1;
        long last;
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = open(store, 3, 60_000, 100);
            epoch = h.epoch();
            h.append(m("a", "a1"));
            a2 = h.append(m("a", "a2"));
            for (int i = 3; i <= 5; i++) {
                h.append(m("a", "a" + i)); // a1 and a2 leave: per topic 3
            }
            c1 = h.append(m("c", "c1"));
            h.append(m("d", "d1"));
            last = h.append(m("c", "c2"));
            awaitWrites(store);
        }
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = open(store, 3, 60_000, 100);
            assertEquals(epoch, h.epoch(), "positions keep their meaning");
            assertTrue(h.head() > last, "a new start begins above every old position");
            assertEquals(List.of("a3", "a4", "a5"), payloads(h.since(List.of("a"), a2)));
            assertNull(h.since(List.of("a"), a2 - 1), "a1 and a2 were trimmed: a gap, not a short answer");
            assertEquals(List.of("d1", "c2"), payloads(h.since(List.of("c", "d"), c1)));
            long next = h.append(m("c", "c3"));
            assertTrue(next > last);
            assertEquals(List.of("c2", "c3"), payloads(h.since(List.of("c"), c1)));
            awaitWrites(store);
        }
        // down for longer than the history's age: what aged out meanwhile is a gap after the start
        clock.addAndGet(120_000);
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = open(store, 3, 60_000, 100);
            assertNull(h.since(List.of("c"), c1));
            assertEquals(0, h.size());
        }
    }

    /**
     * Until the first reader of the store's life nobody holds a position, and nothing is written or kept for the
     * history (no entry, no trim, no mark of a QoS 0 topic); from the moment a reader is about to read the head, every QoS 1/2
     * message above it is written, and every later start writes from its first message, reader or not.
     */
    @Test
    void theHistoryIsWrittenFromTheFirstReaderOnInThisStartAndEveryLaterOne(@TempDir Path dir) throws Exception {
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = unread(store, 3, 60_000, 2);
            for (int i = 1; i <= 12; i++) {
                h.append(m("t" + (i % 3), "x" + i, i % 3)); // QoS 0, 1, 2; trims; a forgotten topic
            }
            assertEquals(0, h.size(), "nor kept in memory");
            assertTrue(!h.writesThrough());
            awaitWrites(store);
        }
        assertEquals(0, keys(dir, 0x40));
        assertEquals(0, keys(dir, 0x41));
        assertEquals(0, keys(dir, 0x42));
        try (Options o = new Options(); RocksDB db = RocksDB.openReadOnly(o, dir.resolve("db").toString())) {
            assertNull(db.get(new byte[] {0, 'f'}), "no forgotten topic recorded");
            assertNull(db.get(new byte[] {0, 'r'}), "no reader recorded");
        }
        long start;
        long b1;
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = unread(store, 10, 60_000, 100);
            h.append(m("b", "b0"));
            h.readerStarting();
            assertTrue(h.writesThrough());
            start = h.head();
            b1 = h.append(m("b", "b1"));
            h.append(m("b", "b2", 0));
            h.append(m("b", "b3", 2));
            awaitWrites(store);
        }
        assertEquals(2, keys(dir, 0x40), "b1 and b3, the QoS 1/2 messages after the reader's head");
        assertEquals(1, keys(dir, 0x42), "b's history held a QoS 0 message after it");
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = unread(store, 10, 60_000, 100);
            assertTrue(h.writesThrough(), "a reader may come back with a position: written from the first message");
            assertNull(h.since(List.of("b"), b1), "b2 was in memory only: a gap, as before");
            h.append(m("c", "c1"));
            awaitWrites(store);
        }
        assertEquals(1, keys(dir, 0x40), "c1, written without a reader in this start; b1 and b3 left with b's gap");
        assertTrue(start > 0);
    }

    @Test
    void aTopicForgottenBeforeARestartIsStillAGapAfterIt(@TempDir Path dir) throws Exception {
        long head;
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = open(store, 10, 60_000, 2);
            for (int i = 1; i <= 50; i++) {
                h.append(m("t" + i, "x"));
            }
            head = h.head();
            assertNull(h.since(List.of("t1"), 0));
            awaitWrites(store);
        }
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = open(store, 10, 60_000, 2);
            assertNull(h.since(List.of("t1"), 0), "what the forgotten topics held is unknown");
            assertTrue(h.size() <= 2, "only the topics it may keep come back: " + h.size());
            assertEquals(List.of(), h.since(List.of("t1"), head));
        }
    }

    /**
     * QoS 0 messages stay in memory, as everywhere in the broker: the store keeps the history of QoS 1 and 2
     * messages only, and a topic whose history held a QoS 0 message is, after a restart, a gap up to the restart
     * (its readers get a reset, never an answer that silently lacks the lost messages); a topic of QoS 1 and 2
     * messages resumes across it. The gap stays one across a later restart.
     */
    @Test
    void qos0HistoryStaysInMemoryAndIsAGapAfterARestart(@TempDir Path dir) throws Exception {
        long q1;
        long m1;
        long m3;
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = open(store, 10, 60_000, 100);
            q1 = h.append(m("q", "q1", 1));
            m1 = h.append(m("m", "m1", 1));
            h.append(m("m", "m2", 0));
            h.append(m("q", "q2", 2));
            m3 = h.append(m("m", "m3", 1));
            h.append(m("z", "z1", 0));
            h.append(m("z", "z2", 0));
            assertEquals(List.of("m1", "m2", "m3"), payloads(h.since(List.of("m"), 0)), "served from memory meanwhile");
            awaitWrites(store);
        }
        assertEquals(0, keys(dir, 0x10), "history entries hold their message: no payload record");
        assertEquals(4, keys(dir, 0x40), "history entries of the QoS 1/2 messages only");
        long m4;
        long beforeM4;
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = open(store, 10, 60_000, 100);
            assertEquals(List.of("q2"), payloads(h.since(List.of("q"), q1)), "a QoS 1/2 topic resumes across it");
            assertNull(h.since(List.of("m"), m1), "m2 was in memory only: a gap");
            assertNull(h.since(List.of("m"), m3), "what came after m3 before the restart is not known either");
            assertNull(h.since(List.of("z"), 0));
            assertNull(h.since(List.of("q", "m"), q1));
            beforeM4 = h.head();
            m4 = h.append(m("m", "m4", 1));
            assertEquals(List.of("m4"), payloads(h.since(List.of("m"), beforeM4)), "after the restart it goes on");
            awaitWrites(store);
        }
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = open(store, 10, 60_000, 100);
            assertNull(h.since(List.of("m"), m3), "still a gap after another restart");
            assertEquals(List.of("m4"), payloads(h.since(List.of("m"), beforeM4)));
            assertEquals(List.of(), h.since(List.of("m"), m4));
            assertEquals(List.of("q2"), payloads(h.since(List.of("q"), q1)));
        }
        assertEquals(3, keys(dir, 0x40), "m1 and m3 left with the gap: q1, q2 and m4 remain");
    }

    /**
     * The store is told of trims a chunk at a time (one range delete for a quarter of the per-topic bound): it holds at
     * most that many entries more than memory, and a restart drops them again by the same bound, so a reader sees
     * exactly the last {@code history-messages} messages and a gap before them, and the store holds no more after it.
     */
    @Test
    void theStoreTrimsInChunksAndARestartHoldsTheHistoryAtItsBound(@TempDir Path dir) throws Exception {
        int perTopic = 40;
        int chunk = MemoryHistory.storeTrimChunk(perTopic);
        assertEquals(10, chunk);
        List<Long> positions = new java.util.ArrayList<>();
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = open(store, perTopic, 60_000, 100);
            for (int i = 1; i <= 205; i++) {
                positions.add(h.append(m("t", "t" + i)));
                if (i <= 3) {
                    h.append(m("u", "u" + i)); // below the bound: never trimmed
                }
            }
            assertEquals(perTopic + 3, h.size());
            awaitWrites(store);
        }
        // 165 dropped from memory, 160 of them (16 chunks) from the store so far
        assertEquals(45 + 3, keys(dir, 0x40));
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = open(store, perTopic, 60_000, 100);
            List<String> expected = new java.util.ArrayList<>();
            for (int i = 166; i <= 205; i++) {
                expected.add("t" + i);
            }
            assertEquals(expected, payloads(h.since(List.of("t"), positions.get(164))));
            assertNull(h.since(List.of("t"), positions.get(163)), "t165 was trimmed before the restart: a gap");
            assertNull(h.since(List.of("t"), positions.get(100)));
            assertEquals(List.of("u1", "u2", "u3"), payloads(h.since(List.of("u"), positions.get(0) - 1)));
            awaitWrites(store);
            // the start told the store what its bound dropped: it holds the bound, no more
            assertEquals(perTopic + 3, keysOpen(store));
            for (int i = 206; i <= 215; i++) {
                positions.add(h.append(m("t", "t" + i)));
            }
            awaitWrites(store);
        }
        assertEquals(perTopic + 3, keys(dir, 0x40), "ten more appended, ten trimmed: one chunk");
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MemoryHistory h = open(store, perTopic, 60_000, 100);
            assertEquals(perTopic, h.since(List.of("t"), positions.get(174)).size());
            assertNull(h.since(List.of("t"), positions.get(173)));
        }
    }

    /** History entries in an open store (a read-only second handle). */
    private static long keysOpen(RocksMessageStore store) throws Exception {
        return keys(store.directory(), 0x40);
    }
}
