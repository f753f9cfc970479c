package io.sluice.server.testkit;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;

/**
 * What happened on one broker, one line per connection event (opened, CONNECT, refused, violation, closed,
 * fault injected): the broker's own log, kept per instance, so a failing test's report shows this broker's
 * story even when several brokers log to one console in parallel. The last {@link #LIMIT} lines are kept.
 */
public final class Journal {
    static final int LIMIT = 5_000;
    private final ArrayDeque<Entry> lines = new ArrayDeque<>();

    /** A line and its time, formatted when read: the date formatting's classes load only for a report. */
    private record Entry(long millis, String line) {
        @Override
        public String toString() {
            return Instant.ofEpochMilli(millis) + " " + line;
        }
    }

    public void add(String line) {
        Entry e = new Entry(System.currentTimeMillis(), line);
        synchronized (lines) {
            if (lines.size() == LIMIT) {
                lines.removeFirst();
            }
            lines.addLast(e);
        }
    }

    /** The lines, each stamped with its time (ISO-8601, UTC). */
    public List<String> lines() {
        synchronized (lines) {
            return lines.stream().map(Entry::toString).toList();
        }
    }

    /** The lines joined, for a report. */
    public String text() {
        return String.join("\n", lines()) + "\n";
    }

    public void clear() {
        synchronized (lines) {
            lines.clear();
        }
    }
}
