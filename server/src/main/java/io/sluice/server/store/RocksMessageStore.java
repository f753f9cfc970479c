package io.sluice.server.store;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.collection.LongObjectHashMap;
import io.sluice.server.broker.Delivery;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageStore;
import io.sluice.server.broker.SubscriptionOptions;
import io.sluice.server.events.Logs;
import org.rocksdb.CompressionType;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link MessageStore} on RocksDB, in the data directory's {@code db/}: the key layout of {@link KeyLayout}, the
 * values of {@link Records}, one {@link GroupCommitWriter} thread. A message's first queue entry carries it
 * inline; other references share one payload record, counted: the record goes when its last queue entry or
 * retained entry does, and a start-up deletes records that lost every reference in a crash.
 */
public final class RocksMessageStore implements MessageStore {
    private static final Logger log = Logs.get(RocksMessageStore.class);
    /** How often a long recovery says how far it is. */
    private static final long PROGRESS_MILLIS = 3000;

    private final DataDirectory dir;
    private final Options options;
    private final RocksDB db;
    private final StoreMetrics metrics = new StoreMetrics();
    private final GroupCommitWriter writer;
    private final AtomicLong nextMessageId = new AtomicLong();
    private final boolean fsync;
    private final HistoryOrigin historyOrigin;

    private RocksMessageStore(DataDirectory dir, Options options, RocksDB db, boolean fsync, long lingerMicros,
                              HistoryOrigin origin) {
        this.dir = dir;
        this.options = options;
        this.db = db;
        this.fsync = fsync;
        this.historyOrigin = origin;
        this.writer = new GroupCommitWriter(db, fsync, lingerMicros * 1000, metrics, dir.path().toString());
    }

    /**
     * Open (creating it on first start) the store in {@code dataDir}; {@code fsync} makes every group commit
     * fsync its write-ahead log. Throws a {@link StoreException} whose message says what to do when the
     * directory is taken, not writable, or written by a newer format.
     */
    public static RocksMessageStore open(Path dataDir, boolean fsync) {
        return open(dataDir, fsync, 0);
    }

    /**
     * As {@link #open(Path, boolean)}; a busy writer lets operations gather for {@code lingerMicros} before each
     * batch ({@code --store-linger}, see {@link GroupCommitWriter}).
     */
    public static RocksMessageStore open(Path dataDir, boolean fsync, long lingerMicros) {
        RocksDB.loadLibrary();
        DataDirectory dir = DataDirectory.open(dataDir);
        Options options = new Options().setCreateIfMissing(true)
                .setCompressionType(CompressionType.LZ4_COMPRESSION)
                // what a flush writes is mostly short-lived (entries and payloads deleted soon after, their
                // tombstones): not worth compressing in the first levels, which compactions rewrite anyway
                .setCompressionPerLevel(List.of(CompressionType.NO_COMPRESSION, CompressionType.NO_COMPRESSION,
                        CompressionType.LZ4_COMPRESSION, CompressionType.LZ4_COMPRESSION,
                        CompressionType.LZ4_COMPRESSION, CompressionType.LZ4_COMPRESSION,
                        CompressionType.LZ4_COMPRESSION))
                // 8 MiB memtables, not 64: an insert into a smaller skip list costs the writer thread less (fewer
                // levels, more of it in cache), the writer's largest cost; most entries are deleted within the
                // memtable's life either way
                .setWriteBufferSize(8L << 20)
                // two memtables merged before a flush: a put and its delete meeting there are both dropped
                .setMinWriteBufferNumberToMerge(2)
                .setMaxWriteBufferNumber(4)
                .setMaxBackgroundJobs(2)
                .setKeepLogFileNum(3)
                .setInfoLogLevel(org.rocksdb.InfoLogLevel.WARN_LEVEL);
        RocksDB db;
        try {
            db = RocksDB.open(options, dir.database().toString());
        } catch (RocksDBException e) {
            options.close();
            dir.close();
            throw new StoreException("cannot open the message store in " + dir.database() + " ("
                    + GroupCommitWriter.reason(e) + "); make the data directory writable, free disk space, or start "
                    + "with another --data-dir (--persistence none keeps nothing on disk)", e);
        }
        HistoryOrigin origin;
        try {
            checkFormat(db, dir.database());
            origin = startHistory(db, dir.database());
        } catch (RuntimeException e) {
            db.close();
            options.close();
            dir.close();
            throw e;
        }
        return new RocksMessageStore(dir, options, db, fsync, lingerMicros, origin);
    }

    /** Bits of a history position counted within one start: a start's positions begin at its generation above them. */
    static final int POSITIONS_PER_START_BITS = 40;

    /**
     * This start's history origin: the store's epoch (made on first start) and the next generation, written and
     * synced before any position is given out. Positions of start {@code g} begin at {@code g << 40}, so a position
     * an earlier start gave out but never wrote (the last instant before a kill -9) is never given again.
     */
    private static HistoryOrigin startHistory(RocksDB db, Path where) {
        try (WriteOptions sync = new WriteOptions().setSync(true); WriteBatch batch = new WriteBatch()) {
            byte[] e = db.get(KeyLayout.HISTORY_EPOCH_KEY);
            long epoch = e == null ? System.currentTimeMillis() : ByteBuffer.wrap(e).getLong();
            byte[] g = db.get(KeyLayout.HISTORY_GENERATION_KEY);
            long generation = (g == null ? 0 : ByteBuffer.wrap(g).getLong()) + 1;
            boolean read = db.get(KeyLayout.HISTORY_READ_KEY) != null;
            if (e == null) {
                batch.put(KeyLayout.HISTORY_EPOCH_KEY, ByteBuffer.allocate(8).putLong(epoch).array());
            }
            batch.put(KeyLayout.HISTORY_GENERATION_KEY, ByteBuffer.allocate(8).putLong(generation).array());
            db.write(sync, batch);
            return new HistoryOrigin(epoch, generation << POSITIONS_PER_START_BITS, read);
        } catch (RocksDBException e) {
            throw new StoreException("cannot write the message store in " + where + " (" + GroupCommitWriter.reason(e)
                    + "); make the data directory writable or free disk space", e);
        }
    }

    private static void checkFormat(RocksDB db, Path where) {
        try {
            byte[] v = db.get(KeyLayout.VERSION_KEY);
            if (v == null) {
                db.put(KeyLayout.VERSION_KEY, ByteBuffer.allocate(4).putInt(KeyLayout.FORMAT_VERSION).array());
                return;
            }
            int version = ByteBuffer.wrap(v).getInt();
            if (version > KeyLayout.FORMAT_VERSION) {
                throw new StoreException("the message store in " + where + " has format version " + version
                        + ", newer than this Sluice reads (" + KeyLayout.FORMAT_VERSION + "); run the newer Sluice "
                        + "that wrote it, or start with another --data-dir");
            }
            if (version < KeyLayout.FORMAT_VERSION) {
                // every older layout is a subset of this one; from now on an older Sluice must refuse it. Up to 4 the
                // history was written from the first start on, and readers may hold its positions: it stays written
                try (WriteBatch upgrade = new WriteBatch(); WriteOptions sync = new WriteOptions().setSync(true)) {
                    upgrade.put(KeyLayout.HISTORY_READ_KEY, new byte[0]);
                    upgrade.put(KeyLayout.VERSION_KEY, ByteBuffer.allocate(4).putInt(KeyLayout.FORMAT_VERSION).array());
                    db.write(sync, upgrade);
                }
            }
        } catch (RocksDBException e) {
            throw new StoreException("cannot read the message store in " + where + " (" + GroupCommitWriter.reason(e)
                    + ")", e);
        }
    }

    /** Register the store's meters (size, batch size, write latency, recovery time). */
    public void bindMetrics(MeterRegistry registry) {
        metrics.bind(registry, this);
    }

    public Path directory() {
        return dir.path();
    }

    @Override
    public boolean isDurable() {
        return true;
    }

    // ---- sessions

    @Override
    public void putSession(String sessionId, long expiryIntervalSeconds, long disconnectedAtMillis) {
        byte[] key = KeyLayout.session(sessionId);
        byte[] value = Records.session(expiryIntervalSeconds, disconnectedAtMillis);
        writer.submit(b -> b.put(key, value));
    }

    @Override
    public void deleteSession(String sessionId) {
        writer.submit(b -> {
            b.delete(KeyLayout.session(sessionId));
            b.delete(KeyLayout.will(sessionId));
            for (byte kind : new byte[] {KeyLayout.SUBSCRIPTION, KeyLayout.QUEUED, KeyLayout.INBOUND_QOS2}) {
                b.deleteRange(KeyLayout.start(kind, sessionId), KeyLayout.end(kind, sessionId));
            }
        });
    }

    @Override
    public void putSubscription(String sessionId, String filter, String shareGroup, SubscriptionOptions options) {
        String key = shareGroup == null ? filter : "$share/" + shareGroup + "/" + filter;
        writer.submit(b -> b.put(KeyLayout.subscription(sessionId, key), Records.subscription(filter, shareGroup, options)));
    }

    @Override
    public void deleteSubscription(String sessionId, String key) {
        writer.submit(b -> b.delete(KeyLayout.subscription(sessionId, key)));
    }

    /**
     * The message's first queue entry carries the message inline (one put, and one delete, instead of a payload
     * record and an entry and their two deletes); from its second, while the first holds it, a payload record is
     * written once and the others refer to it, so a fan-out writes the payload at most twice however wide it is.
     */
    @Override
    public void putQueued(String sessionId, long seq, Delivery d) {
        Message m = d.message();
        long id;
        boolean inline;
        synchronized (m) {
            inline = m.storeId() == 0 && !hasInlineEntry(m);
            if (inline) {
                inlineEntry(m, true);
                id = 0;
            } else {
                id = reference(m, false);
            }
        }
        EntryPut put = new EntryPut(sessionId, seq, id, inline ? m : null, d);
        d.storeHandle(put);
        writer.submit(put);
    }

    @Override
    public void putInflight(String sessionId, long seq, Delivery d) {
        Message m = d.message();
        long id;
        boolean inline;
        if (d.storeHandle() instanceof EntryPut pending) {
            pending.packetId = d.packetId();
            pending.released = d.released();
            if (pending.stillPending()) {
                return; // one write of the entry, in its latest state
            }
            id = pending.messageId;
            inline = pending.inline != null;
        } else {
            // recovered: a message has one inline entry at most, and it is the one without a handle
            synchronized (m) {
                id = m.storeId();
                inline = hasInlineEntry(m);
            }
            if (id == 0 && !inline) {
                return;
            }
        }
        // the entry was written: its new state is a put of its own, which the delivery's end may still cancel
        // (the delete is then written instead: the entry is on disk)
        EntryPut put = new EntryPut(sessionId, seq, inline ? 0 : id, inline ? m : null, d);
        put.packetId = d.packetId();
        put.released = d.released();
        put.replacesWritten = true;
        d.storeHandle(put);
        writer.submit(put);
    }

    @Override
    public void deleteQueued(String sessionId, long seq, Delivery d) {
        Object handle = d.storeHandle();
        d.storeHandle(null);
        if (!(handle instanceof EntryPut pending && pending.cancel() && !pending.replacesWritten)) {
            writer.submit(b -> {
                KeyLayout.queued(b.key(), sessionId, seq);
                b.delete();
            });
        }
        Message m = d.message();
        synchronized (m) {
            boolean inline = handle instanceof EntryPut e ? e.inline != null : hasInlineEntry(m);
            if (inline) {
                inlineEntry(m, false);
            } else {
                release(m);
            }
        }
    }

    /** A queue entry, built by the writer when it claims it; the in-flight state may change until then. */
    private static final class EntryPut extends GroupCommitWriter.Elidable {
        private final String sessionId;
        private final long seq;
        /** The payload record the entry refers to; 0 when it carries the message itself. */
        private final long messageId;
        /** The message, written in the entry; null when it refers to a payload record. */
        private final Message inline;
        private final int qos;
        private final boolean retainFlag;
        private final int[] subscriptionIds;
        private final String groupKey;
        volatile int packetId;
        volatile boolean released;
        /** An update of an entry already written: cancelling it does not spare the delete. */
        boolean replacesWritten;

        EntryPut(String sessionId, long seq, long messageId, Message inline, Delivery d) {
            this.sessionId = sessionId;
            this.seq = seq;
            this.messageId = messageId;
            this.inline = inline;
            this.qos = d.qos();
            this.retainFlag = d.retainFlag();
            this.subscriptionIds = d.subscriptionIds();
            this.groupKey = d.groupKey();
        }

        @Override
        void write(GroupCommitWriter.Batch b) throws RocksDBException {
            KeyLayout.queued(b.key(), sessionId, seq);
            Records.writeEntry(b.value(), messageId, qos, retainFlag, released, packetId, subscriptionIds, groupKey,
                    inline);
            b.put();
        }
    }

    /**
     * A payload record, encoded by the writer when it claims it; while it waits, the message's {@code storeHandle}
     * (with what it says about the message's store presence, under the message's monitor).
     */
    private static final class PayloadPut extends GroupCommitWriter.Elidable {
        private final long id;
        private final Message message;
        /** A retained entry refers to it: written whatever happens to the queue entries. */
        boolean pinned;
        /** A queue entry also carries the message inline. */
        boolean inlineEntry;

        PayloadPut(long id, Message message) {
            this.id = id;
            this.message = message;
        }

        @Override
        void write(GroupCommitWriter.Batch b) throws RocksDBException {
            KeyLayout.message(b.key(), id);
            Records.writeMessage(b.value(), message);
            b.put();
        }
    }

    @Override
    public void putInboundQos2(String sessionId, int packetId) {
        writer.submit(b -> b.put(KeyLayout.inboundQos2(sessionId, packetId), new byte[0]));
    }

    @Override
    public void deleteInboundQos2(String sessionId, int packetId) {
        writer.submit(b -> b.delete(KeyLayout.inboundQos2(sessionId, packetId)));
    }

    @Override
    public void putWill(String sessionId, Message will, long publishAtMillis) {
        writer.submit(b -> b.put(KeyLayout.will(sessionId), Records.will(will, publishAtMillis)));
    }

    @Override
    public void deleteWill(String sessionId) {
        writer.submit(b -> b.delete(KeyLayout.will(sessionId)));
    }

    // ---- retained

    @Override
    public void putRetained(Message message, Message previous) {
        long id;
        synchronized (message) {
            id = reference(message, true);
        }
        byte[] value = ByteBuffer.allocate(8).putLong(id).array();
        writer.submit(b -> b.put(KeyLayout.retained(message.topic()), value));
        if (previous != null) {
            synchronized (previous) {
                release(previous);
            }
        }
    }

    @Override
    public void deleteRetained(String topic, Message previous) {
        writer.submit(b -> b.delete(KeyLayout.retained(topic)));
        if (previous != null) {
            synchronized (previous) {
                release(previous);
            }
        }
    }

    // ---- history

    @Override
    public HistoryOrigin historyOrigin() {
        return historyOrigin;
    }

    @Override
    public void historyRead() {
        writer.submit(b -> b.put(KeyLayout.HISTORY_READ_KEY, new byte[0]));
    }

    @Override
    public void appendHistory(String topic, long position, long appendedAtMillis, Message message) {
        // the message inline, encoded by the writer: one put, and its trim needs no payload delete
        writer.submit(b -> {
            KeyLayout.history(b.key(), topic, position);
            Records.writeHistoryEntry(b.value(), appendedAtMillis, message);
            b.put();
        });
    }

    @Override
    public void historyInMemory(String topic) {
        byte[] key = KeyLayout.historyInMemory(topic);
        writer.submit(b -> b.put(key, new byte[0]));
    }

    @Override
    public void trimHistory(String topic, long fromPosition, long throughPosition) {
        writer.submit(b -> {
            // from where the last trim ended: range tombstones that do not overlap cost compactions little
            b.deleteRange(KeyLayout.history(topic, fromPosition), KeyLayout.history(topic, throughPosition + 1));
            b.put(KeyLayout.historyTrimmed(topic), ByteBuffer.allocate(8).putLong(throughPosition).array());
        });
    }

    @Override
    public void forgetHistory(String topic, long throughPosition, long forgottenUpTo) {
        writer.submit(b -> {
            b.deleteRange(KeyLayout.history(topic, 0), KeyLayout.history(topic, throughPosition + 1));
            b.delete(KeyLayout.historyTrimmed(topic));
            b.delete(KeyLayout.historyInMemory(topic));
            b.put(KeyLayout.HISTORY_FORGOTTEN_KEY, ByteBuffer.allocate(8).putLong(forgottenUpTo).array());
        });
    }

    // ---- payloads once: reference counting on the message

    /** The message's {@code storeHandle} while a queue entry carries it inline and no payload record is pending. */
    private static final Object INLINE = new Object() {
        @Override
        public String toString() {
            return "inline";
        }
    };

    /** Under the message's monitor: a queue entry carries the message inline (one at most). */
    private static boolean hasInlineEntry(Message m) {
        Object h = m.storeHandle();
        return h == INLINE || h instanceof PayloadPut p && p.inlineEntry;
    }

    private static void inlineEntry(Message m, boolean present) {
        Object h = m.storeHandle();
        if (h instanceof PayloadPut p) {
            p.inlineEntry = present;
        } else {
            m.storeHandle(present ? INLINE : null);
        }
    }

    /**
     * Under the message's monitor: one more reference to the message's payload record, written with the first one.
     * A payload referred to only by queue entries may be cancelled with them (they are all submitted after it, so
     * none of them is written without it); a retained entry ({@code pin}) is written whatever happens to it, so from
     * its first such reference the payload is written too.
     */
    private long reference(Message m, boolean pin) {
        if (m.storeId() == 0) {
            long id = nextMessageId.incrementAndGet();
            PayloadPut put = new PayloadPut(id, m);
            put.inlineEntry = hasInlineEntry(m);
            m.storeId(id);
            m.storeHandle(put);
            writer.submit(put);
        }
        if (pin && m.storeHandle() instanceof PayloadPut p) {
            p.pinned = true;
        }
        m.storeRefs(m.storeRefs() + 1);
        return m.storeId();
    }

    /** Under the message's monitor: a reference to the payload record went; the record goes with the last one. */
    private void release(Message m) {
        int refs = m.storeRefs();
        if (refs == 0) {
            return;
        }
        m.storeRefs(refs - 1);
        if (refs == 1) {
            long id = m.storeId();
            Object handle = m.storeHandle();
            boolean inline = hasInlineEntry(m);
            m.storeId(0);
            m.storeHandle(inline ? INLINE : null);
            if (!(handle instanceof PayloadPut pending && !pending.pinned && pending.cancel())) {
                writer.submit(b -> {
                    KeyLayout.message(b.key(), id);
                    b.delete();
                });
            }
        }
    }

    // ---- durability

    @Override
    public void afterWrites(WriteCallback callback) {
        writer.afterWrites(callback);
    }

    @Override
    public boolean isWritable() {
        return writer.isWritable();
    }

    /**
     * Run {@code r} on the writer thread as an operation of the group commit, in order with every other: a test holds
     * the writer there to see what waits for the next commit and what does not.
     */
    void onWriterThread(Runnable r) {
        writer.submit(b -> r.run());
    }

    /** Puts cancelled before they were written (each with the delete it spared), since the store opened. */
    long elidedWrites() {
        return metrics.elidedTotal();
    }

    long pendingOperations() {
        return writer.pending();
    }

    long sizeOnDisk() {
        try {
            return db.getLongProperty("rocksdb.total-sst-files-size") + db.getLongProperty("rocksdb.cur-size-all-mem-tables");
        } catch (RocksDBException e) {
            return -1;
        }
    }

    // ---- recovery

    @Override
    public void recover(Recovery into) {
        long start = System.currentTimeMillis();
        long lastProgress = start;
        LongObjectHashMap<Message> messages = new LongObjectHashMap<>();
        long clock = start;
        long maxId = 0;
        long entries = 0;
        long retained = 0;
        long dropped = 0;
        long historyEntries = 0;
        long migratedHistory = 0;
        HistoryRecovery history = into.history();
        String lastSession = null;
        boolean lastSessionKnown = false;
        java.util.Set<String> sessions = new java.util.HashSet<>();
        java.util.Map<String, Long> historyGaps = new java.util.HashMap<>();
        // one pass front to back: read ahead, and leave the block cache to the running broker
        try (WriteBatch cleanup = new WriteBatch();
             ReadOptions scan = new ReadOptions().setFillCache(false).setReadaheadSize(4 << 20);
             RocksIterator it = db.newIterator(scan)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                byte[] key = it.key();
                byte[] value = it.value();
                switch (key[0]) {
                    case KeyLayout.META -> {
                        if (key.length == 2 && key[1] == 'c') {
                            clock = ByteBuffer.wrap(value).getLong();
                        } else if (Arrays.equals(key, KeyLayout.HISTORY_FORGOTTEN_KEY) && history != null) {
                            history.forgotten(ByteBuffer.wrap(value).getLong());
                        }
                    }
                    case KeyLayout.MESSAGE -> {
                        long id = KeyLayout.longAt(key, 1);
                        messages.put(id, Records.message(value));
                        maxId = Math.max(maxId, id);
                    }
                    case KeyLayout.SESSION -> {
                        String sid = KeyLayout.idAt(key);
                        ByteBuffer v = ByteBuffer.wrap(value);
                        long expiry = v.getLong();
                        long disconnectedAt = v.getLong();
                        // online when the broker stopped: offline since the last clock it wrote
                        into.session(sid, expiry, disconnectedAt == 0 ? clock : disconnectedAt, disconnectedAt == 0);
                        sessions.add(sid);
                    }
                    case KeyLayout.SUBSCRIPTION -> {
                        String sid = KeyLayout.idAt(key);
                        if (!sessions.contains(sid)) {
                            cleanup.delete(key);
                            continue;
                        }
                        Records.StoredSubscription s = Records.subscription(value);
                        into.subscription(sid, s.filter(), s.shareGroup(), s.options());
                    }
                    case KeyLayout.QUEUED -> {
                        String sid = KeyLayout.idAt(key);
                        long seq = KeyLayout.longAt(key, KeyLayout.afterId(key));
                        Records.StoredEntry e = Records.entry(value);
                        Message m = e.message() != null ? e.message() : messages.get(e.messageId());
                        if (m == null || !sessions.contains(sid)) {
                            cleanup.delete(key);
                            dropped++;
                            continue;
                        }
                        if (e.message() != null) {
                            m.storeHandle(INLINE); // its own copy: the entry's, no record refers to it
                        } else {
                            m.storeId(e.messageId());
                            m.storeRefs(m.storeRefs() + 1);
                        }
                        into.queued(sid, seq, m, e.qos(), e.retainFlag(), e.subscriptionIds(), e.packetId(),
                                e.released(), e.groupKey());
                        entries++;
                    }
                    case KeyLayout.INBOUND_QOS2 -> {
                        String sid = KeyLayout.idAt(key);
                        if (sessions.contains(sid)) {
                            into.inboundQos2(sid, KeyLayout.shortAt(key, KeyLayout.afterId(key)));
                        } else {
                            cleanup.delete(key);
                        }
                    }
                    case KeyLayout.WILL -> {
                        Records.StoredWill w = Records.will(value);
                        into.will(KeyLayout.idAt(key), w.message(), w.publishAtMillis());
                    }
                    case KeyLayout.RETAINED -> {
                        long id = ByteBuffer.wrap(value).getLong();
                        Message m = messages.get(id);
                        if (m == null || !into.retained(m)) {
                            // a payload left alone here goes with the unreferenced ones below
                            cleanup.delete(key);
                            continue;
                        }
                        m.storeId(id);
                        m.storeRefs(m.storeRefs() + 1);
                        retained++;
                    }
                    case KeyLayout.HISTORY -> {
                        if (history == null) {
                            cleanup.delete(key);
                            continue;
                        }
                        String topic = KeyLayout.idAt(key);
                        long position = KeyLayout.longAt(key, key.length - 8);
                        long appendedAt = ByteBuffer.wrap(value).getLong();
                        Message m;
                        if (value.length == Records.HISTORY_REFERENCE_LENGTH) {
                            // format 2 referred to a payload record: the entry takes a copy of it, and the payload,
                            // if nothing else refers to it, goes with the unreferenced ones below
                            m = messages.get(ByteBuffer.wrap(value).getLong(8));
                            if (m == null) {
                                // its payload went in a crash before the entry's own trim was written: a gap
                                history.trimmed(topic, position);
                                historyGaps.merge(topic, position, Math::max);
                                cleanup.delete(key);
                                continue;
                            }
                            cleanup.put(key, Records.historyEntry(appendedAt, m));
                            migratedHistory++;
                        } else {
                            m = Records.historyMessage(value);
                        }
                        history.entry(topic, position, appendedAt, m);
                        historyEntries++;
                    }
                    case KeyLayout.HISTORY_TRIMMED -> {
                        if (history != null) {
                            history.trimmed(KeyLayout.idAt(key), ByteBuffer.wrap(value).getLong());
                            historyGaps.computeIfPresent(KeyLayout.idAt(key),
                                    (t, p) -> Math.max(p, ByteBuffer.wrap(value).getLong()));
                        }
                    }
                    case KeyLayout.HISTORY_IN_MEMORY -> {
                        // what an earlier run held of the topic in memory only is gone: all of it before this start
                        // is a gap, from now on recorded as a trim mark
                        long before = historyOrigin.firstPosition() - 1;
                        String topic = KeyLayout.idAt(key);
                        if (history != null) {
                            history.trimmed(topic, before);
                            cleanup.put(KeyLayout.historyTrimmed(topic), ByteBuffer.allocate(8).putLong(before).array());
                        }
                        cleanup.delete(key);
                    }
                    default -> {
                        // kinds a later minor version may add
                    }
                }
                long now = System.currentTimeMillis();
                if (now - lastProgress >= PROGRESS_MILLIS) {
                    lastProgress = now;
                    log.info("recovering the message store: {} payloads, {} queued deliveries, {} retained so far "
                            + "({} per second)", messages.size(), entries, retained,
                            (messages.size() + entries + retained) * 1000 / Math.max(1, now - start));
                }
            }
            long orphans = 0;
            for (LongObjectHashMap.PrimitiveEntry<Message> e : messages.entries()) {
                if (e.value().storeRefs() == 0) {
                    cleanup.delete(KeyLayout.message(e.key()));
                    orphans++;
                }
            }
            historyGaps.forEach((topic, position) -> {
                try {
                    cleanup.put(KeyLayout.historyTrimmed(topic), ByteBuffer.allocate(8).putLong(position).array());
                } catch (RocksDBException e) {
                    throw new StoreException("cannot record a history gap: " + GroupCommitWriter.reason(e), e);
                }
            });
            nextMessageId.set(maxId);
            if (cleanup.count() > 0) {
                try (WriteOptions wo = new WriteOptions().setSync(fsync)) {
                    db.write(wo, cleanup);
                }
            }
            if (migratedHistory > 0) {
                log.info("message store in {}: {} history entries rewritten with their message inline (format {})",
                        dir.path(), migratedHistory, KeyLayout.FORMAT_VERSION);
            }
            long millis = System.currentTimeMillis() - start;
            metrics.recovered(millis, entries + retained);
            log.info("message store in {} recovered in {} ms: {} sessions, {} queued deliveries, {} retained messages, "
                    + "{} history entries, {} payloads{}", dir.path(), millis, sessions.size(), entries, retained,
                    historyEntries, messages.size() - orphans,
                    orphans + dropped == 0 ? "" : " (" + (orphans + dropped) + " unreferenced records removed)");
        } catch (RocksDBException e) {
            throw new StoreException("cannot read the message store in " + dir.database() + " ("
                    + GroupCommitWriter.reason(e) + ")", e);
        }
    }

    @Override
    public void close() {
        writer.close();
        try (org.rocksdb.FlushOptions flush = new org.rocksdb.FlushOptions().setWaitForFlush(true)) {
            // memtables to SST files: the next start opens without replaying the write-ahead log
            db.flush(flush);
            db.flushWal(true);
        } catch (RocksDBException e) {
            log.warn("message store: final flush failed ({}); the next start replays the write-ahead log",
                    GroupCommitWriter.reason(e));
        }
        db.close();
        options.close();
        dir.close();
    }

    @Override
    public String toString() {
        return "rocksdb(" + dir.path() + (fsync ? ", fsync batch" : "") + ")";
    }
}
