package io.sluice.server.broker;

import io.sluice.protocol.topic.TopicFilter;
import io.sluice.server.events.Logs;
import org.slf4j.Logger;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One publish on its way into every matching queue. It runs until a live subscriber's queue is full, then
 * parks itself as that queue's room waiter and resumes where it stopped when the subscriber catches up:
 * the publisher is told (and, for QoS 1, acknowledged) only when every queue holds the message.
 *
 * <p>A session that is not connected never holds it back by default: at an offline session's full queue the
 * message is dropped for that session alone (counted, logged once per episode, told to the session when it
 * returns; see {@link OfflineQueuePolicy}). Only the opt-in {@link OfflineQueuePolicy#WITHHOLD} parks on such a
 * queue, and then for at most {@link BrokerLimits#offlineWithholdMillis()} in all.
 */
final class Fanout implements Runnable {
    private static final Logger log = Logs.get(Fanout.class);

    private final Message message;
    private final MatchResult match;
    private final Consumer<PublishOutcome> done;
    private final BrokerConfig config;
    private final QueueLimits limits;
    private final BrokerStats stats;
    private final boolean publisherCanRefuse;
    private final ScheduledExecutorService timer;
    private final MessageStore store;
    /** Something of this publish went to the store: the publisher is answered once it is written. */
    private boolean stored;
    private int next;
    private int matched;
    private boolean quotaExceeded;
    private long pausedSince;
    /** The offline queue this publish is withheld for, while it is. */
    private volatile SubscriberQueue withheldOn;
    private ScheduledFuture<?> withholdTimeout;
    /** The withhold bound passed: from now on, offline full queues drop instead of holding. */
    private volatile boolean withholdExpired;

    /**
     * @param publisherCanRefuse the publisher can be told "not accepted" (MQTT 5 0x97, STOMP ERROR)
     * @param timer              runs the withhold bound; null: neither bound nor withholding
     * @param store              where journaled sessions' queues are written
     * @param stored             something of this publish (its retained entry) already went to the store
     */
    Fanout(Message message, MatchResult match, Consumer<PublishOutcome> done, BrokerConfig config, BrokerStats stats,
           boolean publisherCanRefuse, ScheduledExecutorService timer, MessageStore store, boolean stored) {
        this.store = store;
        this.stored = stored;
        this.message = message;
        this.match = match;
        this.done = done;
        this.config = config;
        this.limits = config.queueLimits();
        this.stats = stats;
        this.publisherCanRefuse = publisherCanRefuse;
        this.timer = timer;
    }

    private boolean withholds() {
        return config.offlineQueuePolicy() == OfflineQueuePolicy.WITHHOLD && timer != null;
    }

    /**
     * Start the fan-out. With {@link OfflineQueuePolicy#WITHHOLD}, a publisher that can be told is refused at once
     * when an offline session's queue is full (the message goes nowhere): it is neither held nor does it lose the
     * message silently for that session.
     */
    void start() {
        if (withholds() && publisherCanRefuse && message.qos() > 0 && offlineQueueFull()) {
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
                        overflowed(s, "a publish that matches it is refused (MQTT 5 0x97)");
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** Count a message an offline session missed; the first of an episode is logged, with what to do. */
    private void overflowed(Session s, String consequence) {
        if (s.queue().overflow()) {
            log.warn("session {} is offline with a full queue ({} messages, {} bytes queued): {} until it reconnects; "
                    + "counted in sluice_messages_dropped_total{reason=\"offline_queue_full\"}. Raise --max-queued-messages "
                    + "or --max-queued-bytes if it should hold more, or end the session if it is gone for good",
                    s.id(), s.queue().queuedReliable(), s.queue().queuedBytes(), consequence);
        }
    }

    /** The withhold bound passed: stop waiting for the offline queue and go on, dropping for it. */
    private void withholdExpired() {
        withholdExpired = true;
        SubscriberQueue q = withheldOn;
        if (q != null && q.cancelWait(this)) {
            withheldOn = null;
            run();
        }
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
        if (withholdTimeout != null) {
            withholdTimeout.cancel(false);
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
        Delivery d = deliveryFor(message, t.session, t.subscriptions);
        return d != null && offer(t.session, d, false);
    }

    /**
     * The one delivery of a message to a session for all its matching ordinary subscriptions (MQTT 5 section 3.3.4:
     * the highest QoS, every subscription identifier), null when none of them takes it (No Local, not readable).
     */
    static Delivery deliveryFor(Message message, Session session, Subscription[] subscriptions) {
        int qos = -1;
        boolean retainAsPublished = false;
        int ids = 0;
        Object tag = null;
        if (!session.mayRead(message.topic())) {
            return null;
        }
        boolean own = message.publisherId() != null && message.publisherId().equals(session.key());
        for (Subscription s : subscriptions) {
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
            return null;
        }
        int[] subscriptionIds = Delivery.NO_IDS;
        if (ids > 0) {
            subscriptionIds = new int[ids];
            int i = 0;
            for (Subscription s : subscriptions) {
                if (s.options().subscriptionId() != 0 && !(own && s.options().noLocal())) {
                    subscriptionIds[i++] = s.options().subscriptionId();
                }
            }
        }
        return new Delivery(message, Math.min(qos, message.qos()), retainAsPublished && message.retain(),
                subscriptionIds, tag);
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
                return offer(s.session(), groupDelivery(g, s), true);
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

    /**
     * Into one session's queue; true when it parked itself waiting for room. {@code onlyTaker}: a shared group
     * with no live member, whose message goes nowhere if this session cannot take it (a publisher that can be
     * told is then refused).
     */
    private boolean offer(Session session, Delivery d, boolean onlyTaker) {
        SubscriberQueue q = session.queue();
        while (true) {
            boolean offline = !session.isOnline();
            if (offline && d.qos() > 0 && overTotalBound()) {
                return dropForOffline(session, onlyTaker, "past --max-total-queued-bytes, messages for it are dropped");
            }
            if (q.offer(d, conflate(d.qos())) == SubscriberQueue.Offer.ACCEPTED) {
                matched++;
                stored |= d.qos() > 0 && q.journal() != null;
                return false;
            }
            if (offline && withholds() && !publisherCanRefuse && !withholdExpired) {
                // opt-in: hold the publisher until the session comes back (or ends), within the bound
                withheldOn = q;
                if (q.awaitRoom(this)) {
                    if (withholdTimeout == null) {
                        withholdTimeout = timer.schedule(this::withholdExpired,
                                config.limits().offlineWithholdMillis(), TimeUnit.MILLISECONDS);
                    }
                    return true;
                }
                withheldOn = null;
                continue;
            }
            if (offline) {
                return dropForOffline(session, onlyTaker, withholds()
                        ? "a publish held for it longer than --offline-withhold-timeout is dropped for it"
                        : "messages for it are dropped");
            }
            withheldOn = null;
            if (q.awaitRoom(this)) {
                return true;
            }
        }
    }

    private boolean dropForOffline(Session session, boolean onlyTaker, String consequence) {
        stats.dropped(BrokerStats.Drop.OFFLINE_QUEUE_FULL);
        overflowed(session, consequence);
        if (onlyTaker) {
            quotaExceeded = true;
        }
        return false;
    }

    private boolean overTotalBound() {
        long max = config.limits().maxTotalQueuedBytes();
        return max > 0 && stats.queuedBytes.sum() >= max;
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
