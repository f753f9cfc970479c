package io.sluice.server.events;

import io.netty.util.concurrent.FastThreadLocal;

/**
 * A hint to an event loop's wake-ups that work on it is held until something arrives, so the loop should wake for
 * that at once rather than nap first ({@code transport/CoalescedWakeups}):
 * <ul>
 * <li>a subscriber's drain stopped at a full in-flight window with deliveries queued behind it: its next
 * acknowledgement lets them go, and a nap would hold it to one window of messages per nap (32 per 300 µs is about
 * 107,000 a second, well under what one WebSocket subscriber of fan-in takes flat out);</li>
 * <li>a publisher's inbound gate paused, waiting for room in its subscribers' queues or for its own
 * acknowledgements: the task that resumes it comes from another loop, and a task offered during a nap waits for
 * the nap's end.</li>
 * </ul>
 * A subscriber is kept as the time of the last {@link #mark()} on this thread: one held at its window is marked again
 * by the drain after each of its acknowledgements, so the mark stays fresh while it is held and goes stale by itself
 * once it is not. A paused gate is counted ({@link #hold()}, {@link #release()}) for as long as it is paused, which
 * can be longer than a nap without any event on its loop.
 */
public final class HeldWork {
    private static final int MARKED_AT = 0;
    private static final int HOLDS = 1;
    private static final FastThreadLocal<long[]> STATE = new FastThreadLocal<>() {
        @Override
        protected long[] initialValue() {
            return new long[2];
        }
    };

    private HeldWork() {
    }

    /** Work on this thread is held until something arrives. */
    public static void mark() {
        STATE.get()[MARKED_AT] = System.nanoTime();
    }

    /** {@link System#nanoTime()} of this thread's last {@link #mark()}; 0: never. */
    public static long markedAt() {
        return STATE.get()[MARKED_AT];
    }

    /** Work on this thread is held until {@link #release()}, called on this same thread. */
    public static void hold() {
        STATE.get()[HOLDS]++;
    }

    /** Work {@link #hold() held} on this thread is no longer. */
    public static void release() {
        STATE.get()[HOLDS]--;
    }

    /** Whether work is held on this thread now. */
    public static boolean holding() {
        return STATE.get()[HOLDS] > 0;
    }
}
