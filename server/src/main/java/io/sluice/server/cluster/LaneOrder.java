package io.sluice.server.cluster;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The receiving side of {@link SendLanes}: puts the messages of each sending lane back in the order they were sent,
 * when JetStream stored one before an earlier one that it refused for a moment and took on a later attempt.
 *
 * <p>Each message names its lane, its place in the lane and the oldest place its sender had not yet seen taken when
 * it went out. A message whose place is the next one expected is delivered, and with it every held message that
 * follows without a gap. A message further on is held (unacknowledged: JetStream keeps it, and is told it is in
 * progress) until the places before it arrive; places below the oldest one not yet taken are not waited for: they
 * were stored before it was sent (so they came first) or given up. A gap is waited for at most {@code holdNanos}
 * (the node timeout: its sender is down, or what is held blocks the room it needs), then what is held is delivered.
 * At most {@code maxHeld} messages are held over all lanes, fewer than JetStream hands this node unacknowledged and
 * keeps for it: what is held must never keep out the message it waits for (past it, a gap is given up at once).
 * A unit of several places (a batch) counts as one held message, as it is one for JetStream.
 * A lane first met mid-way (this node started again) starts at the first message that arrives; a message older than
 * the next one expected (a repeat, or one that came after its gap was given up) is delivered at once.
 *
 * <p>Used by one thread alone (the node's consumer).
 *
 * @param <T> what is delivered
 */
final class LaneOrder<T> {
    private static final org.slf4j.Logger log = io.sluice.server.events.Logs.get(LaneOrder.class);
    /** A lane with nothing held and nothing heard for this long is forgotten. */
    private static final long IDLE_NANOS = 10L * 60 * 1_000_000_000L;

    private final long holdNanos;
    private final int maxHeld;
    private final String bound;
    private int heldNow;
    private final Map<String, In> lanes = new HashMap<>();
    private long gapsGivenUp;

    private final class In {
        long next;
        final TreeMap<Long, Held<T>> held = new TreeMap<>();
        /** Since when the lane waits for {@link #next} while holding later ones (0: not waiting). */
        long waitingSince;
        long heardNanos;

        In(long next) {
            this.next = next;
        }
    }

    LaneOrder(long holdNanos, int maxHeld) {
        this(holdNanos, maxHeld, "below --cluster-max-ack-pending and --cluster-max-pending; raise both settings");
    }

    /** {@code bound}: what sets {@code maxHeld} and what to do about it, for the log line when it is reached. */
    LaneOrder(long holdNanos, int maxHeld, String bound) {
        this.holdNanos = holdNanos;
        this.maxHeld = maxHeld;
        this.bound = bound;
    }

    /**
     * A message (or a batch of a lane's messages, {@link LaneBatch}) arrived; {@code order} is its
     * {@link SendLanes#ORDER_HEADER} (null: none, delivered at once): {@code <lane> <first place> <oldest place not yet
     * taken> [<last place>]}, the last place given for a unit covering several places.
     */
    void arrived(String order, T item, long nowNanos, Consumer<T> deliver) {
        long place;
        long last;
        long oldest;
        String name;
        try {
            String[] parts = order == null ? null : order.split(" ");
            if (parts == null || parts.length < 3 || parts.length > 4) {
                deliver.accept(item);
                return;
            }
            name = parts[0];
            place = Long.parseLong(parts[1]);
            oldest = Long.parseLong(parts[2]);
            last = parts.length == 4 ? Long.parseLong(parts[3]) : place;
            if (last < place) {
                deliver.accept(item);
                return;
            }
        } catch (NumberFormatException e) {
            deliver.accept(item);
            return;
        }
        In lane = lanes.get(name);
        if (lane == null) {
            // a lane's first place is 1: a lane met there is followed from its start; one met further on (this node
            // started again) from the first message that arrives
            lane = new In(oldest == 1 ? 1 : place);
            lanes.put(name, lane);
        }
        lane.heardNanos = nowNanos;
        long before = lane.next;
        if (oldest > lane.next) {
            // nothing below the oldest place not yet taken is still coming
            releaseBelow(lane, oldest, deliver);
        }
        if (last < lane.next) {
            deliver.accept(item);
        } else if (place <= lane.next) {
            deliver.accept(item);
            lane.next = last + 1;
            drain(lane, deliver);
        } else if (lane.held.putIfAbsent(place, new Held<>(item, last)) != null) {
            deliver.accept(item); // the same place twice (past JetStream's duplicate window): at least once
        } else if (++heldNow > maxHeld) {
            // holding more could keep out what this lane waits for: its gap is given up
            if (gapsGivenUp++ == 0) {
                log.warn("cluster: {} messages from other nodes wait for earlier ones JetStream has not handed over yet, "
                        + "the most this node may hold ({}, if this recurs): lane {} goes on without its place {}, "
                        + "out of publish order (logged once)", heldNow - 1, bound, name, lane.next);
            }
            lane.next = lane.held.firstKey();
            drain(lane, deliver);
        }
        if (lane.held.isEmpty()) {
            lane.waitingSince = 0;
        } else if (lane.waitingSince == 0 || lane.next != before) {
            lane.waitingSince = nowNanos;
        }
    }

    /** What a lane holds at a place: the item and the last place it covers. */
    private record Held<T>(T item, long last) {
    }

    /** Give up the gaps waited for longer than the hold, and forget lanes long idle. */
    void expire(long nowNanos, Consumer<T> deliver) {
        for (Iterator<In> it = lanes.values().iterator(); it.hasNext(); ) {
            In lane = it.next();
            if (!lane.held.isEmpty() && nowNanos - lane.waitingSince >= holdNanos) {
                gapsGivenUp++;
                log.warn("cluster: a message from another node did not come within {} ms; what came after it is "
                        + "delivered without it (lane place {})", holdNanos / 1_000_000, lane.next);
                lane.next = lane.held.firstKey();
                drain(lane, deliver);
                lane.waitingSince = lane.held.isEmpty() ? 0 : nowNanos;
            } else if (lane.held.isEmpty() && nowNanos - lane.heardNanos >= IDLE_NANOS) {
                it.remove();
            }
        }
    }

    private void releaseBelow(In lane, long oldest, Consumer<T> deliver) {
        while (!lane.held.isEmpty() && lane.held.firstKey() < oldest) {
            heldNow--;
            Held<T> h = lane.held.pollFirstEntry().getValue();
            deliver.accept(h.item());
            lane.next = Math.max(lane.next, h.last() + 1);
        }
        lane.next = Math.max(lane.next, oldest);
        drain(lane, deliver);
    }

    private void drain(In lane, Consumer<T> deliver) {
        while (!lane.held.isEmpty() && lane.held.firstKey() <= lane.next) {
            heldNow--;
            Held<T> h = lane.held.pollFirstEntry().getValue();
            deliver.accept(h.item());
            lane.next = Math.max(lane.next, h.last() + 1);
        }
    }

    /** Messages held for an earlier one of their lane. */
    int held() {
        return heldNow;
    }

    /** Gaps given up after the hold (what was held behind them delivered out of order). */
    long gapsGivenUp() {
        return gapsGivenUp;
    }
}
