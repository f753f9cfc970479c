package io.sluice.server.broker;

/**
 * What became of a publish once every matching session has the message in its queue (or it was refused).
 *
 * @param matchedSessions sessions the message was queued for (0 lets MQTT 5 answer 0x10 No matching subscribers)
 * @param quotaExceeded   an offline session's queue was full and the message was not queued there
 *                        (MQTT 5 publishers get 0x97 Quota exceeded)
 */
public record PublishOutcome(int matchedSessions, boolean quotaExceeded) {
}
