package io.sluice.server.stomp;

import io.sluice.server.config.Settings;
import io.sluice.server.delta.DeltaConfig;

/**
 * The STOMP limits and defaults, read once from the settings.
 *
 * @param maxFrameBody        largest frame body (max-packet-size); larger: ERROR
 * @param maxHeaderLine       longest command or header line
 * @param maxHeaders          most headers in a frame
 * @param heartbeatMinMillis  shortest heart-beat interval agreed to, either way
 * @param heartbeatGraceMillis how long past its interval a silent client is given
 * @param maxSubscriptions    per connection
 * @param maxTransactionFrames frames held by one transaction, and transactions open per connection
 * @param defaultPrefetch     in-flight window of a subscription that names no prefetch-count
 * @param maxQueues           /queue/ destinations the broker holds messages for
 * @param connectTimeoutMillis time a new connection has to send CONNECT
 * @param maxHeldInbound     frames held while a SEND waits for room, before the server stops reading
 */
record StompConfig(int maxFrameBody, int maxHeaderLine, int maxHeaders, long heartbeatMinMillis,
                   long heartbeatGraceMillis, int maxSubscriptions, int maxTransactionFrames, int defaultPrefetch,
                   int maxQueues, long connectTimeoutMillis, int maxHeldInbound, DeltaConfig delta) {
    static StompConfig of(Settings s) {
        return new StompConfig(s.get(Settings.MAX_PACKET_SIZE), s.get(Settings.STOMP_MAX_HEADER_LINE),
                s.get(Settings.STOMP_MAX_HEADERS), s.get(Settings.STOMP_HEARTBEAT_MIN),
                s.get(Settings.STOMP_HEARTBEAT_GRACE), s.get(Settings.STOMP_MAX_SUBSCRIPTIONS),
                s.get(Settings.STOMP_MAX_TRANSACTION_FRAMES), s.get(Settings.INFLIGHT_WINDOW),
                s.get(Settings.STOMP_MAX_QUEUES), s.get(Settings.STOMP_CONNECT_TIMEOUT),
                s.get(Settings.MAX_HELD_INBOUND), DeltaConfig.from(s));
    }
}
