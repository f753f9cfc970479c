package io.sluice.server.broker;

/**
 * One session's interest in one filter. {@code shareGroup} is null for an ordinary subscription, the group
 * name for {@code $share/GROUP/filter} (and for STOMP queues, which are built on shared groups).
 * {@code tag} is the protocol adapter's own handle (a STOMP subscription id); the core hands it back in each
 * {@link Delivery}.
 */
public record Subscription(Session session, String filter, String shareGroup, SubscriptionOptions options,
                           Object tag) {
    public boolean isShared() {
        return shareGroup != null;
    }

    /** The key under which a session holds this subscription: the filter as the client wrote it. */
    public String key() {
        return shareGroup == null ? filter : "$share/" + shareGroup + "/" + filter;
    }
}
