package io.sluice.server.transport;

import io.netty.channel.SingleThreadEventLoop;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.internal.ThreadExecutorMap;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;

/**
 * Tasks for a connection's event loop, handed over from another event loop once per iteration of the sender
 * rather than one at a time. A publish read on one loop that reaches subscribers on another gives that loop a
 * task (a drain of the subscriber's queue); when the other loop sleeps in epoll_wait, each task also costs an
 * eventfd write and a wake-up, and a loop that wakes for the first of a read's messages and goes back to sleep
 * before the next arrives is woken again for it. Here the tasks one loop has for another wait until the end of
 * the sender's iteration (its reads and its tasks; typically microseconds, bounded by one iteration), then go
 * as one task: the other loop is woken once and runs them in the order they were given.
 *
 * <p>A thread that is not an event loop batches the same way inside {@link #holding}: the store's writer runs a group
 * commit's callbacks there, so the acknowledgements of one commit wake each loop once, not once per callback that
 * finds the loop asleep again (a loop that has answered the first of a connection's acknowledgements goes back to
 * sleep before the writer reaches the next). From the target loop itself, or from another thread outside
 * {@link #holding}, a task is simply executed. The order of tasks from one sender to one target is kept; a handed-over task may run
 * after a task the same sender executed directly on the target later in the same iteration, so only tasks that
 * need no order against those use this (a drain, which looks at its queue when it runs, and a close).
 */
public final class LoopHandoff {
    private static final FastThreadLocal<Outbox> OUTBOX = new FastThreadLocal<>() {
        @Override
        protected Outbox initialValue() {
            return new Outbox();
        }
    };

    /** A non-loop thread's tasks for loops while it is {@link #holding}. */
    private static final ThreadLocal<Outbox> HELD = new ThreadLocal<>();

    private LoopHandoff() {
    }

    /**
     * Run {@code body} on this thread (one that is not an event loop); what it hands to loops through
     * {@link #execute} meanwhile goes when it returns, as one task per loop, in the order given.
     */
    public static void holding(Runnable body) {
        Outbox box = HELD.get();
        if (box == null) {
            box = new Outbox();
            HELD.set(box);
        }
        if (box.holding) {
            body.run();
            return;
        }
        box.holding = true;
        try {
            body.run();
        } finally {
            box.holding = false;
            box.run();
        }
    }

    /** Run {@code task} on {@code target}: at once if called there or off an event loop, else batched as above. */
    public static void execute(EventExecutor target, Runnable task) {
        EventExecutor current = ThreadExecutorMap.currentExecutor();
        if (current == null) {
            Outbox held = HELD.get();
            if (held != null && held.holding) {
                held.put(target, task);
                return;
            }
        }
        if (current == target || !(current instanceof SingleThreadEventLoop here) || here.isShuttingDown()) {
            target.execute(task);
            return;
        }
        OUTBOX.get().add(here, target, task);
    }

    /** One sending loop's tasks for other loops, until the end of its iteration. Only touched by that loop. */
    private static final class Outbox implements Runnable {
        private final List<EventExecutor> targets = new ArrayList<>(4);
        private final List<List<Runnable>> tasks = new ArrayList<>(4);
        private boolean scheduled;
        /** A non-loop thread's outbox: inside {@link LoopHandoff#holding}. */
        private boolean holding;

        void add(SingleThreadEventLoop here, EventExecutor target, Runnable task) {
            put(target, task);
            if (!scheduled) {
                scheduled = true;
                here.executeAfterEventLoopIteration(this);
            }
        }

        void put(EventExecutor target, Runnable task) {
            int i = indexOf(target);
            if (i < 0) {
                targets.add(target);
                tasks.add(new ArrayList<>(4));
                i = targets.size() - 1;
            }
            tasks.get(i).add(task);
        }

        private int indexOf(EventExecutor target) {
            for (int i = 0; i < targets.size(); i++) {
                if (targets.get(i) == target) {
                    return i;
                }
            }
            return -1;
        }

        /** After the sending loop's iteration: one task per target loop that has any. */
        @Override
        public void run() {
            scheduled = false;
            for (int i = 0; i < targets.size(); i++) {
                List<Runnable> batch = tasks.get(i);
                if (batch.isEmpty()) {
                    continue;
                }
                // the list goes to the target's thread (its task queue orders the hand-over); this loop takes a new one
                tasks.set(i, new ArrayList<>(Math.max(4, batch.size())));
                Runnable one = batch.size() == 1 ? batch.get(0) : new Batch(batch);
                try {
                    targets.get(i).execute(one);
                } catch (RejectedExecutionException e) {
                    // the target loop is shutting down with the broker: nothing is left there to drain or close
                }
            }
        }
    }

    private record Batch(List<Runnable> tasks) implements Runnable {
        @Override
        public void run() {
            for (Runnable r : tasks) {
                r.run();
            }
        }
    }
}
