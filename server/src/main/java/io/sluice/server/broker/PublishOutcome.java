package io.sluice.server.broker;

/**
 * What became of a publish once every matching session has the message in its queue (or it was refused).
 *
 * @param matchedSessions sessions the message was queued for (0 lets MQTT 5 answer 0x10 No matching subscribers)
 * @param quotaExceeded   an offline session's queue was full and the message was not queued there
 *                        (MQTT 5 publishers get 0x97 Quota exceeded)
 * @param storeFailed     the message store could not write it: it is not safe, so it must not be acknowledged as
 *                        accepted (MQTT 5 0x80, MQTT 3.1.1 disconnect, STOMP ERROR)
 */
public record PublishOutcome(int matchedSessions, boolean quotaExceeded, boolean storeFailed) {
    public PublishOutcome(int matchedSessions, boolean quotaExceeded) {
        this(matchedSessions, quotaExceeded, false);
    }

    static final PublishOutcome STORE_FAILED = new PublishOutcome(0, false, true);

    PublishOutcome withStoreFailed() {
        return new PublishOutcome(matchedSessions, quotaExceeded, true);
    }
}
