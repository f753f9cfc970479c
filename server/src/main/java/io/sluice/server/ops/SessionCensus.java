package io.sluice.server.ops;

import io.sluice.server.broker.Broker;
import io.sluice.server.broker.Session;
import io.sluice.server.broker.SubscriberQueue;

/**
 * One pass over every session, taken when metrics are scraped or $SYS is published: sessions online and
 * offline, queued and in-flight totals, and how sessions spread over queue depths and in-flight counts
 * (cumulative counts per upper bound, like a Prometheus histogram's buckets, but of the present moment).
 */
public record SessionCensus(long online, long offline, long queuedReliable, long queuedBytes, long queuedQos0,
                            long inflight, long[] queueDepthBuckets, long[] inflightBuckets) {

    /** Upper bounds (inclusive) of the queue depth buckets; the last bucket is +Inf. */
    public static final long[] QUEUE_DEPTH_BOUNDS = {0, 1, 10, 100, 1_000, 10_000};
    /** Upper bounds (inclusive) of the in-flight buckets; the last bucket is +Inf. */
    public static final long[] INFLIGHT_BOUNDS = {0, 1, 4, 16, 64, 256};

    public static final SessionCensus EMPTY = new SessionCensus(0, 0, 0, 0, 0, 0,
            new long[QUEUE_DEPTH_BOUNDS.length + 1], new long[INFLIGHT_BOUNDS.length + 1]);

    public static SessionCensus take(Broker broker) {
        long online = 0;
        long offline = 0;
        long queued = 0;
        long bytes = 0;
        long qos0 = 0;
        long inflight = 0;
        long[] depth = new long[QUEUE_DEPTH_BOUNDS.length + 1];
        long[] window = new long[INFLIGHT_BOUNDS.length + 1];
        for (Session s : broker.sessions()) {
            SubscriberQueue q = s.queue();
            if (s.isOnline()) {
                online++;
            } else {
                offline++;
            }
            int sessionQueued = q.queuedReliable();
            int sessionInflight = q.inflightCount();
            queued += sessionQueued;
            bytes += q.queuedBytes();
            qos0 += q.queuedQos0();
            inflight += sessionInflight;
            addCumulative(depth, QUEUE_DEPTH_BOUNDS, sessionQueued);
            addCumulative(window, INFLIGHT_BOUNDS, sessionInflight);
        }
        return new SessionCensus(online, offline, queued, bytes, qos0, inflight, depth, window);
    }

    private static void addCumulative(long[] buckets, long[] bounds, long value) {
        for (int i = 0; i < bounds.length; i++) {
            if (value <= bounds[i]) {
                buckets[i]++;
            }
        }
        buckets[bounds.length]++;
    }
}
