package io.sluice.server.broker;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The broker-side state of one client id: its subscriptions and its outbound queue, which outlive a
 * connection when the session is persistent (MQTT clean session false / session expiry > 0).
 * A STOMP connection opens one non-persistent session per SUBSCRIBE, so each subscription has its own
 * prefetch window.
 */
public final class Session {
    private final SessionId id;
    /** {@link SessionId#key()}, kept: No Local compares it with every message's publisher. */
    private final String key;
    private final SubscriberQueue queue;
    /**
     * Made on first use, like {@link #inboundQos2}: most connections of a large fleet sit idle with neither, and
     * the empty maps would cost each of them about 150 bytes. Written under this session's lock, read without.
     */
    private volatile Map<String, Subscription> subscriptions;
    private volatile Set<Integer> inboundQos2;
    private volatile long expiryIntervalSeconds;
    private volatile Will will;
    private volatile int maximumPacketSize;
    private volatile TopicAccess reads;
    private volatile long generation;
    /** Timers of a disconnected session: its delayed will and its expiry; guarded by this session. */
    java.util.concurrent.ScheduledFuture<?> pendingWill;
    java.util.concurrent.ScheduledFuture<?> pendingExpiry;
    /** Kept in the store only for its unacknowledged share of STOMP queues; guarded by this session. */
    boolean keepsShares;
    /**
     * Persistent, and kept by the cluster rather than on this node: its subscriptions and queued messages live in
     * the cluster (which feeds its queue while it is connected here), so it resumes on whichever node its client
     * reaches next. Guarded by this session.
     */
    boolean clusterKept;
    /**
     * Only holds a shared group's messages while no member is connected (a STOMP queue's holder): matched here, not
     * announced to the cluster, so other nodes never send it a share.
     */
    volatile boolean holdsOnly;
    /** Its client connected to another node, which has the session now: its end here ends nothing there. */
    boolean movedAway;

    Session(SessionId id, QueueLimits limits, BrokerStats stats) {
        this.id = id;
        this.key = id.key();
        this.queue = new SubscriberQueue(limits, stats);
    }

    /**
     * A session no broker knows of, for building a {@link TopicTrie} (or a {@link Subscription}) outside a broker:
     * benchmarks and tests of the trie. Sessions of clients come from {@link Broker#connect}.
     */
    public static Session standalone(SessionId id, QueueLimits limits, BrokerStats stats) {
        return new Session(id, limits, stats);
    }

    public SessionId id() {
        return id;
    }

    /** The client's own id, without the namespace: for the client's protocol and for log lines. */
    public String clientId() {
        return id.clientId();
    }

    /** {@link SessionId#key()}: what {@link Message#publisherId()} holds for a message this session published. */
    public String key() {
        return key;
    }

    public SubscriberQueue queue() {
        return queue;
    }

    public boolean isOnline() {
        return queue.isOnline();
    }

    /** 0: ends with the connection; {@link Long#MAX_VALUE}: never expires (MQTT 3.1.1 clean session false). */
    public long expiryIntervalSeconds() {
        return expiryIntervalSeconds;
    }

    public void expiryIntervalSeconds(long seconds) {
        this.expiryIntervalSeconds = seconds;
    }

    public boolean isPersistent() {
        return expiryIntervalSeconds > 0;
    }

    public Will will() {
        return will;
    }

    public void will(Will will) {
        this.will = will;
    }

    /** The client's Maximum Packet Size (MQTT 5), 0 when unlimited. */
    public int maximumPacketSize() {
        return maximumPacketSize;
    }

    public void maximumPacketSize(int bytes) {
        this.maximumPacketSize = bytes;
    }

    /**
     * What the client may read, checked on each delivery and retained message (a subscription to '#' receives
     * only what its client may read); null when it may read everything, so unrestricted clients pay nothing.
     */
    public TopicAccess reads() {
        return reads;
    }

    /** Set at each login: the access of the client now connected to this session. */
    public void reads(TopicAccess access) {
        this.reads = access == TopicAccess.ALL ? null : access;
    }

    /** True when the client may receive a message on this topic. */
    boolean mayRead(String topic) {
        TopicAccess r = reads;
        return r == null || r.mayRead(topic);
    }

    public Collection<Subscription> subscriptions() {
        Map<String, Subscription> m = subscriptions;
        return m == null ? List.of() : m.values();
    }

    Map<String, Subscription> subscriptionMap() {
        Map<String, Subscription> m = subscriptions;
        if (m == null) {
            synchronized (this) {
                m = subscriptions;
                if (m == null) {
                    m = new ConcurrentHashMap<>();
                    subscriptions = m;
                }
            }
        }
        return m;
    }

    /**
     * QoS 2 packet ids received and not yet released (PUBREL): a PUBLISH with one of these ids is a
     * duplicate and is not forwarded again (MQTT 5 section 4.3.3).
     */
    public Set<Integer> inboundQos2() {
        Set<Integer> ids = inboundQos2;
        if (ids == null) {
            synchronized (this) {
                ids = inboundQos2;
                if (ids == null) {
                    ids = ConcurrentHashMap.newKeySet();
                    inboundQos2 = ids;
                }
            }
        }
        return ids;
    }

    /** Record an inbound QoS 2 packet id (and, for a journaled session, write it before PUBREC goes out). */
    public void receivedQos2(int packetId) {
        inboundQos2().add(packetId);
        SessionJournal j = queue.journal();
        if (j != null) {
            j.store().putInboundQos2(key, packetId);
        }
    }

    /** PUBREL (or a refused QoS 2 publish): forget the packet id; false when it was not known. */
    public boolean releaseQos2(int packetId) {
        Set<Integer> ids = inboundQos2;
        boolean known = ids != null && ids.remove(packetId);
        SessionJournal j = queue.journal();
        if (known && j != null) {
            j.store().deleteInboundQos2(key, packetId);
        }
        return known;
    }

    /** Whether the cluster keeps this session (its record and queue in JetStream), not this node. */
    public boolean isClusterKept() {
        return clusterKept;
    }

    /** Whether a store keeps this session (persistent, or holding a STOMP queue's share). */
    public boolean isJournaled() {
        return queue.journal() != null;
    }

    /** Bumped on each new connection, so a stale connection's late close does not end the new one. */
    long generation() {
        return generation;
    }

    long nextGeneration() {
        return ++generation;
    }

    @Override
    public String toString() {
        return "Session[" + key + "]";
    }
}
