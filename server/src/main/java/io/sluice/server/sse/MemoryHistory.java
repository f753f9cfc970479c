package io.sluice.server.sse;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sluice.protocol.topic.TopicFilter;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageHistory;
import io.sluice.server.broker.MessageStore;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The message history in memory, per topic: the last {@code history-messages} messages of each topic a
 * {@code history-filters} filter matches, none older than {@code history-age}, for at most
 * {@code history-max-topics} topics (the least recently published topic's history goes first).
 *
 * <p>Appending locks only its topic's log; positions come from one atomic counter. Whatever leaves the history
 * is remembered by position only: a topic's log keeps the highest position it dropped, and the history keeps the
 * highest position of any topic log it forgot, so {@link #since} can tell a complete answer from a gap.
 *
 * <p>Without a durable store a new instance starts a new epoch (its start time): positions do not survive a
 * restart. With one, the QoS 1 and 2 messages are written through to it (appends, trims and forgotten topics, as
 * operations of its group commit: a publish's acknowledgement waits for its history entry too) and the store's
 * recovery hands them back, so positions keep their meaning across restarts and crashes. QoS 0 messages stay in
 * memory, as they do everywhere else in the broker (writing each one would cost every publish a disk write for a
 * message nobody was promised): a topic that held one in a run tells the store once, and after a restart its
 * history from before the restart is a gap (a reader resuming from there gets a reset, never a short answer). Reads are always served from memory: a
 * reader starting on an event loop never waits for the disk, and the memory held is the same bounded amount.
 *
 * <p>A history only a reader can ask for is kept only once some reader may ask: until the first reader is given a
 * position (in this run, or with a durable store in any earlier one), nobody holds one to resume from, and a message
 * only takes a position, in memory as in the store (a broker whose clients never use the HTTP fallback keeps no
 * history at all, and its publishes pay no history entry). From the first reader on ({@link #readerStarting}: before
 * it reads the head) every message is kept and every QoS 1/2 one written, in this run and, since the store remembers
 * it, in every later one. Every position given out before that is a gap: an id from then gets a reset, never a short
 * answer.
 */
public final class MemoryHistory implements MessageHistory {
    private final int perTopic;
    private final long maxAgeMillis;
    private final List<String> filters;
    private final LongSupplier clock;
    private final long epoch;
    private final AtomicLong head = new AtomicLong();
    /** Positions up to this one may belong to a topic log that was forgotten entirely. */
    private final AtomicLong forgottenUpTo = new AtomicLong();
    private final Cache<String, TopicLog> topics;
    private final MessageStore store;
    /**
     * Written entries a topic drops from memory before the store is told (one range delete for all of them, instead
     * of a delete per message): the store holds at most this many more of a topic than memory does, which the next
     * start drops again by the same bounds.
     */
    private final int storeTrimChunk;
    private final boolean durable;
    /**
     * Messages are kept (and, with a durable store, written through): a reader was given a position in this run or,
     * with a durable store, an earlier one. Read by an append after it takes a position, set before a reader reads
     * the head: every position above the head a reader is given belongs to a kept message.
     */
    private volatile boolean recording;
    /** Set once {@link #recording} is and the positions given out before it are marked as a gap. */
    private volatile boolean readerSeen;
    /** The head this instance started from: positions above it were given out by this instance. */
    private final long startHead;

    public MemoryHistory(int perTopic, long maxAgeMillis, int maxTopics, List<String> filters, MessageStore store) {
        this(perTopic, maxAgeMillis, maxTopics, filters, store, System::currentTimeMillis);
    }

    MemoryHistory(int perTopic, long maxAgeMillis, int maxTopics, List<String> filters, MessageStore store,
                  LongSupplier clock) {
        this.perTopic = perTopic;
        this.maxAgeMillis = maxAgeMillis;
        this.filters = List.copyOf(filters);
        this.clock = clock;
        this.store = store;
        this.storeTrimChunk = storeTrimChunk(perTopic);
        this.durable = store.isDurable();
        MessageStore.HistoryOrigin origin = durable ? store.historyOrigin() : null;
        this.epoch = origin == null ? clock.getAsLong() : origin.epoch();
        this.head.set(origin == null ? 0 : origin.firstPosition());
        this.recording = origin != null && origin.read();
        this.readerSeen = recording;
        this.startHead = head.get();
        this.topics = Caffeine.newBuilder()
                .maximumSize(maxTopics)
                .executor(Runnable::run)
                .<String, TopicLog>evictionListener((topic, log, cause) -> {
                    if (log != null) {
                        forget(topic, log);
                    }
                })
                .build();
    }

    private void forget(String topic, TopicLog log) {
        synchronized (log) {
            log.forgotten = true;
            long upTo = forgottenUpTo.accumulateAndGet(log.lastPosition, Math::max);
            // under the log's lock, so the store sees it after the log's last append; the eviction is atomic with
            // the removal, so a new log of the same topic appends after it. A history not yet written has nothing
            // in the store to forget.
            if (durable && recording) {
                store.forgetHistory(topic, log.lastPosition, upTo);
            }
        }
    }

    @Override
    public MessageStore.HistoryRecovery recovery() {
        if (!store.isDurable()) {
            return null;
        }
        return new MessageStore.HistoryRecovery() {
            @Override
            public void entry(String topic, long position, long appendedAtMillis, Message message) {
                TopicLog log = topics.get(topic, t -> new TopicLog());
                synchronized (log) {
                    log.entries.addLast(new Entry(position, appendedAtMillis, message, true));
                    log.lastPosition = Math.max(log.lastPosition, position);
                }
                head.accumulateAndGet(position, Math::max);
            }

            @Override
            public void trimmed(String topic, long throughPosition) {
                TopicLog log = topics.get(topic, t -> new TopicLog());
                synchronized (log) {
                    log.droppedUpTo = Math.max(log.droppedUpTo, throughPosition);
                    log.lastPosition = Math.max(log.lastPosition, throughPosition);
                }
            }

            @Override
            public void forgotten(long throughPosition) {
                forgottenUpTo.accumulateAndGet(throughPosition, Math::max);
            }
        };
    }

    @Override
    public void recovered() {
        // the bounds may have changed since, and the age went on counting while the broker was down
        long now = clock.getAsLong();
        for (var e : topics.asMap().entrySet()) {
            TopicLog log = e.getValue();
            synchronized (log) {
                log.trim(e.getKey(), perTopic, now - maxAgeMillis, store, 1);
            }
        }
    }

    @Override
    public long append(Message m) {
        if (!kept(m.topic())) {
            return 0;
        }
        if (!recording) {
            long position = head.incrementAndGet();
            // read after the position is taken: a first reader starting meanwhile reads a head at or above it, and
            // marks it a gap
            if (!recording) {
                return position;
            }
            // that reader may have read the head below it: keep the message, under a position taken as below
        }
        long now = clock.getAsLong();
        while (true) {
            TopicLog log = topics.get(m.topic(), t -> new TopicLog());
            synchronized (log) {
                if (log.forgotten) {
                    continue;
                }
                long position = head.incrementAndGet();
                // recording was seen before the position was taken: a durable store is written from here on
                boolean toStore = durable;
                boolean stored = toStore && written(m);
                log.entries.addLast(new Entry(position, now, m, stored));
                log.lastPosition = position;
                if (stored) {
                    store.appendHistory(m.topic(), position, now, m);
                } else if (toStore && !written(m) && !log.inMemoryToldStore) {
                    log.inMemoryToldStore = true;
                    store.historyInMemory(m.topic());
                }
                log.trim(m.topic(), perTopic, now - maxAgeMillis, store, storeTrimChunk);
                return position;
            }
        }
    }

    @Override
    public void readerStarting() {
        if (!readerSeen) {
            synchronized (this) {
                if (!readerSeen) {
                    if (durable) {
                        // told before the flag is set: the store records it ahead of every append that sees the flag
                        store.historyRead();
                    }
                    recording = true;
                    // every position an append took before it saw the flag is at or below the head now: not kept
                    long given = head.get();
                    if (given > startHead) {
                        forgottenUpTo.accumulateAndGet(given, Math::max);
                    }
                    readerSeen = true;
                }
            }
        }
    }

    @Override
    public boolean writesThrough() {
        return durable && recording;
    }

    /** A quarter of the per-topic bound, at least 1, at most 1,024. */
    static int storeTrimChunk(int perTopic) {
        return Math.max(1, Math.min(1024, perTopic / 4));
    }

    /** Whether the store keeps this history entry: only messages that were published to be kept (QoS 1, 2). */
    private static boolean written(Message m) {
        return m.qos() > 0;
    }

    private boolean kept(String topic) {
        for (String f : filters) {
            if (TopicFilter.matches(f, topic)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public long epoch() {
        return epoch;
    }

    @Override
    public long head() {
        return head.get();
    }

    @Override
    public List<Recorded> since(List<String> readerFilters, long position) {
        if (position < forgottenUpTo.get() || position > head.get()) {
            return null;
        }
        long oldest = clock.getAsLong() - maxAgeMillis;
        List<Recorded> out = new ArrayList<>();
        for (var e : topics.asMap().entrySet()) {
            if (!matchesAny(readerFilters, e.getKey())) {
                continue;
            }
            TopicLog log = e.getValue();
            synchronized (log) {
                log.trim(e.getKey(), perTopic, oldest, store, storeTrimChunk);
                if (log.droppedUpTo > position) {
                    return null;
                }
                for (Entry entry : log.entries) {
                    if (entry.position > position) {
                        out.add(new Recorded(entry.position, entry.message));
                    }
                }
            }
        }
        // a log forgotten while we read it may have held part of the answer
        if (position < forgottenUpTo.get()) {
            return null;
        }
        out.sort(Comparator.comparingLong(Recorded::position));
        return out;
    }

    private static boolean matchesAny(List<String> filters, String topic) {
        for (String f : filters) {
            if (TopicFilter.matches(f, topic)) {
                return true;
            }
        }
        return false;
    }

    /** Messages kept now, over every topic (for tests and metrics). */
    public long size() {
        long n = 0;
        for (TopicLog log : topics.asMap().values()) {
            synchronized (log) {
                n += log.entries.size();
            }
        }
        return n;
    }

    /** {@code stored}: written to the store (or read back from it). */
    private record Entry(long position, long appendedMillis, Message message, boolean stored) {
    }

    /** One topic's recent messages; guarded by itself. */
    private static final class TopicLog {
        final ArrayDeque<Entry> entries = new ArrayDeque<>(4);
        long droppedUpTo;
        long lastPosition;
        boolean forgotten;
        /** The store was told this run that the topic's history holds messages kept in memory only. */
        boolean inMemoryToldStore;

        /** Written entries dropped from memory since the store was last told of a trim. */
        int droppedUnstored;
        /**
         * The store holds nothing of the topic at or before this position: this run's last trim of it (0 before the
         * first, which then starts from the topic's first key: a start's gap marks leave entries below them).
         */
        long storeTrimmedUpTo;

        /**
         * Drop entries past {@code max} or appended before {@code oldestMillis} (or at or before a gap a restart left),
         * oldest first; once {@code chunk} written ones went since the store was last told, tell it (one operation
         * for all of them; none when only in-memory ones went).
         */
        void trim(String topic, int max, long oldestMillis, MessageStore store, int chunk) {
            Entry first;
            while ((first = entries.peekFirst()) != null
                    && (entries.size() > max || first.appendedMillis < oldestMillis || first.position <= droppedUpTo)) {
                entries.pollFirst();
                droppedUpTo = Math.max(droppedUpTo, first.position);
                if (first.stored) {
                    droppedUnstored++;
                }
            }
            if (droppedUnstored > 0 && droppedUnstored >= chunk) {
                store.trimHistory(topic, storeTrimmedUpTo + 1, droppedUpTo);
                storeTrimmedUpTo = droppedUpTo;
                droppedUnstored = 0;
            }
        }
    }
}
