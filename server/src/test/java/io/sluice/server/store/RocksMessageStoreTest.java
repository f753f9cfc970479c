package io.sluice.server.store;

import io.sluice.server.broker.Delivery;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageProperties;
import io.sluice.server.broker.MessageStore;
import io.sluice.server.broker.SubscriptionOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksIterator;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The RocksDB store on a real directory: what is written comes back in order, payloads once, refusals. */
class RocksMessageStoreTest {

    @Test
    void everythingWrittenComesBackAfterReopeningInOrder(@TempDir Path dir) throws Exception {
        Message m1 = Message.builder("a/b").payload(bytes("one")).qos(1).publisherId("pub")
                .properties(new MessageProperties("text/plain", true, "re/ply", bytes("corr"),
                        List.of(Map.entry("k", "v"), Map.entry("k", "w")))).build();
        Message m2 = Message.builder("a/c").payload(bytes("two")).qos(2).expiresAtMillis(4_000_000_000_000L).build();
        Message retained = Message.builder("r/x").payload(bytes("kept")).qos(1).retain(true).build();
        Message will = Message.builder("will/t").payload(bytes("bye")).qos(1).build();
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            store.putSession("s1", 3600, 0);
            store.putSubscription("s1", "a/#", null, new SubscriptionOptions(2, true, true, 1, 7));
            store.putSubscription("s1", "a/+", "g", SubscriptionOptions.ofQos(1));
            Delivery d1 = new Delivery(m1, 1, false, new int[] {7}, null);
            Delivery d2 = new Delivery(m2, 2, true, new int[0], null);
            store.putQueued("s1", 1, d1);
            store.putQueued("s1", 2, d2);
            store.putInboundQos2("s1", 42);
            store.putWill("s1", will, 123_456L);
            store.putRetained(retained, null);
            awaitWrites(store);
        }
        Recorded r = recover(dir);
        assertEquals(List.of("session s1 3600 " + 0L), r.sessions.subList(0, 1).stream()
                .map(s -> s.replaceAll(" \\d+$", " 0")).toList());
        assertEquals(List.of("s1 a/+ g 1 false false 0 0", "s1 a/# null 2 true true 1 7"), r.subscriptions); // key order
        assertEquals(2, r.queued.size());
        assertEquals("s1 1 a/b one 1 false [7] 0 false", r.queued.get(0));
        assertEquals("s1 2 a/c two 2 true [] 0 false", r.queued.get(1));
        assertEquals(List.of("s1 42"), r.inbound);
        assertEquals(List.of("s1 will/t bye 123456"), r.wills);
        assertEquals(List.of("r/x kept"), r.retained);
        Message back = r.messages.get(0);
        assertEquals("text/plain", back.properties().contentType());
        assertEquals(Boolean.TRUE, back.properties().payloadFormatUtf8());
        assertEquals("re/ply", back.properties().responseTopic());
        assertArrayEquals(bytes("corr"), back.properties().correlationData());
        assertEquals(List.of(Map.entry("k", "v"), Map.entry("k", "w")), back.properties().userProperties());
        assertEquals("pub", back.publisherId());
        assertEquals(4_000_000_000_000L, r.messages.get(1).expiresAtMillis());
    }

    @Test
    void aSessionOnlineWhenTheBrokerStoppedCountsAsOfflineSinceTheLastClock(@TempDir Path dir) throws Exception {
        long before = System.currentTimeMillis();
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            store.putSession("online", 60, 0);
            store.putSession("offline", 60, 1000);
            awaitWrites(store);
        }
        Recorded r = recover(dir);
        String online = r.sessions.stream().filter(s -> s.startsWith("session online ")).findFirst().orElseThrow();
        long onlineSince = Long.parseLong(online.split(" ")[3]);
        assertTrue(onlineSince >= before && onlineSince <= System.currentTimeMillis(), r.sessions.toString());
        assertTrue(r.sessions.contains("session offline 60 1000"), r.sessions.toString());
    }

    /**
     * The first queue entry of a message carries it inline; the others refer to one payload record: a fan-out writes
     * the payload twice at most, however wide, and the record goes with its last reference.
     */
    @Test
    void aPayloadFannedOutToManyQueuesIsWrittenTwiceAtMostAndGoesWithItsLastReference(@TempDir Path dir) throws Exception {
        Message m = Message.builder("fan/out").payload(new byte[1000]).qos(1).build();
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            for (int i = 0; i < 1000; i++) {
                store.putSession("s" + i, Long.MAX_VALUE, 0);
                store.putQueued("s" + i, 1, new Delivery(m, 1, false, new int[0], null));
            }
            awaitWrites(store);
        }
        assertEquals(1, countKeys(dir, KeyLayout.MESSAGE));
        assertEquals(1000, countKeys(dir, KeyLayout.QUEUED));
        assertTrue(totalBytes(dir) < 2 * 1000 + 1000 * 100, "the payload twice, not 1,000 times: " + totalBytes(dir));
        Recorded r = recover(dir);
        assertEquals(1000, r.queued.size());
        assertEquals(2, r.messages.stream().distinct().count(),
                "one Message shared by every entry referring to the record, and the inline entry's own");
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            Recorded again = new Recorded();
            store.recover(again);
            assertTrue(again.queued.get(0).startsWith("s0 "), "s0's entry first in key order: the inline one");
            assertTrue(again.messages.get(0) != again.messages.get(1));
            for (int i = 0; i < 999; i++) {
                String sid = again.queued.get(i).split(" ")[0];
                store.deleteQueued(sid, 1, new Delivery(again.messages.get(i), 1, false, new int[0], null));
            }
            awaitWrites(store);
            assertEquals(1, countKeysOpen(store, KeyLayout.MESSAGE), "one reference left holds the payload");
            String lastSid = again.queued.get(999).split(" ")[0];
            store.deleteQueued(lastSid, 1, new Delivery(again.messages.get(999), 1, false, new int[0], null));
            awaitWrites(store);
            assertEquals(0, countKeysOpen(store, KeyLayout.MESSAGE), "the last reference took the payload along");
            assertEquals(0, countKeysOpen(store, KeyLayout.QUEUED));
        }
    }

    /**
     * An entry that carries its message keeps it through an in-flight update written after it, whether the entry was
     * put in this run or recovered; the record version is 4 from the first start on.
     */
    @Test
    void anInlineEntryKeepsItsMessageThroughItsUpdates(@TempDir Path dir) throws Exception {
        Message m = Message.builder("in/line").payload(bytes("own")).qos(2).build();
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            store.putSession("s", Long.MAX_VALUE, 0);
            Delivery d = new Delivery(m, 2, false, new int[] {3}, null);
            store.putQueued("s", 1, d);
            awaitWrites(store);
            store.putInflight("s", 1, d); // written: a put of its own
            awaitWrites(store);
            assertEquals(0, countKeysOpen(store, KeyLayout.MESSAGE), "no payload record: the entry carries it");
        }
        Recorded r = recover(dir);
        assertEquals(List.of("s 1 in/line own 2 false [3] 0 false"), r.queued);
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            Recorded again = new Recorded();
            store.recover(again);
            Delivery d = new Delivery(again.messages.get(0), 2, false, new int[] {3}, null);
            store.putInflight("s", 1, d); // a recovered entry: no handle, its message says it is the inline one
            awaitWrites(store);
            // queued again elsewhere while its inline entry stays: a payload record for the new one
            store.putSession("t", Long.MAX_VALUE, 0);
            store.putQueued("t", 1, new Delivery(again.messages.get(0), 2, false, new int[0], null));
            awaitWrites(store);
            assertEquals(1, countKeysOpen(store, KeyLayout.MESSAGE));
        }
        r = recover(dir);
        assertEquals(List.of("s 1 in/line own 2 false [3] 0 false", "t 1 in/line own 2 false [] 0 false"), r.queued);
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            Recorded again = new Recorded();
            store.recover(again);
            store.deleteQueued("s", 1, new Delivery(again.messages.get(0), 2, false, new int[0], null));
            awaitWrites(store);
            assertEquals(1, countKeysOpen(store, KeyLayout.MESSAGE), "the inline entry's delete leaves the record");
            store.deleteQueued("t", 1, new Delivery(again.messages.get(1), 2, false, new int[0], null));
            awaitWrites(store);
            assertEquals(0, countKeysOpen(store, KeyLayout.MESSAGE));
        }
    }

    /** A format 3 store (every queue entry refers to a payload record) is read as it is and marked current. */
    @Test
    void aFormatThreeStoreIsReadAsItIsAndMarkedCurrent(@TempDir Path dir) throws Exception {
        RocksMessageStore.open(dir, false).close();
        Message shared = Message.builder("f/3").payload(bytes("three")).qos(1).build();
        try (Options o = new Options(); RocksDB db = RocksDB.open(o, dir.resolve("db").toString())) {
            db.put(KeyLayout.VERSION_KEY, ByteBuffer.allocate(4).putInt(3).array());
            db.put(KeyLayout.message(7), Records.message(shared));
            db.put(KeyLayout.session("a"), Records.session(60, 0));
            db.put(KeyLayout.session("b"), Records.session(60, 0));
            db.put(KeyLayout.queued("a", 1), Records.entry(7, 1, false, false, 5, new int[0], null));
            db.put(KeyLayout.queued("b", 1), Records.entry(7, 1, true, false, 0, new int[] {2}, null));
        }
        Recorded r = recover(dir);
        assertEquals(List.of("a 1 f/3 three 1 false [] 5 false", "b 1 f/3 three 1 true [2] 0 false"), r.queued);
        assertTrue(r.messages.get(0) == r.messages.get(1), "one payload record, one Message");
        try (Options o = new Options(); RocksDB db = RocksDB.openReadOnly(o, dir.resolve("db").toString())) {
            assertEquals(KeyLayout.FORMAT_VERSION, ByteBuffer.wrap(db.get(KeyLayout.VERSION_KEY)).getInt());
            assertNotNull(db.get(KeyLayout.message(7)));
        }
    }

    /**
     * Format 5 writes the history only from the first reader of a store's life on. A new store has had none; a
     * reader's arrival is recorded and every later start writes from its first message; a format 4 store wrote its
     * history from its first start (readers may hold its positions), so it is marked read when it is upgraded.
     */
    @Test
    void theHistoryIsReadFromTheFirstReaderOnAndAFormatFourStoreCountsAsRead(@TempDir Path dir, @TempDir Path old)
            throws Exception {
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            assertFalse(store.historyOrigin().read(), "a new store: nobody was given a position");
        }
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            assertFalse(store.historyOrigin().read(), "still nobody");
            store.historyRead();
            awaitWrites(store);
            assertFalse(store.historyOrigin().read(), "this start's origin is what the start found");
        }
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            assertTrue(store.historyOrigin().read());
        }
        RocksMessageStore.open(old, false).close();
        try (Options o = new Options(); RocksDB db = RocksDB.open(o, old.resolve("db").toString())) {
            db.put(KeyLayout.VERSION_KEY, ByteBuffer.allocate(4).putInt(4).array());
        }
        try (RocksMessageStore store = RocksMessageStore.open(old, false)) {
            assertTrue(store.historyOrigin().read(), "a format 4 store's history was written and read from the start");
        }
        try (Options o = new Options(); RocksDB db = RocksDB.openReadOnly(o, old.resolve("db").toString())) {
            assertEquals(5, ByteBuffer.wrap(db.get(KeyLayout.VERSION_KEY)).getInt());
        }
    }

    /**
     * Write elision: an entry deleted before the group commit reached it is never written, nor is its payload when
     * no other reference holds it; one the writer already wrote is deleted for real; a payload a retained or history
     * entry refers to is written whatever happens to its queue entries. The writer is held in a barrier's callback
     * so the puts are known to be still pending when the deletes come.
     */
    @Test
    void anEntryAcknowledgedBeforeItsGroupCommitIsNeverWrittenAndNothingIsLeftBehind(@TempDir Path dir) throws Exception {
        Message acked = Message.builder("e/acked").payload(bytes("a")).qos(1).build();
        Message kept = Message.builder("e/kept").payload(bytes("k")).qos(1).build();
        Message late = Message.builder("e/late").payload(bytes("l")).qos(1).build();
        Message retained = Message.builder("e/retained").payload(bytes("r")).qos(1).retain(true).build();
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            store.putSession("s", Long.MAX_VALUE, 0);
            Delivery lateDelivery = new Delivery(late, 1, false, new int[0], null);
            store.putQueued("s", 1, lateDelivery);
            awaitWrites(store);
            java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            store.afterWrites(ok -> {
                held.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS); // holds the writer: what follows stays pending
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            // only once the writer is held: a writer that has not yet taken the barrier would take what follows
            // into the same batch and write it
            assertTrue(held.await(10, TimeUnit.SECONDS), "the writer reached the barrier");
            Delivery a = new Delivery(acked, 1, false, new int[0], null);
            store.putQueued("s", 2, a);
            store.putInflight("s", 2, a);
            Delivery k = new Delivery(kept, 1, false, new int[0], null);
            store.putQueued("s", 3, k);
            Delivery r = new Delivery(retained, 1, false, new int[0], null);
            store.putQueued("s", 4, r);
            store.putRetained(retained, null);
            store.deleteQueued("s", 2, a);
            store.deleteQueued("s", 4, r);
            store.deleteQueued("s", 1, lateDelivery);
            release.countDown();
            awaitWrites(store);
            assertEquals(2, store.elidedWrites(), "the entries of seq 2 (which carried its message) and 4: never written");
        }
        Recorded r = recover(dir);
        assertEquals(List.of("s 3 e/kept k 1 false [] 0 false"), r.queued, "only the unacknowledged entry");
        assertEquals(List.of("e/retained r"), r.retained);
        assertEquals(1, countKeys(dir, KeyLayout.MESSAGE), "the retained one's payload; 'kept' is in its entry");
    }

    /**
     * A busy writer (its last batch held 64 operations or more) lingers before its next batch: an acknowledgement
     * arriving meanwhile cancels the entry and its payload. The linger here is a whole second, so the delete surely
     * comes within it.
     */
    @Test
    void aBusyWriterLingersSoAnEntryAcknowledgedMeanwhileIsNeverWritten(@TempDir Path dir) throws Exception {
        Message m = Message.builder("l/t").payload(bytes("x")).qos(1).build();
        try (RocksMessageStore store = RocksMessageStore.open(dir, false, 1_000_000)) {
            java.util.concurrent.CountDownLatch release = holdWriter(store);
            for (int i = 0; i < GroupCommitWriter.BUSY_BATCH; i++) {
                store.putSession("s" + i, Long.MAX_VALUE, 0);
            }
            // the barrier is queued behind them before the writer goes on, so all 64 and it are one batch: awaited
            // after the release, the barrier could come as a batch of its own, which leaves the writer not busy
            CompletableFuture<Boolean> written = new CompletableFuture<>();
            store.afterWrites(written::complete);
            release.countDown();
            assertTrue(written.get(10, TimeUnit.SECONDS), "store write failed"); // the writer is busy now
            assertEquals(0, store.elidedWrites());
            Delivery d = new Delivery(m, 1, false, new int[0], null);
            store.putQueued("s0", 1, d);
            store.putInflight("s0", 1, d); // folds into the pending put
            store.deleteQueued("s0", 1, d);
            awaitWrites(store);
            assertEquals(1, store.elidedWrites(), "the entry, which carried its message: never written");
        }
        Recorded r = recover(dir);
        assertEquals(GroupCommitWriter.BUSY_BATCH, r.sessions.size());
        assertEquals(List.of(), r.queued);
        assertEquals(0, countKeys(dir, KeyLayout.MESSAGE));
    }

    /**
     * An in-flight update of an entry already written is a put of its own that the acknowledgement cancels; the
     * entry's delete is written, so nothing of it is left.
     */
    @Test
    void anInflightUpdateOfAWrittenEntryIsCancelledByItsAcknowledgementAndTheEntryDeleted(@TempDir Path dir)
            throws Exception {
        Message m = Message.builder("u/t").payload(bytes("x")).qos(1).build();
        Message other = Message.builder("u/o").payload(bytes("o")).qos(1).build();
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            store.putSession("s", Long.MAX_VALUE, 0);
            Delivery d = new Delivery(m, 1, false, new int[0], null);
            store.putQueued("s", 1, d);
            Delivery o = new Delivery(other, 1, false, new int[0], null);
            store.putQueued("s", 2, o);
            awaitWrites(store);
            java.util.concurrent.CountDownLatch release = holdWriter(store);
            store.putInflight("s", 1, d);
            store.deleteQueued("s", 1, d);
            store.putInflight("s", 2, o); // stays: its update is written
            release.countDown();
            awaitWrites(store);
            assertEquals(1, store.elidedWrites(), "the update of the acknowledged entry");
        }
        Recorded r = recover(dir);
        assertEquals(List.of("s 2 u/o o 1 false [] 0 false"), r.queued, "the update kept the message it carries");
        assertEquals(0, countKeys(dir, KeyLayout.MESSAGE));
    }

    /** Hold the writer in a barrier's callback until the returned latch is counted down: what follows stays pending. */
    private static java.util.concurrent.CountDownLatch holdWriter(RocksMessageStore store) throws Exception {
        java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        store.afterWrites(ok -> {
            held.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(held.await(10, TimeUnit.SECONDS), "the writer reached the barrier");
        return release;
    }

    @Test
    void deletingASessionTakesItsSubscriptionsQueueInboundIdsAndWillButNotOthers(@TempDir Path dir) throws Exception {
        Message m = Message.builder("t").payload(bytes("x")).qos(1).build();
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            Delivery ofA = null;
            for (String sid : List.of("a", "ab", "b")) {
                store.putSession(sid, 10, 0);
                store.putSubscription(sid, "t", null, SubscriptionOptions.ofQos(1));
                Delivery d = new Delivery(m, 1, false, new int[0], null);
                store.putQueued(sid, 5, d);
                ofA = ofA == null ? d : ofA;
                store.putInboundQos2(sid, 9);
                store.putWill(sid, m, 1);
            }
            store.deleteQueued("a", 5, ofA);
            store.deleteSession("a");
            awaitWrites(store);
        }
        Recorded r = recover(dir);
        assertEquals(2, r.sessions.size());
        assertTrue(r.sessions.stream().noneMatch(s -> s.startsWith("session a ")), r.sessions.toString());
        assertEquals(List.of("b t null 1 false false 0 0", "ab t null 1 false false 0 0"), r.subscriptions);
        assertEquals(2, r.queued.size());
        assertEquals(List.of("b 9", "ab 9"), r.inbound);
        assertEquals(2, r.wills.size());
    }

    @Test
    void inflightStateIsKeptWithItsPacketIdAndRelease(@TempDir Path dir) throws Exception {
        Message m = Message.builder("q2").payload(bytes("x")).qos(2).build();
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            store.putSession("s", 10, 0);
            Delivery d = new Delivery(m, 2, false, new int[0], null);
            store.putQueued("s", 1, d);
            awaitWrites(store);
        }
        Recorded r = recover(dir);
        assertEquals("s 1 q2 x 2 false [] 0 false", r.queued.get(0));
    }

    @Test
    void historyComesBackWithItsTrimsAndEachStartBeginsAboveTheLast(@TempDir Path dir) throws Exception {
        MessageStore.HistoryOrigin first;
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            first = store.historyOrigin();
            long p = first.firstPosition();
            for (int i = 1; i <= 10; i++) {
                Message m = Message.builder("h/t").payload(bytes("m" + i)).build();
                store.appendHistory("h/t", p + i, 1000 + i, m);
                store.appendHistory("h/tt", p + 100 + i, 2000, Message.builder("h/tt").payload(bytes("o" + i)).build());
            }
            store.trimHistory("h/t", p + 1, p + 6);
            store.trimHistory("h/t", p + 7, p + 7);
            store.appendHistory("h/€ü", p + 200, 3000, Message.builder("h/€ü").payload(bytes("x")).publisherId("é")
                    .properties(new MessageProperties(null, null, null, null, List.of(Map.entry("ключ", "値"))))
                    .build());
            Message gone = Message.builder("gone").payload(bytes("y")).build();
            store.appendHistory("gone", p + 300, 3000, gone);
            store.forgetHistory("gone", p + 300, p + 300);
            // a message queued for a session and kept in the history: a payload for the queue, a copy in the history
            Message shared = Message.builder("h/q").payload(bytes("q")).qos(1).build();
            store.putSession("s", 60, 0);
            store.putQueued("s", 1, new Delivery(shared, 1, false, new int[0], null));
            store.appendHistory("h/q", p + 400, 4000, shared);
            awaitWrites(store);
            // history entries hold their message, and so does the queue entry: no payload record
            assertEquals(0, countKeysOpen(store, KeyLayout.MESSAGE));
            assertEquals(3 + 10 + 1 + 1, countKeysOpen(store, KeyLayout.HISTORY), "h/t 8..10, h/tt 1..10, h/€ü, h/q");
        }
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            MessageStore.HistoryOrigin second = store.historyOrigin();
            assertEquals(first.epoch(), second.epoch(), "the epoch is the store's, for its whole life");
            assertTrue(second.firstPosition() > first.firstPosition() + 400, second + " after " + first);
            long p = first.firstPosition();
            List<String> entries = new ArrayList<>();
            Map<String, Long> trimmed = new java.util.HashMap<>();
            long[] forgotten = {0};
            Message[] shared = new Message[1];
            Recorded r = new Recorded() {
                @Override
                public MessageStore.HistoryRecovery history() {
                    return new MessageStore.HistoryRecovery() {
                        @Override
                        public void entry(String topic, long position, long appendedAtMillis, Message message) {
                            entries.add(topic + " " + (position - p) + " " + appendedAtMillis + " "
                                    + new String(message.payload(), StandardCharsets.UTF_8));
                            if (topic.equals("h/q")) {
                                shared[0] = message;
                            }
                            if (topic.equals("h/€ü")) {
                                assertEquals("é", message.publisherId());
                                assertEquals(List.of(Map.entry("ключ", "値")), message.properties().userProperties());
                            }
                        }

                        @Override
                        public void trimmed(String topic, long throughPosition) {
                            trimmed.put(topic, throughPosition - p);
                        }

                        @Override
                        public void forgotten(long throughPosition) {
                            forgotten[0] = throughPosition - p;
                        }
                    };
                }
            };
            store.recover(r);
            List<String> expected = new ArrayList<>();
            expected.add("h/q 400 4000 q");
            for (int i = 8; i <= 10; i++) {
                expected.add("h/t " + i + " " + (1000 + i) + " m" + i);
            }
            for (int i = 1; i <= 10; i++) {
                expected.add("h/tt " + (100 + i) + " 2000 o" + i);
            }
            expected.add("h/€ü 200 3000 x");
            // key order: topics by their UTF-8 bytes, each topic's entries by position
            expected.sort(java.util.Comparator.comparing((String e) -> e.substring(0, e.indexOf(' ')),
                    java.util.Comparator.comparing((String t) -> t.getBytes(StandardCharsets.UTF_8),
                            java.util.Arrays::compareUnsigned)));
            assertEquals(expected, entries);
            assertEquals(Map.of("h/t", 7L), trimmed);
            assertEquals(300, forgotten[0]);
            assertEquals(List.of("s 1 h/q q 1 false [] 0 false"), r.queued);
            assertEquals("q", new String(shared[0].payload(), StandardCharsets.UTF_8));
            assertEquals(0, r.messages.get(0).storeRefs(), "the queue entry carries the message, the history its own copy");
        }
        // nothing keeps the history: its entries go, and the payloads only they held with them
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            store.recover(new Recorded());
            awaitWrites(store);
        }
        assertEquals(0, countKeys(dir, KeyLayout.HISTORY));
        assertEquals(0, countKeys(dir, KeyLayout.MESSAGE));
        assertEquals(List.of("s 1 h/q q 1 false [] 0 false"), recover(dir).queued, "the queue entry keeps its copy");
    }

    /**
     * Format 2 history entries referred to a payload record; a start rewrites them with the message inline, removes
     * the payloads only they referred to, keeps the ones a queue entry still needs, and marks the store format 3.
     */
    @Test
    void formatTwoHistoryEntriesAreRewrittenWithTheirMessageInline(@TempDir Path dir) throws Exception {
        RocksMessageStore.open(dir, false).close();
        Message onlyHistory = Message.builder("h/a").payload(bytes("a")).qos(1).build();
        Message queuedToo = Message.builder("h/b").payload(bytes("b")).qos(1).build();
        try (Options o = new Options(); RocksDB db = RocksDB.open(o, dir.resolve("db").toString())) {
            db.put(KeyLayout.VERSION_KEY, java.nio.ByteBuffer.allocate(4).putInt(2).array());
            db.put(KeyLayout.message(5), Records.message(onlyHistory));
            db.put(KeyLayout.message(6), Records.message(queuedToo));
            db.put(KeyLayout.history("h/a", 70), java.nio.ByteBuffer.allocate(16).putLong(1234).putLong(5).array());
            db.put(KeyLayout.history("h/b", 71), java.nio.ByteBuffer.allocate(16).putLong(1235).putLong(6).array());
            db.put(KeyLayout.history("h/c", 72), java.nio.ByteBuffer.allocate(16).putLong(1236).putLong(9).array());
            db.put(KeyLayout.session("s"), Records.session(60, 0));
            db.put(KeyLayout.queued("s", 1), Records.entry(6, 1, false, false, 0, new int[0], null));
        }
        List<String> entries = new ArrayList<>();
        Map<String, Long> trimmed = new java.util.HashMap<>();
        Recorded r = new Recorded() {
            @Override
            public MessageStore.HistoryRecovery history() {
                return new MessageStore.HistoryRecovery() {
                    @Override
                    public void entry(String topic, long position, long appendedAtMillis, Message message) {
                        entries.add(topic + " " + position + " " + appendedAtMillis + " "
                                + new String(message.payload(), StandardCharsets.UTF_8) + " q" + message.qos());
                    }

                    @Override
                    public void trimmed(String topic, long throughPosition) {
                        trimmed.put(topic, throughPosition);
                    }

                    @Override
                    public void forgotten(long throughPosition) {
                    }
                };
            }
        };
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            store.recover(r);
        }
        assertEquals(List.of("h/a 70 1234 a q1", "h/b 71 1235 b q1"), entries);
        assertEquals(Map.of("h/c", 72L), trimmed, "an entry whose payload was lost is a gap, as in format 2");
        assertEquals(List.of("s 1 h/b b 1 false [] 0 false"), r.queued);
        try (Options o = new Options(); RocksDB db = RocksDB.openReadOnly(o, dir.resolve("db").toString())) {
            assertEquals(KeyLayout.FORMAT_VERSION, java.nio.ByteBuffer.wrap(db.get(KeyLayout.VERSION_KEY)).getInt());
            assertEquals(5, KeyLayout.FORMAT_VERSION);
            assertNull(db.get(KeyLayout.message(5)), "referred to by the history only: gone");
            assertNotNull(db.get(KeyLayout.message(6)), "the queue entry still refers to it");
            assertNull(db.get(KeyLayout.history("h/c", 72)));
            byte[] a = db.get(KeyLayout.history("h/a", 70));
            assertTrue(a.length > Records.HISTORY_REFERENCE_LENGTH);
            assertEquals("a", new String(Records.historyMessage(a).payload(), StandardCharsets.UTF_8));
        }
        // and the rewritten store reads back the same
        entries.clear();
        trimmed.clear();
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            store.recover(r);
        }
        assertEquals(List.of("h/a 70 1234 a q1", "h/b 71 1235 b q1"), entries);
    }

    @Test
    void aSecondProcessOnTheSameDirectoryIsRefusedWithAClearMessage(@TempDir Path dir) {
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            StoreException e = assertThrows(StoreException.class, () -> RocksMessageStore.open(dir, false));
            assertTrue(e.getMessage().contains("in use by another Sluice process") && e.getMessage().contains("--data-dir"),
                    e.getMessage());
        }
        RocksMessageStore.open(dir, false).close(); // released on close
    }

    @Test
    void aNewerFormatStopsStartUpWithAMessage(@TempDir Path dir) throws Exception {
        RocksMessageStore.open(dir, false).close();
        try (Options o = new Options(); RocksDB db = RocksDB.open(o, dir.resolve("db").toString())) {
            db.put(KeyLayout.VERSION_KEY, ByteBuffer.allocate(4).putInt(KeyLayout.FORMAT_VERSION + 1).array());
        }
        StoreException e = assertThrows(StoreException.class, () -> RocksMessageStore.open(dir, false));
        assertTrue(e.getMessage().contains("format version " + (KeyLayout.FORMAT_VERSION + 1)), e.getMessage());
        // the refusal released the directory: a second try meets the same format, not a lock
        StoreException again = assertThrows(StoreException.class, () -> RocksMessageStore.open(dir, false));
        assertTrue(again.getMessage().contains("format version"), again.getMessage());
    }

    @Test
    void anUnwritableDirectoryIsRefusedWithAClearMessage(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("not-a-directory");
        java.nio.file.Files.writeString(file, "x");
        StoreException e = assertThrows(StoreException.class, () -> RocksMessageStore.open(file.resolve("data"), false));
        assertTrue(e.getMessage().contains("--data-dir"), e.getMessage());
    }

    // ---- helpers

    static void awaitWrites(MessageStore store) throws Exception {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        store.afterWrites(done::complete);
        assertTrue(done.get(10, TimeUnit.SECONDS), "store write failed");
    }

    static Recorded recover(Path dir) {
        Recorded r = new Recorded();
        try (RocksMessageStore store = RocksMessageStore.open(dir, false)) {
            store.recover(r);
        }
        return r;
    }

    /** Bytes of every key and value in the store. */
    static long totalBytes(Path dir) throws Exception {
        long bytes = 0;
        try (Options o = new Options(); RocksDB db = RocksDB.openReadOnly(o, dir.resolve("db").toString());
             RocksIterator it = db.newIterator()) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                bytes += it.key().length + it.value().length;
            }
        }
        return bytes;
    }

    static long countKeys(Path dir, byte kind) throws Exception {
        try (Options o = new Options(); RocksDB db = RocksDB.openReadOnly(o, dir.resolve("db").toString());
             RocksIterator it = db.newIterator()) {
            return count(it, kind);
        }
    }

    private static long countKeysOpen(RocksMessageStore store, byte kind) throws Exception {
        try (Options o = new Options(); RocksDB db = RocksDB.openReadOnly(o, store.directory().resolve("db").toString());
             RocksIterator it = db.newIterator()) {
            return count(it, kind);
        }
    }

    private static long count(RocksIterator it, byte kind) {
        long n = 0;
        for (it.seek(new byte[] {kind}); it.isValid() && it.key()[0] == kind; it.next()) {
            n++;
        }
        return n;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static class Recorded implements MessageStore.Recovery {
        final List<String> sessions = new ArrayList<>();
        final List<String> subscriptions = new ArrayList<>();
        final List<String> queued = new ArrayList<>();
        final List<Message> messages = new ArrayList<>();
        final List<String> inbound = new ArrayList<>();
        final List<String> wills = new ArrayList<>();
        final List<String> retained = new ArrayList<>();

        @Override
        public boolean retained(Message m) {
            retained.add(m.topic() + " " + new String(m.payload(), StandardCharsets.UTF_8));
            return true;
        }

        @Override
        public void session(String id, long expiry, long disconnectedAt, boolean onlineAtStop) {
            sessions.add("session " + id + " " + expiry + " " + disconnectedAt);
        }

        @Override
        public void subscription(String id, String filter, String group, SubscriptionOptions o) {
            subscriptions.add(id + " " + filter + " " + group + " " + o.qos() + " " + o.noLocal() + " "
                    + o.retainAsPublished() + " " + o.retainHandling() + " " + o.subscriptionId());
        }

        @Override
        public void queued(String id, long seq, Message m, int qos, boolean retainFlag, int[] ids, int packetId,
                           boolean released, String groupKey) {
            messages.add(m);
            queued.add(id + " " + seq + " " + m.topic() + " " + new String(m.payload(), StandardCharsets.UTF_8) + " "
                    + qos + " " + retainFlag + " " + java.util.Arrays.toString(ids).replace(" ", "") + " " + packetId
                    + " " + released);
        }

        @Override
        public void inboundQos2(String id, int packetId) {
            inbound.add(id + " " + packetId);
        }

        @Override
        public void will(String id, Message m, long at) {
            wills.add(id + " " + m.topic() + " " + new String(m.payload(), StandardCharsets.UTF_8) + " " + at);
        }
    }
}
