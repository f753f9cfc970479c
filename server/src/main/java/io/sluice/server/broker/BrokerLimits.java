package io.sluice.server.broker;

/**
 * The broker's total bounds: what absent or hostile clients can pin, whatever each of them does on its own.
 * Each is a setting (see config/Settings) with a default sized for the machine; 0 means unbounded.
 *
 * @param offlineWithholdMillis  with {@link OfflineQueuePolicy#WITHHOLD}, the longest a publish is held for an
 *                               offline session's full queue; then the message is dropped for that session
 * @param maxSessions            broker sessions (MQTT clients, connected or persisted; a STOMP subscription or
 *                               queue is one too); a new one past it is refused
 * @param maxTotalQueuedBytes    bytes queued across every session; past it, messages for offline sessions are
 *                               dropped for them (live ones are held to their own queue bound by backpressure)
 * @param maxRetainedMessages    retained topics; a new one past it is not retained (MQTT 5 QoS 1/2: refused 0x97)
 * @param maxRetainedBytes       retained payload and topic bytes; the same
 */
public record BrokerLimits(long offlineWithholdMillis, int maxSessions, long maxTotalQueuedBytes,
                           int maxRetainedMessages, long maxRetainedBytes) {
    /** Unbounded but for the withhold bound: for tests and embedding that set their own. */
    public static final BrokerLimits DEFAULTS = new BrokerLimits(30_000, 0, 0, 0, 0);
}
