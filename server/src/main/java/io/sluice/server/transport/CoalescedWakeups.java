package io.sluice.server.transport;

import io.netty.channel.SelectStrategy;
import io.netty.channel.SelectStrategyFactory;
import io.netty.util.IntSupplier;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import io.netty.util.internal.ThreadExecutorMap;
import io.sluice.server.events.HandledMessages;
import io.sluice.server.events.HeldWork;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

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
 * whose last nap brought it work for half a nap's length or more (flat out, a nap would only idle a busy loop). The
 * price is latency: at most about {@code coalesce} (plus the kernel's timer slack, 50 µs by default) per loop a
 * message passes, and only while the loop is busy.
 *
 * <p>A nap pays only when it gathers work that would otherwise have woken the loop several times. A client in
 * lockstep (a request, its answer, the next request) sends nothing until the loop has answered, so whatever a nap
 * finds of it came at once and one wake-up in epoll_wait would have served it as well: the nap only held it back,
 * on every round trip. Such a client has at most two messages on one loop per round trip (its publish and the
 * delivery of it, or the delivery and its acknowledgement), whatever sockets and hand-overs they come by; a stream
 * brings several per nap even from one publisher. So a loop counts the messages the work a nap found came to
 * ({@link HandledMessages}: every message an inbound gate passed on, every delivery written), and a nap that
 * gathered fewer than {@value #WORTH_NAPPING} ends the napping; the loop tries a nap again only on every
 * {@value #PROBE_EVERY}th early wake-up while its naps keep gathering so little. (Counting sockets instead read a
 * lone publisher's stream as lockstep: its loop's naps find one socket, its subscribers' loop's one hand-over.)
 *
 * <p>Nor does a loop nap while work on it is held until something arrives ({@link HeldWork}): a subscriber's
 * deliveries queued behind its full in-flight window, whose next acknowledgement lets them go (a nap would hold it
 * to one window of messages per nap, whatever its client could take), or a publisher paused until another loop's
 * task resumes it.
 *
 * <p>Netty's {@link SelectStrategy} is the hook for this: it decides, before each wait, whether to wait, and may
 * look for ready sockets without waiting ({@code selectSupplier}).
 */
final class CoalescedWakeups implements SelectStrategy {
    /** Messages a nap's work must come to for the loop to keep napping. */
    static final int WORTH_NAPPING = 3;
    /** While naps find too little, one early wake-up in this many tries a nap again. */
    static final int PROBE_EVERY = 64;

    private final long coalesceNanos;
    /** Sleeps this thread for the given nanoseconds: {@link LockSupport#parkNanos(long)}. */
    private final LongConsumer nap;
    /** Whether this loop has tasks queued: other loops' hand-overs that came during a nap. */
    private final BooleanSupplier tasksQueued;
    /** Messages this loop has handled so far: {@link HandledMessages#onThisThread()}. */
    private final LongSupplier handled;
    /** When work on this loop was last found held until something arrives: {@link HeldWork} (0: never). */
    private final LongSupplier heldMarked;
    /** Whether work on this loop is held now (a paused publisher): {@link HeldWork#holding()}. */
    private final BooleanSupplier holding;
    /** When this loop last went to wait in epoll_wait. */
    private long waitedAt;
    /** The last nap found work: nap again rather than wait. */
    private boolean napping;
    /** When the last nap that found work ended. */
    private long napEndedAt;
    /** The last nap found work, not yet counted: it is handled between that decision and the next. */
    private boolean counting;
    /** {@link #handled} when the last nap ended. */
    private long handledAtNapEnd;
    /** The last nap's work came to fewer than {@link #WORTH_NAPPING} messages: naps here only delay, until a probe
     * gathers more. */
    private boolean lockstep;
    /** Early wake-ups since the last probe, while in lockstep. */
    private int sinceProbe;

    CoalescedWakeups(long coalesceNanos, LongConsumer nap, BooleanSupplier tasksQueued, LongSupplier handled,
                     LongSupplier heldMarked, BooleanSupplier holding) {
        this.coalesceNanos = coalesceNanos;
        this.nap = nap;
        this.tasksQueued = tasksQueued;
        this.handled = handled;
        this.heldMarked = heldMarked;
        this.holding = holding;
    }

    /** One per event loop (the strategy keeps the loop's state); {@code coalesceMicros} > 0. */
    static SelectStrategyFactory factory(int coalesceMicros) {
        long nanos = coalesceMicros * 1_000L;
        return () -> new CoalescedWakeups(nanos, LockSupport::parkNanos, new LoopTasks(),
                HandledMessages::onThisThread, HeldWork::markedAt, HeldWork::holding);
    }

    @Override
    public int calculateStrategy(IntSupplier selectSupplier, boolean hasTasks) throws Exception {
        if (counting) {
            // the last nap's work has been handled since (its sockets read, the tasks it found run): what did it
            // come to?
            counting = false;
            lockstep = handled.getAsLong() - handledAtNapEnd < WORTH_NAPPING;
            napping &= !lockstep;
        }
        if (hasTasks) {
            return selectSupplier.get(); // Netty's default: tasks are due, look at the sockets without waiting
        }
        long now = System.nanoTime();
        // a loop whose last nap brought work for half a nap's length is saturated: a nap would only idle it
        boolean saturated = napping && now - napEndedAt >= coalesceNanos / 2;
        // nor does work held here until something arrives wait out a nap: a subscriber marked within a nap's length
        // is still held (its drains mark it after each acknowledgement); a paused publisher is counted while paused
        long marked = heldMarked.getAsLong();
        boolean held = marked != 0 && now - marked < coalesceNanos || holding.getAsBoolean();
        boolean early = napping || now - waitedAt < coalesceNanos;
        if (!saturated && !held && early && (!lockstep || ++sinceProbe >= PROBE_EVERY)) {
            sinceProbe = 0;
            nap.accept(coalesceNanos);
            int ready = selectSupplier.get();
            if (ready > 0 || tasksQueued.getAsBoolean()) {
                // nothing at all says nothing of how the work comes: only a nap that found some is counted
                counting = true;
                handledAtNapEnd = handled.getAsLong();
            }
            if (ready > 0) {
                napping = true;
                napEndedAt = System.nanoTime();
                return ready;
            }
            // no socket is ready (a task may be queued: Netty looks for tasks again before it waits)
        }
        napping = false;
        waitedAt = System.nanoTime();
        return SelectStrategy.SELECT;
    }

    /** The calling event loop's queued tasks; the loop is found on the first call, made on the loop's own thread. */
    private static final class LoopTasks implements BooleanSupplier {
        private SingleThreadEventExecutor loop;

        @Override
        public boolean getAsBoolean() {
            if (loop == null) {
                EventExecutor current = ThreadExecutorMap.currentExecutor();
                if (!(current instanceof SingleThreadEventExecutor single)) {
                    return false;
                }
                loop = single;
            }
            return loop.pendingTasks() > 0;
        }
    }
}
