package io.sluice.server.broker;

/**
 * What the core needs from the settings.
 *
 * @param queueLimits     per-subscriber bounds and QoS 0 policy
 * @param matchCacheSize  entries in the trie's front cache of match results
 * @param stuckConsumerMillis a live subscriber whose window stays full this long with no acknowledgement is
 *                        disconnected (its persistent session keeps the queue); 0 never
 */
public record BrokerConfig(QueueLimits queueLimits, long matchCacheSize, long stuckConsumerMillis) {
    public static final BrokerConfig DEFAULTS = new BrokerConfig(QueueLimits.DEFAULTS, 65_536, 60_000);

    public BrokerConfig(QueueLimits queueLimits, long matchCacheSize) {
        this(queueLimits, matchCacheSize, DEFAULTS.stuckConsumerMillis());
    }
}
