package io.sluice.server.ops;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorGroup;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

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
 * <p>Only a loop's own lateness counts, not the whole process's: a thread of its own, the clock, does nothing but
 * wake each {@code interval}, and each time it wakes later than one interval past its time, the process was held
 * (a stop-the-world collection, SIGSTOP, a frozen virtual machine) for that long, its loops with it. That time is
 * taken off every probe's lateness, so a pause of the process longer than the window does not read as a stuck
 * loop (and shed new connections while the loops are in fact free) once it ends, while a loop held in its work
 * as the clock keeps time is as late as before. The clock's ordinary scheduling delays (under a millisecond to a
 * few) stay below the interval and are not counted, so a busy machine does not hide a busy loop.
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
    /** Per loop: {@link #heldNanos} when its next probe was scheduled. */
    private final AtomicLongArray heldAtSchedule;
    /** Per loop, its last KEPT probes in a ring: when each ran and how late it was. */
    private final AtomicLongArray ranAt;
    private final AtomicLongArray lateBy;
    private final int[] next;
    /** Total time the clock woke late by more than an interval: the process held as a whole. */
    private final AtomicLong held = new AtomicLong();
    /** When the clock is next due to wake (written after {@link #held}, read before it). */
    private volatile long clockDue;
    private final Thread clock;
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
        this.heldAtSchedule = new AtomicLongArray(loops);
        this.ranAt = new AtomicLongArray(loops * KEPT);
        this.lateBy = new AtomicLongArray(loops * KEPT);
        this.next = new int[loops];
        long now = System.nanoTime();
        this.clockDue = now + intervalNanos;
        this.clock = new Thread(this::keepTime, "sluice-lag-clock");
        clock.setDaemon(true);
        clock.start();
        for (int i = 0; i < loops; i++) {
            for (int k = 0; k < KEPT; k++) {
                ranAt.set(i * KEPT + k, now); // a fresh loop counts as on time, not as stuck
            }
            schedule(all.get(i), i);
        }
    }

    /** The clock: wakes every interval and adds up how late it woke, past one interval, as the process held. */
    private void keepTime() {
        long wake = clockDue;
        while (!closed) {
            long wait = wake - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(this, wait);
                continue;
            }
            long now = System.nanoTime();
            long late = now - wake;
            if (late > intervalNanos) {
                held.addAndGet(late);
            }
            wake = now + intervalNanos;
            clockDue = wake;
        }
    }

    /**
     * How long the process has been held in all, as of {@code now}: what the clock counted, and how overdue it is
     * itself, past one interval (a pause just ended, which the clock has not woken up to count yet).
     */
    private long heldNanos(long now) {
        long overdue = now - clockDue; // read before held: a clock waking meanwhile is counted twice, never missed
        return held.get() + (overdue > intervalNanos ? overdue : 0);
    }

    private void schedule(EventExecutor loop, int index) {
        if (closed || loop.isShuttingDown()) {
            return;
        }
        long now = System.nanoTime();
        heldAtSchedule.set(index, heldNanos(now));
        due.set(index, now + intervalNanos);
        loop.schedule(() -> {
            long ran = System.nanoTime();
            int slot = index * KEPT + next[index];
            next[index] = (next[index] + 1) % KEPT; // only this loop's thread touches its own slot index
            lateBy.set(slot, ownLateness(index, ran));
            ranAt.set(slot, ran);
            schedule(loop, index);
        }, intervalNanos, TimeUnit.NANOSECONDS);
    }

    /** How late loop {@code index}'s pending probe is at {@code now}, less the time the process was held meanwhile. */
    private long ownLateness(int index, long now) {
        long late = now - due.get(index) - (heldNanos(now) - heldAtSchedule.get(index));
        return Math.max(0, late);
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
            long lag = lowest == Long.MAX_VALUE ? ownLateness(i, now) : lowest;
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
        LockSupport.unpark(clock);
    }
}
