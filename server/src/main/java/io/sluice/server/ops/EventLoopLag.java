package io.sluice.server.ops;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorGroup;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * How far behind the broker's event loops are: a probe task scheduled on every loop each {@code interval}
 * notes how late it ran. A loop that is busy (a reconnect storm's handshakes, a flood of publishes) runs its
 * tasks late by as long as one turn of its work takes, which is also how long every connection it serves waits
 * to be heard: the measure of overload that {@link Admission} sheds new connections on, the way EMQX's
 * overload protection watches its schedulers' run queues.
 *
 * <p>A loop's lag is the <em>lowest</em> lateness of its probes over the last {@link #WINDOW_MILLIS} (3 s), as CoDel
 * judges a queue by its minimum delay: a late probe or a few (a garbage collection, the first connection loading
 * its classes, the first second of a reconnect storm the broker then works off) is not overload, a loop that
 * has been late all along is. A loop with no probe done within
 * the window is stuck in its work: its lag is how overdue its pending probe is. The broker's lag is its worst
 * loop's.
 *
 * <p>Reading it is lock-free and allocation-free.
 */
public final class EventLoopLag implements AutoCloseable {
    /** Often enough to see a storm within a tenth of a second; each probe is one scheduled task per loop. */
    public static final long PROBE_INTERVAL_MILLIS = 50;
    /** How long a loop must have been late throughout for it to count as late. */
    public static final long WINDOW_MILLIS = 3000;
    private static final int KEPT = 8;

    private final long intervalNanos;
    private final long windowNanos;
    private final int loops;
    /** Per loop: when its next probe is due (System.nanoTime). */
    private final AtomicLongArray due;
    /** Per loop, its last KEPT probes in a ring: when each ran and how late it was. */
    private final AtomicLongArray ranAt;
    private final AtomicLongArray lateBy;
    private final int[] next;
    private volatile boolean closed;

    public EventLoopLag(EventExecutorGroup group, long intervalMillis) {
        this(group, intervalMillis, WINDOW_MILLIS);
    }

    EventLoopLag(EventExecutorGroup group, long intervalMillis, long windowMillis) {
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
        this.windowNanos = TimeUnit.MILLISECONDS.toNanos(windowMillis);
        List<EventExecutor> all = new ArrayList<>();
        group.iterator().forEachRemaining(all::add);
        this.loops = all.size();
        this.due = new AtomicLongArray(loops);
        this.ranAt = new AtomicLongArray(loops * KEPT);
        this.lateBy = new AtomicLongArray(loops * KEPT);
        this.next = new int[loops];
        long now = System.nanoTime();
        for (int i = 0; i < loops; i++) {
            for (int k = 0; k < KEPT; k++) {
                ranAt.set(i * KEPT + k, now); // a fresh loop counts as on time, not as stuck
            }
            schedule(all.get(i), i);
        }
    }

    private void schedule(EventExecutor loop, int index) {
        if (closed || loop.isShuttingDown()) {
            return;
        }
        due.set(index, System.nanoTime() + intervalNanos);
        loop.schedule(() -> {
            long now = System.nanoTime();
            int slot = index * KEPT + next[index];
            next[index] = (next[index] + 1) % KEPT; // only this loop's thread touches its own slot index
            lateBy.set(slot, Math.max(0, now - due.get(index)));
            ranAt.set(slot, now);
            schedule(loop, index);
        }, intervalNanos, TimeUnit.NANOSECONDS);
    }

    /** The worst loop's lag now, in nanoseconds (see the class comment). */
    public long nanos() {
        long now = System.nanoTime();
        long worst = 0;
        for (int i = 0; i < loops; i++) {
            long lowest = Long.MAX_VALUE;
            for (int k = 0; k < KEPT; k++) {
                int slot = i * KEPT + k;
                if (now - ranAt.get(slot) <= windowNanos) {
                    lowest = Math.min(lowest, lateBy.get(slot));
                }
            }
            long lag = lowest == Long.MAX_VALUE ? Math.max(0, now - due.get(i)) : lowest;
            worst = Math.max(worst, lag);
        }
        return worst;
    }

    public double seconds() {
        return nanos() / 1e9;
    }

    @Override
    public void close() {
        closed = true; // each loop's pending probe runs once more and schedules no other
    }
}
