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
    private final ArrayDeque<String> lines = new ArrayDeque<>();

    public void add(String line) {
        String stamped = Instant.now() + " " + line;
        synchronized (lines) {
            if (lines.size() == LIMIT) {
                lines.removeFirst();
            }
            lines.addLast(stamped);
        }
    }

    public List<String> lines() {
        synchronized (lines) {
            return List.copyOf(lines);
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
