package io.sluice.server.broker;

import io.sluice.protocol.topic.TopicFilter;
import io.sluice.server.events.Logs;
import org.slf4j.Logger;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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
    /**
     * Something other than queue entries (a retained or history entry) went to the store: only its write answers the
     * publisher, never the subscribers' acknowledgements.
     */
    private final boolean storedBeyondQueues;
    /**
     * Counts the clients' acknowledgements of this message's reliable deliveries, to answer the publisher when the
     * last comes before the write; null once a delivery went to a session that is offline (its acknowledgement would
     * come too late to matter, and it should not hold on to this publish) or when nothing may answer early.
     */
    private EarlyAnswer early;
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
     * @param answerEarly        the publisher may be answered at its subscribers' acknowledgements, before the commit
     */
    Fanout(Message message, MatchResult match, Consumer<PublishOutcome> done, BrokerConfig config, BrokerStats stats,
           boolean publisherCanRefuse, ScheduledExecutorService timer, MessageStore store, boolean stored,
           boolean answerEarly) {
        this.store = store;
        this.stored = stored;
        this.storedBeyondQueues = stored;
        this.early = answerEarly && !stored && store.isDurable() && message.qos() > 0 ? new EarlyAnswer(done) : null;
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
            // the acknowledgement says the message is safe: only once its payload and entries are written, or for
            // queue entries alone, once every client that owes one has acknowledged the message (a delivered and
            // acknowledged message needs no copy on disk; the store cancels the entries' writes then too)
            if (done instanceof PublishCallback c) {
                c.awaitingStore();
            }
            if (storedBeyondQueues) {
                store.afterWrites(ok -> done.accept(ok ? outcome : outcome.withStoreFailed()));
                return;
            }
            EarlyAnswer e = early;
            if (e == null) {
                store.afterWrites(ok -> done.accept(ok ? outcome : outcome.withStoreFailed()));
            } else if (!e.fanoutDone(outcome)) {
                store.afterWrites(ok -> e.answer(ok ? outcome : outcome.withStoreFailed()));
            }
        } else {
            done.accept(outcome);
        }
    }

    /**
     * Before a reliable delivery is offered to {@code session}'s queue: its client's acknowledgement counts towards
     * answering the publisher early. Every reliable delivery counts, a journaled session's or not, so a session that
     * becomes journaled meanwhile is never left out; one that is not taken is {@link #notTaken}.
     */
    private void counting(Session session, Delivery d) {
        EarlyAnswer e = early;
        if (e == null || d.qos() == 0) {
            return;
        }
        if (!session.isOnline()) {
            early = null; // only the write answers this publish
            return;
        }
        e.unacknowledged.incrementAndGet();
        d.whenAcknowledged(e);
    }

    /** A delivery {@link #counting} counted did not enter the queue: no acknowledgement will come for it. */
    private void notTaken(Delivery d) {
        EarlyAnswer e = early;
        if (e != null && d.qos() > 0) {
            d.whenAcknowledged(null);
            e.unacknowledged.decrementAndGet(); // the fan-out's own count keeps it above zero
        }
    }

    /**
     * The publisher's answer for a publish whose only writes are queue entries: it goes with the group commit that
     * writes them, or as soon as every client the message reached has acknowledged it, whichever comes first. An
     * acknowledged delivery needs no copy on disk (the store cancels its entry's write if it has not made it), so the
     * rule stays: every persistent session's entry is written, or its client has the message and acknowledged it.
     * Small on purpose: a delivery holds it until its client acknowledges.
     */
    private static final class EarlyAnswer implements Runnable {
        /** Deliveries in queues not yet acknowledged, plus one until the fan-out is done. */
        final AtomicInteger unacknowledged = new AtomicInteger(1);
        private final AtomicBoolean answered = new AtomicBoolean();
        /** Dropped once answered, so deliveries acknowledged later do not keep the publisher's connection. */
        private volatile Consumer<PublishOutcome> done;
        /** Set before the fan-out's own count is released, read after the last one (the counter orders the two). */
        private PublishOutcome outcome;

        EarlyAnswer(Consumer<PublishOutcome> done) {
            this.done = done;
        }

        /** The fan-out is done with {@code o}: true when every delivery was already acknowledged and it answered. */
        boolean fanoutDone(PublishOutcome o) {
            outcome = o;
            if (unacknowledged.decrementAndGet() == 0) {
                answer(o);
                return true;
            }
            return false;
        }

        /** A client acknowledged a delivery of this message: the last one answers, if the write has not. */
        @Override
        public void run() {
            if (unacknowledged.decrementAndGet() == 0) {
                answer(outcome);
            }
        }

        void answer(PublishOutcome o) {
            Consumer<PublishOutcome> d = done;
            if (d != null && answered.compareAndSet(false, true)) {
                done = null;
                d.accept(o);
            }
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
            Delivery d = groupDelivery(g, s);
            counting(s.session(), d);
            if (s.session().queue().offer(d, conflate(Math.min(s.options().qos(), message.qos()))) == SubscriberQueue.Offer.ACCEPTED) {
                matched++;
                stored |= s.session().queue().journal() != null;
                return false;
            }
            notTaken(d);
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
            counting(session, d);
            if (q.offer(d, conflate(d.qos())) == SubscriberQueue.Offer.ACCEPTED) {
                matched++;
                stored |= d.qos() > 0 && q.journal() != null;
                return false;
            }
            notTaken(d);
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
