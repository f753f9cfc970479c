package io.sluice.server.broker;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

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

    /** Bytes of QoS 1/2 messages queued (not yet sent) across every session. */
    public final LongAdder queuedBytes = new LongAdder();
    /** Retained messages not kept because the retained store was at its bound. */
    public final LongAdder retainedRefused = new LongAdder();
    /** Sessions in an overflow episode: offline with a full queue, dropping what comes for them. */
    public final LongAdder sessionsOverflowing = new LongAdder();
    public final LongAdder published = new LongAdder();
    public final LongAdder publishedBytes = new LongAdder();
    public final LongAdder delivered = new LongAdder();
    public final LongAdder deliveredBytes = new LongAdder();
    public final LongAdder backpressurePauses = new LongAdder();
    public final LongAdder backpressurePausedNanos = new LongAdder();
    /** Publishes the core held unanswered because the broker was shutting down (their publishers resend). */
    public final LongAdder heldAtShutdown = new LongAdder();
    private final Map<Drop, LongAdder> drops = new EnumMap<>(Drop.class);
    private volatile LongConsumer latencyObserver = nanos -> { };
    private volatile Consumer<Message> publishObserver = m -> { };

    public BrokerStats() {
        for (Drop d : Drop.values()) {
            drops.put(d, new LongAdder());
        }
    }

    public void dropped(Drop reason) {
        drops.get(reason).increment();
    }

    /** Who hears the publish-to-deliver latency of each first delivery (the metrics registry), in nanoseconds. */
    public void observeLatency(LongConsumer observer) {
        this.latencyObserver = observer;
    }

    /**
     * Who hears each accepted publish (the admin API's per-topic rates), on the publisher's thread: it must be
     * cheap and never block.
     */
    public void observePublishes(Consumer<Message> observer) {
        this.publishObserver = observer;
    }

    void published(Message m) {
        published.increment();
        publishedBytes.add(m.payload().length);
        publishObserver.accept(m);
    }

    /** A delivery went to its connection: unless it is a resend, report its publish-to-deliver latency. */
    void delivered(Delivery d, long nowNanos) {
        if (!d.duplicate()) {
            latencyObserver.accept(nowNanos - d.message().receivedNanos());
        }
    }

    public long drops(Drop reason) {
        return drops.get(reason).sum();
    }
}
