package io.sluice.server.broker;

import io.sluice.protocol.topic.TopicFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Consumer;

/**
 * One publish on its way into every matching queue. It runs until a live subscriber's queue is full, then
 * parks itself as that queue's room waiter and resumes where it stopped when the subscriber catches up:
 * the publisher is told (and, for QoS 1, acknowledged) only when every queue holds the message.
 */
final class Fanout implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(Fanout.class);

    private final Message message;
    private final MatchResult match;
    private final Consumer<PublishOutcome> done;
    private final QueueLimits limits;
    private final BrokerStats stats;
    private final boolean publisherCanRefuse;
    private final OfflineQueuePolicy offlinePolicy;
    private final MessageStore store;
    /** Something of this publish went to the store: the publisher is answered once it is written. */
    private boolean stored;
    private int next;
    private int matched;
    private boolean quotaExceeded;
    private long pausedSince;

    Fanout(Message message, MatchResult match, Consumer<PublishOutcome> done, QueueLimits limits, BrokerStats stats) {
        this(message, match, done, limits, stats, false, OfflineQueuePolicy.DROP, MessageStore.NONE, false);
    }

    /**
     * @param publisherCanRefuse the publisher can be told "not accepted" (MQTT 5 0x97, STOMP ERROR): refuse the
     *                           whole publish up front when an offline session's queue is full
     * @param offlinePolicy      otherwise, what to do at an offline session's full queue
     * @param store              where journaled sessions' queues are written
     * @param stored             something of this publish (its retained entry) already went to the store
     */
    Fanout(Message message, MatchResult match, Consumer<PublishOutcome> done, QueueLimits limits, BrokerStats stats,
           boolean publisherCanRefuse, OfflineQueuePolicy offlinePolicy, MessageStore store, boolean stored) {
        this.store = store;
        this.stored = stored;
        this.message = message;
        this.match = match;
        this.done = done;
        this.limits = limits;
        this.stats = stats;
        this.publisherCanRefuse = publisherCanRefuse;
        this.offlinePolicy = offlinePolicy;
    }

    /** Start the fan-out: refused at once when the publisher can be told and an offline queue is full. */
    void start() {
        if (publisherCanRefuse && message.qos() > 0 && offlineQueueFull()) {
            stats.dropped(BrokerStats.Drop.OFFLINE_QUEUE_FULL);
            done.accept(new PublishOutcome(0, true));
            return;
        }
        run();
    }

    private boolean offlineQueueFull() {
        for (Target t : match.targets) {
            Session s = t.session;
            if (!s.isOnline() && !s.queue().hasRoomNow()) {
                for (Subscription sub : t.subscriptions) {
                    if (sub.options().qos() > 0) {
                        log.warn("queue full for offline session {}: QoS {} message on {} refused", s.clientId(),
                                message.qos(), message.topic());
                        return true;
                    }
                }
            }
        }
        return false;
    }

    @Override
    public void run() {
        int targets = match.targets.length;
        int total = targets + match.groups.length;
        while (next < total) {
            boolean waiting = next < targets ? toSession(match.targets[next]) : toGroup(match.groups[next - targets]);
            if (waiting) {
                if (pausedSince == 0) {
                    pausedSince = System.nanoTime();
                    stats.backpressurePauses.increment();
                }
                return;
            }
            next++;
        }
        if (pausedSince != 0) {
            stats.backpressurePausedNanos.add(System.nanoTime() - pausedSince);
        }
        PublishOutcome outcome = new PublishOutcome(matched, quotaExceeded);
        if (stored && message.qos() > 0) {
            // the acknowledgement says the message is safe: only once its payload and entries are written
            if (done instanceof PublishCallback c) {
                c.awaitingStore();
            }
            store.afterWrites(ok -> done.accept(ok ? outcome : outcome.withStoreFailed()));
        } else {
            done.accept(outcome);
        }
    }

    /** True when it parked itself waiting for room in this session's queue. */
    private boolean toSession(Target t) {
        int qos = -1;
        boolean retainAsPublished = false;
        int ids = 0;
        Object tag = null;
        if (!t.session.mayRead(message.topic())) {
            return false;
        }
        boolean own = message.publisherId() != null && message.publisherId().equals(t.session.key());
        for (Subscription s : t.subscriptions) {
            if (own && s.options().noLocal()) {
                continue;
            }
            qos = Math.max(qos, s.options().qos());
            retainAsPublished |= s.options().retainAsPublished();
            if (s.options().subscriptionId() != 0) {
                ids++;
            }
            tag = s.tag();
        }
        if (qos < 0) {
            return false;
        }
        int[] subscriptionIds = Delivery.NO_IDS;
        if (ids > 0) {
            subscriptionIds = new int[ids];
            int i = 0;
            for (Subscription s : t.subscriptions) {
                if (s.options().subscriptionId() != 0 && !(own && s.options().noLocal())) {
                    subscriptionIds[i++] = s.options().subscriptionId();
                }
            }
        }
        Delivery d = new Delivery(message, Math.min(qos, message.qos()), retainAsPublished && message.retain(),
                subscriptionIds, tag);
        return offer(t.session, d);
    }

    private boolean toGroup(SharedGroup g) {
        Subscription[] members = g.members();
        if (members.length == 0) {
            return false;
        }
        int start = g.nextStart(members.length);
        Subscription firstOnline = null;
        for (int i = 0; i < members.length; i++) {
            Subscription s = members[(start + i) % members.length];
            if (!s.session().isOnline() || !s.session().mayRead(message.topic())) {
                continue;
            }
            if (firstOnline == null) {
                firstOnline = s;
            }
            if (s.session().queue().offer(groupDelivery(g, s), conflate(Math.min(s.options().qos(), message.qos()))) == SubscriberQueue.Offer.ACCEPTED) {
                matched++;
                stored |= s.session().queue().journal() != null;
                return false;
            }
        }
        if (firstOnline != null) {
            // every live member is full: wait for the first; if it frees up later, any member may take it
            if (firstOnline.session().queue().awaitRoom(this)) {
                return true;
            }
            return toGroup(g);
        }
        for (int i = 0; i < members.length; i++) {
            Subscription s = members[(start + i) % members.length];
            if (s.session().mayRead(message.topic())) {
                return offer(s.session(), groupDelivery(g, s));
            }
        }
        return false;
    }

    private Delivery groupDelivery(SharedGroup g, Subscription s) {
        return new Delivery(message, Math.min(s.options().qos(), message.qos()),
                s.options().retainAsPublished() && message.retain(),
                s.options().subscriptionId() == 0 ? Delivery.NO_IDS : new int[] {s.options().subscriptionId()},
                s.tag()).viaGroup(g);
    }

    private boolean offer(Session session, Delivery d) {
        SubscriberQueue q = session.queue();
        while (true) {
            if (q.offer(d, conflate(d.qos())) == SubscriberQueue.Offer.ACCEPTED) {
                matched++;
                stored |= d.qos() > 0 && q.journal() != null;
                return false;
            }
            if (!session.isOnline() && !publisherCanRefuse && offlinePolicy == OfflineQueuePolicy.WITHHOLD) {
                // lossless: wait for the session to come back (or end); its reconnect drains and makes room
                if (q.awaitRoom(this)) {
                    return true;
                }
                continue;
            }
            if (!session.isOnline()) {
                // DROP, or a refusable publisher that lost the race with another publisher for the last place
                quotaExceeded = true;
                stats.dropped(BrokerStats.Drop.OFFLINE_QUEUE_FULL);
                log.warn("queue full for offline session {}: QoS {} message on {} not queued for it",
                        session.clientId(), d.qos(), message.topic());
                return false;
            }
            if (q.awaitRoom(this)) {
                return true;
            }
        }
    }

    private boolean conflate(int deliveryQos) {
        if (deliveryQos != 0 || limits.conflateFilters().isEmpty()) {
            return false;
        }
        for (String f : limits.conflateFilters()) {
            if (TopicFilter.matches(f, message.topic())) {
                return true;
            }
        }
        return false;
    }
}
