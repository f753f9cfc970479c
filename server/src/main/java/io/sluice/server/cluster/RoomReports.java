package io.sluice.server.cluster;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * The receiving side of the lanes' window ({@link SendLanes}): tells each sending node, on core NATS, the highest place
 * of each of its lanes this node has done (the message in every local queue, acknowledged to JetStream), so the lane
 * sends as many more at once instead of waiting to be refused. One report per sending node at most every
 * {@value #LINGER_MILLIS} ms, carrying every lane of that node that moved: a few reports a millisecond at most, however
 * many messages. A lost report costs nothing lasting: the next says the highest place again.
 *
 * <p>Report: subject {@code <prefix><sending node>}, body lines {@code <lane> <place>}.
 */
final class RoomReports {
    /** How long a report waits for more of the same kind before it goes (batching under load). */
    static final long LINGER_MILLIS = 1;
    /** A lane not heard for this long is forgotten here (its sender started again, or went quiet). */
    private static final long IDLE_NANOS = TimeUnit.MINUTES.toNanos(2);

    private final String prefix;
    private final BiConsumer<String, byte[]> publish;
    private final ScheduledExecutorService timer;
    private final Map<String, Done> lanes = new HashMap<>();
    private boolean scheduled;
    private long lastSweep = System.nanoTime();

    private static final class Done {
        final String sender;
        long place;
        boolean moved;
        long heardNanos;

        Done(String sender) {
            this.sender = sender;
        }
    }

    /**
     * @param prefix  the report subject without the sending node
     * @param publish a core NATS publish (never blocks)
     * @param timer   runs the reports
     */
    RoomReports(String prefix, BiConsumer<String, byte[]> publish, ScheduledExecutorService timer) {
        this.prefix = prefix;
        this.publish = publish;
        this.timer = timer;
    }

    /** This node has done {@code place} of {@code lane} (any thread). */
    void done(String lane, long place) {
        synchronized (this) {
            Done d = lanes.get(lane);
            if (d == null) {
                String sender = SendLanes.senderOf(lane);
                if (sender == null) {
                    return;
                }
                d = new Done(sender);
                lanes.put(lane, d);
            }
            if (place > d.place) {
                d.place = place;
                d.moved = true;
            }
            if (scheduled) {
                return;
            }
            scheduled = true;
        }
        try {
            timer.schedule(this::report, LINGER_MILLIS, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // shutting down: the senders' lanes end with this node
        }
    }

    private void report() {
        Map<String, StringBuilder> bySender = new HashMap<>(4);
        long now = System.nanoTime();
        synchronized (this) {
            scheduled = false;
            for (Map.Entry<String, Done> e : lanes.entrySet()) {
                Done d = e.getValue();
                if (d.moved) {
                    d.moved = false;
                    d.heardNanos = now;
                    bySender.computeIfAbsent(d.sender, s -> new StringBuilder(64))
                            .append(e.getKey()).append(' ').append(d.place).append('\n');
                }
            }
            if (now - lastSweep > IDLE_NANOS) {
                lastSweep = now;
                for (Iterator<Done> it = lanes.values().iterator(); it.hasNext(); ) {
                    if (now - it.next().heardNanos > IDLE_NANOS) {
                        it.remove();
                    }
                }
            }
        }
        for (Map.Entry<String, StringBuilder> e : bySender.entrySet()) {
            try {
                publish.accept(prefix + e.getKey(), e.getValue().toString().getBytes(StandardCharsets.UTF_8));
            } catch (RuntimeException lost) {
                // NATS away or its queue full: the next report says the same and more
            }
        }
    }

    /** Parse a report's body: each lane and place, handed to {@code each}; malformed lines are skipped. */
    static void read(byte[] body, java.util.function.ObjLongConsumer<String> each) {
        String text = new String(body, StandardCharsets.UTF_8);
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = text.length();
            }
            int space = text.lastIndexOf(' ', end - 1);
            if (space > start) {
                try {
                    each.accept(text.substring(start, space), Long.parseLong(text.substring(space + 1, end)));
                } catch (NumberFormatException malformed) {
                    // skipped
                }
            }
            start = end + 1;
        }
    }
}
