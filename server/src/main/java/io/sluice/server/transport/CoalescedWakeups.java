package io.sluice.server.transport;

import io.netty.channel.SelectStrategy;
import io.netty.channel.SelectStrategyFactory;
import io.netty.util.IntSupplier;

import java.util.concurrent.locks.LockSupport;

/**
 * When an event loop sleeps: a loop with nothing to do waits in epoll_wait, and every packet or task from another
 * loop that arrives while it waits wakes it (a context switch; from another loop also an eventfd write). At a
 * steady rate of messages sent one at a time, each wake-up finds one packet, and the wake-ups cost more than the
 * messages: at 40,000 QoS 1 messages/s of fan-in over WebSocket about 0.6 context switches per message and more
 * than half of the broker's CPU in the kernel (benchmarks/analysis.md).
 *
 * <p>So a loop that was woken within {@code coalesce} of going to sleep (its packets come faster than that) naps
 * for {@code coalesce} before it looks for more work, and naps again while each nap finds some. One wake-up then
 * serves everything that came meanwhile: the packets of all its sockets, and the tasks other loops handed it (a
 * task offered during a nap writes no eventfd: Netty wakes only a loop waiting in epoll_wait, and looks for
 * tasks again before it waits). Once a nap finds nothing, the loop waits in epoll_wait again, so a quiet loop wakes
 * per packet as before and an idle one sleeps until there is work. A loop with tasks queued never naps, nor one
 * whose last nap brought it more work than a nap is long (flat out, a nap would only idle the busiest loop). The
 * price is latency: at most about {@code coalesce} (plus the kernel's timer slack, 50 µs by default) per loop a
 * message passes, and only while the loop is busy.
 *
 * <p>Netty's {@link SelectStrategy} is the hook for this: it decides, before each wait, whether to wait, and may
 * look for ready sockets without waiting ({@code selectSupplier}).
 */
final class CoalescedWakeups implements SelectStrategy {
    private final long coalesceNanos;
    /** When this loop last went to wait in epoll_wait. */
    private long waitedAt;
    /** The last nap found work: nap again rather than wait. */
    private boolean napping;
    /** When the last nap that found work ended. */
    private long napEndedAt;

    private CoalescedWakeups(long coalesceNanos) {
        this.coalesceNanos = coalesceNanos;
    }

    /** One per event loop (the strategy keeps the loop's state); {@code coalesceMicros} > 0. */
    static SelectStrategyFactory factory(int coalesceMicros) {
        long nanos = coalesceMicros * 1_000L;
        return () -> new CoalescedWakeups(nanos);
    }

    @Override
    public int calculateStrategy(IntSupplier selectSupplier, boolean hasTasks) throws Exception {
        if (hasTasks) {
            return selectSupplier.get(); // Netty's default: tasks are due, look at the sockets without waiting
        }
        long now = System.nanoTime();
        // a loop whose last nap brought more work than a nap is long is saturated: a nap would only idle it
        boolean saturated = napping && now - napEndedAt >= coalesceNanos;
        if (!saturated && (napping || now - waitedAt < coalesceNanos)) {
            LockSupport.parkNanos(coalesceNanos);
            int ready = selectSupplier.get();
            if (ready > 0) {
                napping = true;
                napEndedAt = System.nanoTime();
                return ready;
            }
            // nothing came during the nap (a task may have: Netty looks for tasks again before it waits)
        }
        napping = false;
        waitedAt = System.nanoTime();
        return SelectStrategy.SELECT;
    }
}
