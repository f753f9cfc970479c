package io.sluice.server.cluster;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * One message at a time per key (a sending lane and a topic) into the local fan-out: the next starts once the one
 * before it is in every local queue. A message that waits for room in a subscriber's queue must not be overtaken by a
 * later one of the same publisher and topic (MQTT 3.1.1 and 5, section 4.6) that finds room a moment later. On one
 * node a publisher whose message waits stops being read; messages from other nodes all arrive through one consumer,
 * so this keeps that order for them, without holding back other topics or other nodes.
 *
 * @param <T> what goes into the fan-out
 */
final class FanoutGates<T> {
    /** Start the fan-out of an item; {@code done} runs once it completed (on any thread, possibly within the call). */
    interface Start<T> extends BiConsumer<T, Runnable> {
    }

    private final Start<T> start;
    /** Keys with a fan-out running, and what waits behind it. */
    private final Map<String, ArrayDeque<T>> running = new HashMap<>();

    FanoutGates(Start<T> start) {
        this.start = start;
    }

    void submit(String key, T item) {
        synchronized (this) {
            ArrayDeque<T> behind = running.get(key);
            if (behind != null) {
                behind.addLast(item);
                return;
            }
            running.put(key, new ArrayDeque<>(2));
        }
        run(key, item);
    }

    /** Fan-outs that complete within their start hand the next one to this loop rather than nesting calls. */
    private void run(String key, T item) {
        while (item != null) {
            // 0: starting; 1: completed while starting; 2: started, completes later
            AtomicInteger state = new AtomicInteger();
            start.accept(item, () -> {
                if (!state.compareAndSet(0, 1)) {
                    T next = next(key);
                    if (next != null) {
                        run(key, next);
                    }
                }
            });
            if (state.compareAndSet(0, 2)) {
                return;
            }
            item = next(key);
        }
    }

    private synchronized T next(String key) {
        ArrayDeque<T> behind = running.get(key);
        T next = behind == null ? null : behind.pollFirst();
        if (next == null) {
            running.remove(key);
        }
        return next;
    }

    /** Keys with a fan-out running (for tests and metrics). */
    synchronized int running() {
        return running.size();
    }
}
