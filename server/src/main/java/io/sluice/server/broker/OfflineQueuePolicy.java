package io.sluice.server.broker;

/**
 * What a QoS 1/2 publish does when a matching persistent session is offline and its queue is full. A session
 * that is not connected must not hold back or refuse what is bound for everyone else, so the default drops the
 * message for that session alone; holding publishers for it is an opt-in for closed systems, and bounded. A
 * shared group (a STOMP queue) with no member able to take the message is another matter: the message would go
 * nowhere, so a publisher that can be told is refused (MQTT 5 0x97, STOMP ERROR) under either policy.
 * See docs/flow-control.md.
 */
public enum OfflineQueuePolicy {
    /**
     * The default: the message is queued for everyone else and not for the full offline session, which counts
     * it ({@link SubscriberQueue#overflowedTotal()}, {@code offline_queue_full}), logs once per episode and is
     * told how many it missed when it returns.
     */
    DROP,
    /**
     * Hold the publisher (acknowledgement withheld, reads paused) until the session comes back and makes room, for
     * at most {@link BrokerLimits#offlineWithholdMillis()}; then drop as {@link #DROP} does. A publisher that can
     * be told (MQTT 5) is refused up front instead (PUBACK 0x97), and the message goes nowhere.
     */
    WITHHOLD
}
