package io.sluice.server.broker;

/**
 * What the core needs from the settings.
 *
 * @param queueLimits     per-subscriber bounds and QoS 0 policy
 * @param matchCacheSize  entries in the trie's front cache of match results
 */
public record BrokerConfig(QueueLimits queueLimits, long matchCacheSize) {
    public static final BrokerConfig DEFAULTS = new BrokerConfig(QueueLimits.DEFAULTS, 65_536);
}
