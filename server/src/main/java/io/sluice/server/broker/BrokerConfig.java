package io.sluice.server.broker;

/**
 * What the core needs from the settings.
 *
 * @param queueLimits     per-subscriber bounds and QoS 0 policy
 * @param matchCacheSize  entries in the trie's front cache of match results
 * @param stuckConsumerMillis a live subscriber whose window stays full this long with no acknowledgement is
 *                        disconnected (its persistent session keeps the queue); 0 never
 * @param offlineQueuePolicy what a publish does at an offline session's full queue
 * @param limits          the broker's total bounds
 */
public record BrokerConfig(QueueLimits queueLimits, long matchCacheSize, long stuckConsumerMillis,
                           OfflineQueuePolicy offlineQueuePolicy, BrokerLimits limits) {
    public static final BrokerConfig DEFAULTS =
            new BrokerConfig(QueueLimits.DEFAULTS, 65_536, 60_000, OfflineQueuePolicy.DROP, BrokerLimits.DEFAULTS);

    public BrokerConfig(QueueLimits queueLimits, long matchCacheSize, long stuckConsumerMillis,
                        OfflineQueuePolicy offlineQueuePolicy) {
        this(queueLimits, matchCacheSize, stuckConsumerMillis, offlineQueuePolicy, DEFAULTS.limits());
    }

    public BrokerConfig(QueueLimits queueLimits, long matchCacheSize) {
        this(queueLimits, matchCacheSize, DEFAULTS.stuckConsumerMillis());
    }

    public BrokerConfig(QueueLimits queueLimits, long matchCacheSize, long stuckConsumerMillis) {
        this(queueLimits, matchCacheSize, stuckConsumerMillis, DEFAULTS.offlineQueuePolicy());
    }
}
