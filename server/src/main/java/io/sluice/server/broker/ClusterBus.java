package io.sluice.server.broker;

/**
 * The other nodes of a cluster, as the core sees them (docs/cluster.md). The core tells the bus which filters its
 * sessions hold, hands it every publish made on this node, and which client ids connect and leave here; the bus
 * calls back into the {@link Broker} with what other nodes send ({@link Broker#publishFromCluster},
 * {@link Broker#takenOverElsewhere}, {@link Broker#retainedFromCluster}). The core never knows how it is carried.
 *
 * <p>Every method may be called from an event loop and must not block: the bus does its network work on threads of
 * its own.
 */
public interface ClusterBus {
    /**
     * A session on this node subscribed with {@code key}: a filter, or {@code $share/<group>/<filter>} for a member
     * of a shared group ({@link Subscription#key()}).
     */
    void subscribed(String key);

    /** One of those subscriptions ended; the key stays announced while another holds it. */
    void unsubscribed(String key);

    /**
     * Send a publish made on this node to every other node with a matching subscription, each once. {@code done}
     * runs exactly once: at once for QoS 0 and when no other node matches; for QoS 1/2 once every matching node
     * holds the message safely, or with {@code accepted} false when it could not be routed within the bound and
     * the publisher {@code canRefuse} (MQTT 5 0x97). A publisher that cannot be refused waits until it is routed.
     *
     * <p>A shared group with members on several nodes gets the message once in the cluster: the bus picks the node
     * (among those with a member; this one only when it has a connected member) and returns {@code local} without
     * the groups another node serves, which is what the local fan-out delivers. A group with no member on any node
     * goes to one of its offline members among the persistent sessions the cluster keeps.
     */
    MatchResult route(Message message, MatchResult local, boolean canRefuse, RouteCallback done);

    /**
     * A message for the shared groups of {@code local} alone, handed on by a member that left or by a STOMP queue's
     * holder (its ordinary subscribers everywhere had it when it was published): the bus picks the node serving each
     * group as for {@link #route}, never at once refusable, and returns what this node serves. {@code done} runs
     * once; {@code accepted} false: the cluster could not take it, and the caller gives it to the group here.
     */
    default MatchResult routeToGroup(Message message, MatchResult local, RouteCallback done) {
        done.routed(0, true);
        return local;
    }

    /**
     * In the groups {@link Broker#publishFromCluster} is told to serve: the message is for those groups alone, not
     * for the node's ordinary subscribers.
     */
    String GROUPS_ONLY = "";

    @FunctionalInterface
    interface RouteCallback {
        /** @param nodes other nodes the message went to; @param accepted false: it could not be routed */
        void routed(int nodes, boolean accepted);
    }

    /** A client id connected here: the cluster's registry now names this node, and another holding it lets go. */
    void connected(SessionId id);

    /** The connection of that id here ended (not a takeover on this node). */
    void disconnected(SessionId id);

    /**
     * The will of the connection of that id here, whose session the cluster does not keep (null: it has none): the
     * cluster records it, so that another node publishes it, once, if this node dies while the client is connected.
     * Its delay counts from the node's death, and not past the session's expiry ({@code expirySeconds}). The record
     * goes when the connection ends here ({@link #disconnected}).
     */
    default void connectionWill(SessionId id, Will will, long expirySeconds) {
    }

    /**
     * The connection of that id here, whose will the cluster recorded ({@link #connectionWill}), ended and its will is
     * due now (its delay passed): the bus runs {@code publish} only if the record is still this node's to claim, so
     * that a will another node already published (it found this node down: NATS was away longer than the node
     * timeout) is not published a second time. {@code publish} may run later, on a thread of the bus's (NATS away:
     * once it is back), or never. {@code publish} null: the will is not published (a normal DISCONNECT, or a
     * delayed will cancelled), and the bus lets its record go.
     */
    default void willDue(SessionId id, Runnable publish) {
        if (publish != null) {
            publish.run();
        }
    }

    /** The retained message of a topic changed here (an empty payload clears it): every node keeps the same. */
    void retained(Message message);

    // ---- persistent sessions kept by the cluster (docs/cluster.md, "Persistent sessions")

    /** A subscription of a kept session, without the session. */
    record KeptSubscription(String filter, String shareGroup, SubscriptionOptions options) {
    }

    /**
     * What the cluster keeps of a persistent session besides its queued messages: its subscriptions, and the QoS 2
     * packet ids its client sent and has not released yet (so a PUBLISH resent to another node is known as a
     * duplicate and its PUBREL is answered there).
     */
    record KeptSession(long expirySeconds, java.util.List<KeptSubscription> subscriptions,
                       java.util.Set<Integer> inboundQos2) {
    }

    /**
     * Whether a persistent session of this id is kept by the cluster (its subscriptions and queued messages, so it
     * resumes on any node) instead of by this node.
     */
    default boolean keepsSessions(SessionId id) {
        return false;
    }

    /** The cluster's kept session of that id, null for none. Reads memory only: callable from an event loop. */
    default KeptSession keptSession(SessionId id) {
        return null;
    }

    /**
     * A kept session is connected here: the cluster records it (with its subscriptions) and feeds its queue
     * through {@link Broker#deliverKept}; again after each change of its subscriptions.
     */
    default void sessionOnline(Session s) {
    }

    /** Its subscriptions changed while connected here. */
    default void sessionChanged(Session s) {
    }

    /**
     * Run {@code then} once everything this node told the cluster of its kept sessions so far is written (an
     * acknowledgement that must not go out before the record says what it acknowledges). From any thread.
     */
    default void afterSessionWrites(Runnable then) {
        then.run();
    }

    /**
     * Its connection here ended and it lives on offline (until its expiry) in the cluster. {@code will}, when not
     * null, is its will: the cluster publishes it once, at {@code willAtMillis} (at once when that is not after
     * {@code disconnectedAtMillis}), unless the client connected again (on any node) before that, or another node,
     * which found this node down, published it already.
     */
    default void sessionOffline(Session s, long disconnectedAtMillis, Message will, long willAtMillis) {
    }

    /** Its client went to another node, which has it now: stop feeding it here and change nothing. */
    default void sessionLeft(Session s) {
    }

    /** The session ended (clean start, expiry, a connection with expiry 0 closed): forget it and its messages. */
    default void sessionEnded(SessionId id) {
    }

    /** No cluster: a single broker. */
    ClusterBus NONE = new Single();

    /** What a single broker's bus does: nothing leaves this node (a test changes one answer by extending it). */
    class Single implements ClusterBus {
        @Override
        public void subscribed(String filter) {
        }

        @Override
        public void unsubscribed(String filter) {
        }

        @Override
        public MatchResult route(Message message, MatchResult local, boolean canRefuse, RouteCallback done) {
            done.routed(0, true);
            return local;
        }

        @Override
        public void connected(SessionId id) {
        }

        @Override
        public void disconnected(SessionId id) {
        }

        @Override
        public void retained(Message message) {
        }
    }
}
