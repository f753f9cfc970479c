package io.sluice.server.sse;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sluice.protocol.topic.TopicFilter;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageHistory;

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
 * highest position of any topic log it forgot, so {@link #since} can tell a complete answer from a gap. A new
 * instance starts a new epoch (its start time): positions do not survive a restart.
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

    public MemoryHistory(int perTopic, long maxAgeMillis, int maxTopics, List<String> filters) {
        this(perTopic, maxAgeMillis, maxTopics, filters, System::currentTimeMillis);
    }

    MemoryHistory(int perTopic, long maxAgeMillis, int maxTopics, List<String> filters, LongSupplier clock) {
        this.perTopic = perTopic;
        this.maxAgeMillis = maxAgeMillis;
        this.filters = List.copyOf(filters);
        this.clock = clock;
        this.epoch = clock.getAsLong();
        this.topics = Caffeine.newBuilder()
                .maximumSize(maxTopics)
                .executor(Runnable::run)
                .<String, TopicLog>evictionListener((topic, log, cause) -> {
                    if (log != null) {
                        forget(log);
                    }
                })
                .build();
    }

    private void forget(TopicLog log) {
        long last;
        synchronized (log) {
            log.forgotten = true;
            last = log.lastPosition;
        }
        forgottenUpTo.accumulateAndGet(last, Math::max);
    }

    @Override
    public long append(Message m) {
        if (!kept(m.topic())) {
            return 0;
        }
        long now = clock.getAsLong();
        while (true) {
            TopicLog log = topics.get(m.topic(), t -> new TopicLog());
            synchronized (log) {
                if (log.forgotten) {
                    continue;
                }
                long position = head.incrementAndGet();
                log.entries.addLast(new Entry(position, now, m));
                log.lastPosition = position;
                while (log.entries.size() > perTopic) {
                    log.droppedUpTo = log.entries.pollFirst().position;
                }
                log.expire(now - maxAgeMillis);
                return position;
            }
        }
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
                log.expire(oldest);
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

    private record Entry(long position, long appendedMillis, Message message) {
    }

    /** One topic's recent messages; guarded by itself. */
    private static final class TopicLog {
        final ArrayDeque<Entry> entries = new ArrayDeque<>(4);
        long droppedUpTo;
        long lastPosition;
        boolean forgotten;

        void expire(long oldestMillis) {
            Entry first;
            while ((first = entries.peekFirst()) != null && first.appendedMillis < oldestMillis) {
                droppedUpTo = entries.pollFirst().position;
            }
        }
    }
}
