package io.sluice.server.broker;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Counters the core keeps on its hot path; the metrics registry reads them. LongAdder: no contention. */
public final class BrokerStats {
    /** Why a message did not reach one session. */
    public enum Drop {
        /** QoS 0, buffer full, oldest dropped. */
        QOS0_OVERFLOW,
        /** QoS 0, replaced by a newer value of the same topic (conflation). */
        QOS0_CONFLATED,
        /** Message Expiry Interval passed while queued. */
        EXPIRED,
        /** QoS 1/2 for an offline session whose queue was full. */
        OFFLINE_QUEUE_FULL,
        /** A retained message offered on subscribe to a full queue; it stays retained. */
        RETAINED_QUEUE_FULL,
        /** Larger than the client's Maximum Packet Size (MQTT 5 section 3.1.2.11.4). */
        TOO_LARGE_FOR_CLIENT
    }

    public final LongAdder published = new LongAdder();
    public final LongAdder publishedBytes = new LongAdder();
    public final LongAdder delivered = new LongAdder();
    public final LongAdder deliveredBytes = new LongAdder();
    public final LongAdder backpressurePauses = new LongAdder();
    public final LongAdder backpressurePausedNanos = new LongAdder();
    private final Map<Drop, LongAdder> drops = new EnumMap<>(Drop.class);

    public BrokerStats() {
        for (Drop d : Drop.values()) {
            drops.put(d, new LongAdder());
        }
    }

    public void dropped(Drop reason) {
        drops.get(reason).increment();
    }

    public long drops(Drop reason) {
        return drops.get(reason).sum();
    }
}
