package io.sluice.server.cluster;

import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * Episodes of JetStream not taking this node's QoS 1/2 sends (a slow node's share of the stream full, NATS away), told
 * to the operator once each: one line when an episode starts, one when it clears with what it cost, and a reminder a
 * minute into a long one. A lane refused again every few hundred milliseconds is one episode, not one line each time.
 *
 * <p>An episode clears once nothing was refused for {@link #QUIET_NANOS}: a lane that backs off for up to a second
 * between attempts is not "clear" just because one attempt was taken. Thread-safe; the caller logs what it returns.
 */
final class RefusalEpisodes {
    static final long QUIET_NANOS = TimeUnit.SECONDS.toNanos(5);
    static final long REMIND_NANOS = TimeUnit.MINUTES.toNanos(1);

    private long startNanos;
    private long lastNanos;
    private long remindedNanos;
    private boolean open;
    private long retried;
    private long refused;
    private final Set<String> targets = new TreeSet<>();

    /** A send to {@code target} was refused and is tried again; true if this starts an episode (log it). */
    synchronized boolean retried(String target, long nowNanos) {
        retried++;
        return note(target, nowNanos);
    }

    /** A send to {@code target} was given up and refused to its publisher; true if this starts an episode. */
    synchronized boolean refused(String target, long nowNanos) {
        refused++;
        return note(target, nowNanos);
    }

    private boolean note(String target, long nowNanos) {
        lastNanos = nowNanos;
        if (targets.size() < 8) {
            targets.add(target);
        }
        if (open) {
            return false;
        }
        open = true;
        startNanos = nowNanos;
        remindedNanos = nowNanos;
        return true;
    }

    /**
     * Called now and then: the line to log, if any (the episode cleared, or a reminder is due), else null.
     */
    synchronized String check(long nowNanos) {
        if (!open) {
            return null;
        }
        long seconds = TimeUnit.NANOSECONDS.toSeconds(nowNanos - startNanos);
        if (nowNanos - lastNanos >= QUIET_NANOS) {
            String line = "cluster: JetStream takes QoS 1/2 messages for " + String.join(", ", targets)
                    + " again; for " + TimeUnit.NANOSECONDS.toMillis(lastNanos - startNanos) + " ms it did not: "
                    + retried + " sends refused and tried again, " + refused
                    + " refused to their publishers (MQTT 5 0x97)";
            open = false;
            retried = 0;
            refused = 0;
            targets.clear();
            return line;
        }
        if (nowNanos - remindedNanos >= REMIND_NANOS) {
            remindedNanos = nowNanos;
            return "cluster: JetStream still does not take every QoS 1/2 message for " + String.join(", ", targets)
                    + " after " + seconds + " s: " + retried + " sends refused and tried again, " + refused
                    + " refused to their publishers so far; a slow node holds its publishers, or NATS is away";
        }
        return null;
    }

    synchronized boolean open() {
        return open;
    }
}
