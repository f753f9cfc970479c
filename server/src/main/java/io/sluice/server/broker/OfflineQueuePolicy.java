package io.sluice.server.broker;

/**
 * What a QoS 1/2 publish does when a matching persistent session is offline and its queue is full, for a
 * publisher that cannot be told "not accepted" (MQTT 3.1.1, STOMP SEND to a topic). A publisher that can be
 * told (MQTT 5: PUBACK 0x97 Quota exceeded; STOMP SEND to a queue: ERROR) is always refused up front instead,
 * and the message goes nowhere. See docs/flow-control.md.
 */
public enum OfflineQueuePolicy {
    /** Hold the publisher (PUBACK withheld, reads paused) until the session comes back and makes room, or ends. */
    WITHHOLD,
    /** Queue it for everyone else; the full session's loss is counted ({@code offline_queue_full}) and logged. */
    DROP
}
