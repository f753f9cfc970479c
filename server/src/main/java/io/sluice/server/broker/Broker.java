package io.sluice.server.broker;

import io.sluice.protocol.topic.TopicFilter;
import io.sluice.server.events.Logs;
import org.slf4j.Logger;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The protocol-neutral core both the MQTT and the STOMP adapters call: sessions, subscriptions on the one
 * {@link TopicTrie}, retained messages, wills, and publishing into bounded subscriber queues.
 *
 * <p>Adapters call it from their connection's event loop. Publishing takes no global lock: the trie match is
 * lock-free (and usually cached), and each subscriber queue has its own small lock.
 */
public final class Broker implements AutoCloseable {
    private static final Logger log = Logs.get(Broker.class);

    private final BrokerConfig config;
    private final MessageHistory history;
    private final TopicTrie trie;
    private final RetainedStore retained;
    private final ConcurrentHashMap<SessionId, Session> sessions = new ConcurrentHashMap<>();
    private final BrokerStats stats = new BrokerStats();
    private final ScheduledExecutorService timer;
    private final MessageStore store;
    private volatile boolean holdingPublishes;
    /** The other nodes of a cluster, {@link ClusterBus#NONE} for a single broker; set before clients connect. */
    private volatile ClusterBus cluster = ClusterBus.NONE;
    /** The retained store is at its bound: logged once, until a retained message fits again. */
    private final java.util.concurrent.atomic.AtomicBoolean retainedFull = new java.util.concurrent.atomic.AtomicBoolean();

    public Broker(BrokerConfig config) {
        this(config, MessageStore.NONE, MessageHistory.NONE);
    }

    /** A broker keeping what must outlive the process in {@code store} ({@link MessageStore#NONE}: nothing). */
    public Broker(BrokerConfig config, MessageStore store) {
        this(config, store, MessageHistory.NONE);
    }

    /** ... and recording published messages in {@code history}, which gives each its position. */
    public Broker(BrokerConfig config, MessageStore store, MessageHistory history) {
        this.config = config;
        this.store = store;
        this.history = history;
        this.retained = new RetainedStore(store);
        retained.bound(config.limits().maxRetainedMessages(), config.limits().maxRetainedBytes());
        this.trie = new TopicTrie(config.matchCacheSize());
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sluice-broker-timer");
            t.setDaemon(true);
            return t;
        });
        if (config.stuckConsumerMillis() > 0) {
            long period = Math.max(100, config.stuckConsumerMillis() / 4);
            timer.scheduleWithFixedDelay(this::closeStuckConsumers, period, period, TimeUnit.MILLISECONDS);
        }
        timer.scheduleWithFixedDelay(this::sweepRetained, RETAINED_SWEEP_MILLIS, RETAINED_SWEEP_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    /** How often expired retained messages are deleted; a publish or subscribe never sees them meanwhile. */
    private static final long RETAINED_SWEEP_MILLIS = 1000;
    /** Expired retained messages deleted per hold of the retained store's lock. */
    private static final int RETAINED_SWEEP_BATCH = 1000;

    /** On the timer thread: delete expired retained messages (memory and store), in batches that publishes interleave. */
    private void sweepRetained() {
        try {
            long now = System.currentTimeMillis();
            while (retained.removeExpired(now, RETAINED_SWEEP_BATCH) == RETAINED_SWEEP_BATCH) {
                Thread.yield();
            }
        } catch (RuntimeException e) {
            // a failed sweep must not end the next ones; expired messages stay invisible meanwhile
            log.warn("deleting expired retained messages failed; retrying in {} ms", RETAINED_SWEEP_MILLIS, e);
        }
    }

    /** A consumer whose window stays full with no acknowledgement holds its publishers back: let it go. */
    private void closeStuckConsumers() {
        long now = System.nanoTime();
        long limit = TimeUnit.MILLISECONDS.toNanos(config.stuckConsumerMillis());
        for (Session s : sessions.values()) {
            if (s.queue().stalledNanos(now) >= limit) {
                DeliverySink sink = s.queue().currentSink();
                if (sink != null) {
                    log.warn("client {} acknowledged nothing for {} ms with its window full: disconnecting it as a "
                            + "stuck consumer", s.id(), config.stuckConsumerMillis());
                    sink.executor().execute(() -> sink.close(CloseReason.STUCK_CONSUMER));
                }
            }
        }
    }

    /**
     * A session bound to one connection; {@code present} is MQTT's Session Present flag; {@code droppedWhileOffline}
     * counts the messages its full queue could not take while it was away (the adapter tells the client).
     */
    public record Connection(Session session, long generation, boolean present, long droppedWhileOffline) {
    }

    /** A new session would pass {@code --max-sessions}. */
    public static final class SessionLimitException extends RuntimeException {
        SessionLimitException(int max) {
            super("session limit reached (" + max + " sessions, setting max-sessions)");
        }
    }

    /**
     * Bind a session id (an adapter's namespace and a client id) to a new connection, on the sink's executor. An existing connection with that id is
     * closed (takeover); {@code cleanStart} discards a previous session (a new one past {@code max-sessions}
     * throws {@link SessionLimitException}, which the adapter answers). {@code expirySeconds} 0 ends the
     * session with the connection. {@code window} is the client's Receive Maximum, 0 for the default.
     */
    public Connection connect(SessionId id, boolean cleanStart, long expirySeconds, int window, DeliverySink sink) {
        while (true) {
            Session existing = sessions.get(id);
            if (existing != null && cleanStart) {
                synchronized (existing) {
                    takeOver(existing);
                    discard(existing);
                }
                continue;
            }
            int maxSessions = config.limits().maxSessions();
            if (existing == null && maxSessions > 0 && sessions.size() >= maxSessions) {
                throw new SessionLimitException(maxSessions);
            }
            Session session = existing != null ? existing
                    : sessions.computeIfAbsent(id, k -> new Session(k, config.queueLimits(), stats));
            synchronized (session) {
                if (sessions.get(id) != session) {
                    continue;
                }
                boolean present = session == existing;
                boolean kept = cluster.keepsSessions(id);
                if (!present && kept) {
                    ClusterBus.KeptSession record = cluster.keptSession(id);
                    if (record != null && cleanStart) {
                        cluster.sessionEnded(id);
                    } else if (record != null) {
                        resumeKept(session, record);
                        present = true;
                    }
                }
                takeOver(session);
                cancelTimers(session);
                session.expiryIntervalSeconds(expirySeconds);
                // a session this node kept in its own store before it joined the cluster stays there
                session.clusterKept |= kept && session.isPersistent() && !session.isJournaled();
                session.movedAway = false;
                journal(session, 0);
                long generation = session.nextGeneration();
                session.queue().attach(sink, window);
                cluster.connected(id);
                if (session.clusterKept) {
                    cluster.sessionOnline(session);
                }
                long dropped = session.queue().takeOverflow();
                if (dropped > 0) {
                    log.info("session {} is back: {} messages were dropped for it while it was offline with a full "
                            + "queue", session.id(), dropped);
                    tellDropped(session, dropped);
                }
                return new Connection(session, generation, present, dropped);
            }
        }
    }

    /**
     * A persistent session the cluster kept, resumed on this node: its subscriptions come back (its ordinary ones
     * are fed by the cluster, not matched here; shared ones join their groups here), its queue follows from the
     * cluster once it is online.
     */
    private void resumeKept(Session s, ClusterBus.KeptSession record) {
        s.clusterKept = true;
        s.expiryIntervalSeconds(record.expirySeconds());
        s.inboundQos2().addAll(record.inboundQos2());
        for (ClusterBus.KeptSubscription k : record.subscriptions()) {
            Subscription sub = new Subscription(s, k.filter(), k.shareGroup(), k.options(), null);
            s.subscriptionMap().put(sub.key(), sub);
            if (matchedHere(sub)) {
                addRoute(sub);
            }
        }
    }

    /**
     * Whether a subscription is matched in this node's trie: all of them, but for a session the cluster keeps only
     * its shared ones (each node balances its members) and its {@code $} ones ($SYS topics are each node's own).
     */
    private static boolean matchedHere(Subscription sub) {
        return !sub.session().clusterKept || sub.isShared() || sub.filter().startsWith("$");
    }

    /**
     * A message the cluster keeps for a session connected here, into its queue as a publish matching its ordinary
     * subscriptions would put it (or, {@code groups} not empty, its shared subscriptions to those groups); {@code settled} runs once it is done with (acknowledged, expired, or not for the
     * session at all), when the cluster may let its copy go. False when the queue is full: then {@code onRoom} runs
     * once it has room, and the caller offers the same message again. A session that has left this node (its
     * connection ended, or another node has it) takes nothing and settles nothing: true, and the cluster's copy stays
     * for its next consumer.
     */
    public boolean deliverKept(Session s, Message m, java.util.Set<String> groups, boolean redelivered, Runnable settled,
                               Runnable onRoom) {
        List<Subscription> matching = new ArrayList<>(2);
        synchronized (s) {
            if (sessions.get(s.id()) != s) {
                // Its feed may still hand it a message in the moment it goes offline. Its subscriptions are cleared
                // by then (dropHere), and "matches none" would settle the message: acknowledged to the cluster and
                // gone, though its publisher was told it is kept.
                return true;
            }
            for (Subscription sub : s.subscriptions()) {
                // a message a shared group gave the session (offline) names the group ("<group>/<filter>") and is
                // for that subscription alone; any other is for its ordinary subscriptions
                boolean forIt = groups.isEmpty() ? !matchedHere(sub)
                        : sub.isShared() && groups.contains(sub.shareGroup() + "/" + sub.filter());
                if (forIt && TopicFilter.matches(sub.filter(), m.topic())) {
                    matching.add(sub);
                }
            }
        }
        Delivery d = matching.isEmpty() ? null
                : Fanout.deliveryFor(m, s, matching.toArray(new Subscription[0]));
        if (d == null) {
            settled.run(); // unsubscribed since, or not to be delivered to it (No Local, not readable)
            return true;
        }
        if (redelivered && d.qos() > 0) {
            d.markDuplicate();
        }
        if (d.qos() > 0) {
            d.whenSettled(settled);
        }
        while (true) {
            if (s.queue().offer(d, false) == SubscriberQueue.Offer.ACCEPTED) {
                if (d.qos() == 0) {
                    settled.run();
                }
                return true;
            }
            if (s.queue().awaitRoom(onRoom)) {
                return false;
            }
        }
    }

    /**
     * The will of a session's connection was set (after {@link #connect}; null: it has none): the cluster records it
     * (a session it keeps has it in its record), so the other nodes publish it if this node dies while the client
     * is connected.
     */
    public void willSet(Session s) {
        if (s.clusterKept) {
            if (s.will() != null) {
                cluster.sessionChanged(s);
            }
        } else {
            cluster.connectionWill(s.id(), s.will(), s.expiryIntervalSeconds());
        }
    }

    /**
     * The QoS 2 packet ids a session received and has not released changed: a session the cluster keeps has them
     * recorded there, so its client can go on with them on another node. Call after {@link Session#receivedQos2}
     * and a {@link Session#releaseQos2} that knew the id.
     */
    public void inboundQos2Changed(Session s) {
        if (s.clusterKept) {
            cluster.sessionChanged(s);
        }
    }

    /**
     * For a session the cluster keeps, run {@code then} once the cluster has written what it was told of the
     * session (PUBREC and PUBCOMP go out only once the packet id's state is recorded) and return true; false (and
     * nothing runs) for any other session.
     */
    public boolean afterKeptWrites(Session s, Runnable then) {
        if (!s.clusterKept) {
            return false;
        }
        cluster.afterSessionWrites(then);
        return true;
    }

    /**
     * Keep the session in the store while it must outlive the process (or hold a STOMP queue's share), stop
     * keeping it when it no longer must. Under the session's lock. The session's record goes first, so a
     * recovery meets it before anything it holds.
     */
    private void journal(Session s, long disconnectedAtMillis) {
        if (!store.isDurable() || s.clusterKept) {
            return; // a session the cluster keeps is stored there
        }
        boolean keep = s.isPersistent() || s.keepsShares;
        if (keep) {
            store.putSession(s.key(), s.isPersistent() ? s.expiryIntervalSeconds() : 0, disconnectedAtMillis);
            if (s.queue().journal() == null) {
                for (Subscription sub : s.subscriptions()) {
                    store.putSubscription(s.key(), sub.filter(), sub.shareGroup(), sub.options());
                }
                for (Integer id : s.inboundQos2()) {
                    store.putInboundQos2(s.key(), id);
                }
                s.queue().journal(new SessionJournal(store, s.key()));
            }
        } else if (s.queue().journal() != null) {
            s.queue().journal(null);
            store.deleteSession(s.key());
        }
    }

    /**
     * A STOMP queue's consumer: its unacknowledged share of the queue is kept in the store, so a restart hands it
     * back to the queue. Call before it subscribes.
     */
    public void keepSharesInStore(Session s) {
        synchronized (s) {
            s.keepsShares = true;
            journal(s, 0);
        }
    }

    /** Where a returning session that subscribed to it learns how many messages it missed (the payload). */
    public static final String DROPPED_TOPIC = "$SYS/sluice/dropped";

    /**
     * A returning session subscribed to {@link #DROPPED_TOPIC} gets the number of messages it missed as its first
     * delivery: QoS 0, so its full queue cannot refuse it, and QoS 0 goes out ahead of the queued backlog.
     */
    private static void tellDropped(Session s, long dropped) {
        for (Subscription sub : s.subscriptions()) {
            if (sub.shareGroup() == null && TopicFilter.matches(sub.filter(), DROPPED_TOPIC)) {
                Message m = Message.builder(DROPPED_TOPIC)
                        .payload(Long.toString(dropped).getBytes(java.nio.charset.StandardCharsets.US_ASCII)).build();
                int[] ids = sub.options().subscriptionId() == 0 ? Delivery.NO_IDS : new int[] {sub.options().subscriptionId()};
                s.queue().offer(new Delivery(m, 0, false, ids, sub.tag()), false);
                return;
            }
        }
    }

    private void takeOver(Session session) {
        if (session.isOnline()) {
            DeliverySink old = session.queue().currentSink();
            session.queue().detach();
            if (old != null) {
                old.executor().execute(() -> old.close(CloseReason.SESSION_TAKEN_OVER));
            }
        }
    }

    /**
     * The connection ended. {@code publishWill}: it ended without a normal DISCONNECT (MQTT), so the will goes
     * out, after its delay if the session outlives the connection. A stale connection (its session since
     * taken over) changes nothing but its own will.
     */
    public void disconnect(Connection c, boolean publishWill) {
        Session s = c.session();
        synchronized (s) {
            if (s.generation() != c.generation() || sessions.get(s.id()) != s) {
                return;
            }
            s.queue().detach();
            cluster.disconnected(s.id());
            Will will = s.will();
            s.will(null);
            Message keptWill = null;
            long keptWillAt = 0;
            if (publishWill && will != null) {
                if (will.delaySeconds() <= 0 || !s.isPersistent()) {
                    Message message = will.message();
                    if (s.clusterKept && !s.movedAway) {
                        // the session's record holds the will: published once the record says the session is
                        // offline, by this node, unless another node that found this node down did so first
                        keptWill = message;
                        keptWillAt = System.currentTimeMillis();
                    } else if (s.clusterKept) {
                        publish(message, outcome -> { }); // taken over by another node: the record is that node's
                    } else {
                        cluster.willDue(s.id(), () -> publish(message, outcome -> { }));
                    }
                } else {
                    long delay = Math.min(will.delaySeconds(), s.expiryIntervalSeconds());
                    long at = System.currentTimeMillis() + delay * 1000;
                    if (!s.clusterKept) {
                        scheduleWill(s, will.message(), at, true);
                    } else if (!s.movedAway) {
                        // timed by the cluster, with the session's record: a connection on any node cancels it
                        keptWill = will.message();
                        keptWillAt = at;
                    }
                    // (moved away: its client is connected on another node already, so a delayed will never goes)
                }
            } else if (will != null && !s.clusterKept) {
                cluster.willDue(s.id(), null); // said goodbye: the cluster's record of its will goes
            }
            if (s.clusterKept && s.movedAway) {
                dropHere(s);
                cluster.sessionLeft(s);
                return;
            }
            if (!s.isPersistent()) {
                discard(s);
                return;
            }
            if (s.clusterKept) {
                // it lives on in the cluster, which expires it; this node forgets it (it may come back elsewhere)
                cluster.sessionOffline(s, System.currentTimeMillis(), keptWill, keptWillAt);
                dropHere(s);
                return;
            }
            journal(s, System.currentTimeMillis());
            if (s.expiryIntervalSeconds() != Long.MAX_VALUE) {
                s.pendingExpiry = timer.schedule(() -> expire(s, c.generation()), s.expiryIntervalSeconds(),
                        TimeUnit.SECONDS);
            }
        }
    }

    /** A will waiting for its delay: kept in the store, so a restart publishes it on time. Under the session's lock. */
    private void scheduleWill(Session s, Message will, long publishAtMillis, boolean write) {
        if (write && s.isJournaled()) {
            store.putWill(s.key(), will, publishAtMillis);
        }
        long delay = Math.max(0, publishAtMillis - System.currentTimeMillis());
        s.pendingWill = timer.schedule(() -> {
            synchronized (s) {
                if (s.isJournaled()) {
                    store.deleteWill(s.key());
                }
                s.pendingWill = null;
            }
            cluster.willDue(s.id(), () -> publish(will, outcome -> { }));
        }, delay, TimeUnit.MILLISECONDS);
    }

    private void expire(Session s, long generation) {
        synchronized (s) {
            if (s.generation() == generation && !s.isOnline()) {
                log.info("session {} expired after {} s offline", s.id(), s.expiryIntervalSeconds());
                discard(s);
            }
        }
    }

    private void cancelTimers(Session s) {
        if (s.pendingWill != null) {
            s.pendingWill.cancel(false);
            s.pendingWill = null;
            if (s.isJournaled()) {
                store.deleteWill(s.key());
            }
        }
        if (s.pendingExpiry != null) {
            s.pendingExpiry.cancel(false);
            s.pendingExpiry = null;
        }
    }

    /**
     * Forget a session the cluster keeps without ending it there: what its queue holds stays unacknowledged in the
     * cluster and comes back wherever it resumes; its share of shared groups goes to other members.
     */
    private void dropHere(Session s) {
        sessions.remove(s.id(), s);
        s.queue().takeOverflow();
        for (Subscription sub : new ArrayList<>(s.subscriptions())) {
            if (matchedHere(sub)) {
                removeRoute(sub);
            }
        }
        s.subscriptionMap().clear();
        s.queue().detach();
        for (Delivery d : s.queue().takeUnacknowledged()) {
            if (d.group() != null) {
                toGroupAnywhere(d, () -> { });
            }
        }
    }

    /** Remove the session and its subscriptions; a shared group's unacknowledged share goes to other members. */
    private void discard(Session s) {
        sessions.remove(s.id(), s);
        s.queue().takeOverflow();
        cancelTimers(s);
        if (s.clusterKept) {
            cluster.sessionEnded(s.id());
            for (Subscription sub : new ArrayList<>(s.subscriptions())) {
                if (matchedHere(sub)) {
                    removeRoute(sub);
                }
            }
            s.subscriptionMap().clear();
        }
        for (Subscription sub : new ArrayList<>(s.subscriptions())) {
            removeRoute(sub);
        }
        s.subscriptionMap().clear();
        s.queue().detach();
        List<Delivery> unacknowledged = s.queue().takeUnacknowledged();
        for (Delivery d : unacknowledged) {
            if (d.group() != null) {
                toGroupAnywhere(d, () -> { });
            }
        }
        if (s.isJournaled()) {
            s.queue().forget(unacknowledged);
            s.queue().journal(null);
            store.deleteSession(s.key());
        }
    }

    /** To the group again, here. */
    private void toGroupHere(Delivery d) {
        MatchResult only = new MatchResult(new Target[0], new SharedGroup[] {d.group()}, 0);
        new Fanout(d.message(), only, outcome -> { }, config, stats, false, null, store, false, false).run();
    }

    /**
     * To the group again, anywhere in the cluster: to the node that serves it now (this one included), or, when no
     * node has a member, to an offline session the cluster keeps; {@code taken} runs once it is safe there (and the
     * store may let its copy here go). One the cluster could not take goes to the group here.
     */
    private void toGroupAnywhere(Delivery d, Runnable taken) {
        MatchResult only = new MatchResult(new Target[0], new SharedGroup[] {d.group()}, 0);
        MatchResult here = cluster.routeToGroup(d.message(), only, (nodes, accepted) -> {
            if (!accepted) {
                toGroupHere(d);
            }
            taken.run();
        });
        if (!here.isEmpty()) {
            new Fanout(d.message(), here, outcome -> { }, config, stats, false, null, store, false, false).run();
        }
    }

    /**
     * Give what an offline session holds for its shared groups back to the groups, whose online members take it
     * first; what it holds for ordinary subscriptions stays queued, in order. A STOMP queue parks its messages
     * in such a session while it has no consumer; a consumer arriving takes them over this way.
     */
    public void handOverGroupShare(Session s) {
        if (s.isOnline()) {
            return;
        }
        List<Delivery> taken = s.queue().takeUnacknowledged();
        for (Delivery d : taken) {
            if (d.group() != null) {
                toGroupHere(d);
            } else {
                s.queue().offer(new Delivery(d.message(), d.qos(), d.retainFlag(), d.subscriptionIds(), d.tag()), false);
            }
        }
        s.queue().forget(taken);
    }

    /** Subscribe (or replace the options of) one filter; retained messages are queued as Retain Handling says. */
    public boolean subscribe(Session s, String filter, String shareGroup, SubscriptionOptions options, Object tag) {
        Subscription sub = new Subscription(s, filter, shareGroup, options, tag);
        Subscription previous = s.subscriptionMap().put(sub.key(), sub);
        if (matchedHere(sub)) {
            addRoute(sub);
        }
        if (s.clusterKept) {
            cluster.sessionChanged(s);
        }
        if (s.isJournaled()) {
            store.putSubscription(s.key(), filter, shareGroup, options);
        }
        boolean sendRetained = shareGroup == null
                && (options.retainHandling() == 0 || (options.retainHandling() == 1 && previous == null));
        if (sendRetained) {
            for (Message m : retained.match(filter)) {
                if ((options.noLocal() && s.key().equals(m.publisherId())) || !s.mayRead(m.topic())) {
                    continue;
                }
                int[] ids = options.subscriptionId() == 0 ? Delivery.NO_IDS : new int[] {options.subscriptionId()};
                Delivery d = new Delivery(m, Math.min(m.qos(), options.qos()), true, ids, tag);
                if (s.queue().offerBacklog(d) == SubscriberQueue.Offer.FULL) {
                    stats.dropped(BrokerStats.Drop.RETAINED_QUEUE_FULL);
                }
            }
        }
        return previous == null;
    }

    /** Remove the subscription the client wrote as {@code key} (the filter, or $share/GROUP/filter). */
    public boolean unsubscribe(Session s, String key) {
        Subscription sub = s.subscriptionMap().remove(key);
        if (sub == null) {
            return false;
        }
        if (matchedHere(sub)) {
            removeRoute(sub);
        }
        if (s.clusterKept) {
            cluster.sessionChanged(s);
        }
        if (s.isJournaled()) {
            store.deleteSubscription(s.key(), key);
        }
        return true;
    }

    /**
     * Publish into every matching queue. {@code done} runs once every queue holds the message: at once when
     * none is full, later (on the thread of the subscriber that made room) when one was. Until then the
     * publisher must withhold its acknowledgement and stop reading.
     */
    public void publish(Message m, Consumer<PublishOutcome> done) {
        publish(m, false, done);
    }

    /**
     * As {@link #publish(Message, Consumer)}, for a publisher that {@code canRefuse}: it can tell its client the
     * message was not accepted (MQTT 5 PUBACK 0x97, a STOMP ERROR). When a matching offline session's queue is
     * full, such a publish goes nowhere and {@code done} gets {@link PublishOutcome#quotaExceeded()}; other
     * publishes follow the configured {@link OfflineQueuePolicy}.
     */
    public void publish(Message m, boolean canRefuse, Consumer<PublishOutcome> done) {
        publish(m, canRefuse, done, false);
    }

    /**
     * A message another node of the cluster routed here: into the local queues only (it is never routed again),
     * and not kept as retained (retained messages reach every node through the cluster's own copy).
     */
    public void publishFromCluster(Message m, Consumer<PublishOutcome> done) {
        publishFromCluster(m, java.util.Set.of(), done);
    }

    /**
     * ... serving the shared groups named in {@code groups} ({@code <group>/<filter>}): the node that published it
     * chose this one for them. Other groups here are served by their own node's choice.
     */
    public void publishFromCluster(Message m, java.util.Set<String> groups, Consumer<PublishOutcome> done) {
        publish(m, false, done, groups);
    }

    private void publish(Message m, boolean canRefuse, Consumer<PublishOutcome> done, boolean fromCluster) {
        publish(m, canRefuse, done, fromCluster ? java.util.Set.of() : null);
    }

    /** {@code servedGroups} null: a publish made here; otherwise one from another node, with the groups it serves. */
    private void publish(Message m, boolean canRefuse, Consumer<PublishOutcome> done, java.util.Set<String> servedGroups) {
        boolean fromCluster = servedGroups != null;
        if (holdingPublishes) {
            // shutting down: never answered, so the publisher keeps the message and sends it again elsewhere
            stats.heldAtShutdown.increment();
            return;
        }
        if (m.qos() > 0 && store.isDurable() && !store.isWritable()) {
            // not safe: refused at once rather than acknowledged or held (the store logged why)
            done.accept(PublishOutcome.STORE_FAILED);
            return;
        }
        boolean keep = m.retain() && !fromCluster;
        if (keep && !retained.fits(m)) {
            keep = false;
            stats.retainedRefused.increment();
            if (retainedFull.compareAndSet(false, true)) {
                log.warn("retained messages are at their bound ({} messages, {} bytes): a new or larger retained "
                        + "message is not kept (MQTT 5 QoS 1/2: refused with 0x97; otherwise delivered, not retained) "
                        + "until some are cleared; counted in sluice_retained_refused_total. Raise --max-retained-messages "
                        + "or --max-retained-bytes if this is expected", retained.size(), retained.bytes());
            }
            if (canRefuse && m.qos() > 0) {
                done.accept(new PublishOutcome(0, true));
                return;
            }
        } else if (keep && retainedFull.get()) {
            retainedFull.set(false);
        }
        stats.published(m);
        // $SYS topics are each node's own
        boolean routed = !fromCluster && cluster != ClusterBus.NONE && !m.topic().startsWith("$SYS/");
        // recorded before the trie match: a reader subscribing concurrently finds it either live or in the history
        m.position(history.append(m));
        boolean stored = keep && retained.accept(m);
        // a durable history wrote it too: an acknowledgement waits for that write as for a retained or queued one
        stored |= m.position() != 0 && store.isDurable() && history.writesThrough();
        if (keep && !m.topic().startsWith("$SYS/")) {
            // $SYS topics are each node's own: retained cluster-wide, another node's values would replace them
            cluster.retained(m);
        }
        MatchResult match = trie.match(m.topic());
        Consumer<PublishOutcome> answer = done;
        // the other nodes get it through the cluster; shared groups served elsewhere leave the local match
        if (routed) {
            RoutedPublish r = route(m, match, canRefuse, done);
            answer = r.done();
            match = r.local();
        }
        if (fromCluster && servedGroups.contains(ClusterBus.GROUPS_ONLY)) {
            match = match.groupsOnly(); // handed on to a group: its ordinary subscribers had it already
        }
        if (fromCluster && match.groupCount() > 0) {
            MatchResult all = match;
            match = all.withGroups(i -> servedGroups.contains(all.group(i).name() + "/" + all.group(i).filter()));
        }
        Consumer<PublishOutcome> answered = answer;
        if (match.isEmpty()) {
            PublishOutcome none = new PublishOutcome(0, false);
            if (stored && m.qos() > 0) {
                if (answered instanceof PublishCallback c) {
                    c.awaitingStore();
                }
                store.afterWrites(ok -> answered.accept(ok ? none : PublishOutcome.STORE_FAILED));
            } else {
                answer.accept(none);
            }
            return;
        }
        // a single broker answers a publisher at its subscribers' acknowledgements when they come before the commit; a
        // cluster node answers once the commit and the other nodes hold it, as its windows to them are paced by that
        new Fanout(m, match, answer, config, stats, canRefuse, timer, store, stored, cluster == ClusterBus.NONE).start();
    }

    /**
     * Hand a local publish to the cluster; returns the {@code done} the local fan-out must call: the publisher's own
     * when nothing waits for other nodes, otherwise one that answers once both the local queues and every other
     * matching node hold the message.
     */
    private RoutedPublish route(Message m, MatchResult local, boolean canRefuse, Consumer<PublishOutcome> done) {
        if (m.qos() == 0) {
            return new RoutedPublish(cluster.route(m, local, canRefuse, (nodes, accepted) -> { }), done);
        }
        ClusterPublish join = new ClusterPublish(done);
        MatchResult here = cluster.route(m, local, canRefuse, join);
        return new RoutedPublish(here, join.isLocalOnly() ? done : join);
    }

    /** What the local fan-out of a routed publish delivers, and whom it answers. */
    private record RoutedPublish(MatchResult local, Consumer<PublishOutcome> done) {
    }

    /** Add a subscription to the trie; the cluster hears of each one (it counts them per filter). */
    private void addRoute(Subscription sub) {
        if (trie.add(sub) && !sub.session().holdsOnly) {
            cluster.subscribed(sub.key());
        }
    }

    private void removeRoute(Subscription sub) {
        if (trie.remove(sub) && !sub.session().holdsOnly) {
            cluster.unsubscribed(sub.key());
        }
    }

    /**
     * Mark a session that only holds a shared group's messages while none of its members is connected (a STOMP
     * queue's holder): before it subscribes. Other nodes never send it a share; they send to connected members.
     */
    public void holdsOnly(Session s) {
        s.holdsOnly = true;
        holders.add(s);
    }

    /** The sessions that only hold shared groups' messages (STOMP queues' holders), at most one per queue. */
    private final java.util.Set<Session> holders = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * Another node of the cluster has a member of that shared group now: what a holder here kept for the group while
     * the cluster had no member goes to the group again, through the cluster, so a consumer on another node gets it
     * (a STOMP queue's messages do not wait for a consumer on the node they were sent to). Each one leaves the
     * holder's store once the cluster took it; one the cluster could not take goes back to the group here.
     */
    public void groupMemberElsewhere(String group, String filter) {
        String key = "$share/" + group + "/" + filter;
        for (Session s : holders) {
            if (s.isOnline() || !s.subscriptionMap().containsKey(key)) {
                continue;
            }
            List<Delivery> taken = s.queue().takeUnacknowledged();
            List<Delivery> kept = new ArrayList<>();
            for (Delivery d : taken) {
                if (d.group() == null || !d.group().name().equals(group) || !d.group().filter().equals(filter)) {
                    s.queue().offer(new Delivery(d.message(), d.qos(), d.retainFlag(), d.subscriptionIds(), d.tag())
                            .viaGroup(d.group()), false);
                    kept.add(d);
                    continue;
                }
                // the group stays here when no other node serves it after all (its member left meanwhile)
                toGroupAnywhere(d, () -> s.queue().forget(List.of(d)));
            }
            s.queue().forget(kept);
        }
    }

    /** Join this broker to a cluster; before {@link #recover()} and before any client connects. */
    public void cluster(ClusterBus bus) {
        this.cluster = bus;
    }

    /**
     * The client of that id connected to another node of the cluster: its connection here ends as in a takeover on
     * this node (MQTT 5 DISCONNECT 0x8E), its will goes out here. False when it has no connection here.
     */
    public boolean takenOverElsewhere(SessionId id) {
        Session s = sessions.get(id);
        if (s == null) {
            return false;
        }
        synchronized (s) {
            if (!s.isOnline()) {
                return false;
            }
            s.movedAway = true;
            takeOver(s);
            return true;
        }
    }

    /** Another node changed a topic's retained message (an empty payload clears it): keep the same here. */
    public void retainedFromCluster(Message m) {
        retained.accept(m);
    }

    /**
     * Read the store back: sessions with their subscriptions, queues (in-flight deliveries back in the window, to
     * be resent with DUP), inbound QoS 2 ids and timers, and retained messages. Before any client connects.
     * Sessions whose expiry passed while the broker was down are deleted (their wills published); the share of a
     * STOMP queue a consumer held goes back to the queue.
     */
    public void recover() {
        if (!store.isDurable()) {
            return;
        }
        // the store keys a session by SessionId.key()
        java.util.Map<String, Session> byKey = new java.util.HashMap<>();
        java.util.Map<String, Long> offlineSince = new java.util.LinkedHashMap<>();
        java.util.Set<String> wasOnline = new java.util.HashSet<>();
        List<Object[]> wills = new ArrayList<>();
        store.recover(new MessageStore.Recovery() {
            @Override
            public boolean retained(Message message) {
                return retained.restore(message);
            }

            @Override
            public void session(String id, long expiry, long disconnectedAtMillis, boolean onlineAtStop) {
                if (onlineAtStop) {
                    wasOnline.add(id);
                }
                Session s = new Session(SessionId.parse(id), config.queueLimits(), stats);
                s.expiryIntervalSeconds(expiry);
                s.keepsShares = expiry == 0;
                s.queue().journal(new SessionJournal(store, id));
                sessions.put(s.id(), s);
                byKey.put(id, s);
                offlineSince.put(id, disconnectedAtMillis);
            }

            @Override
            public void subscription(String id, String filter, String shareGroup, SubscriptionOptions options) {
                Session s = byKey.get(id);
                Subscription sub = new Subscription(s, filter, shareGroup, options, null);
                s.subscriptionMap().put(sub.key(), sub);
                addRoute(sub);
            }

            @Override
            public void queued(String id, long seq, Message m, int qos, boolean retainFlag, int[] ids, int packetId,
                               boolean released, String groupKey) {
                Session s = byKey.get(id);
                Delivery d = new Delivery(m, qos, retainFlag, ids, null);
                if (wasOnline.contains(id)) {
                    // a QoS 1 delivery may have left without its packet id written (it does not wait for that):
                    // what a connected session held goes out again marked as a possible repeat
                    d.markDuplicate();
                }
                if (groupKey != null) {
                    Subscription sub = s.subscriptionMap().get(groupKey);
                    if (sub != null) {
                        d.viaGroup(trie.group(sub.filter(), sub.shareGroup()));
                    }
                }
                s.queue().restore(d, seq, packetId, released);
            }

            @Override
            public void inboundQos2(String id, int packetId) {
                byKey.get(id).inboundQos2().add(packetId);
            }

            @Override
            public void will(String id, Message will, long publishAtMillis) {
                wills.add(new Object[] {id, will, publishAtMillis});
            }

            @Override
            public MessageStore.HistoryRecovery history() {
                return history.recovery();
            }
        });
        // before any publish below: a will takes a position above every recovered one
        history.recovered();
        long now = System.currentTimeMillis();
        for (java.util.Map.Entry<String, Long> e : offlineSince.entrySet()) {
            Session s = byKey.get(e.getKey());
            synchronized (s) {
                if (s.keepsShares) {
                    // a STOMP queue consumer's share: back to its queue
                    discard(s);
                    continue;
                }
                long expiry = s.expiryIntervalSeconds();
                if (expiry == Long.MAX_VALUE) {
                    continue;
                }
                long left = expiry * 1000 - (now - e.getValue());
                if (left <= 0) {
                    log.info("session {} expired while the broker was down ({} s offline, expiry {} s)", s.id(),
                            (now - e.getValue()) / 1000, expiry);
                    discard(s);
                } else {
                    s.pendingExpiry = timer.schedule(() -> expire(s, 0), left, TimeUnit.MILLISECONDS);
                }
            }
        }
        for (Object[] w : wills) {
            Session s = byKey.get((String) w[0]);
            if (s == null || sessions.get(s.id()) != s) {
                // its session ended while the broker was down, which is when a will goes out at the latest
                publish((Message) w[1], outcome -> { });
                continue;
            }
            synchronized (s) {
                scheduleWill(s, (Message) w[1], (Long) w[2], false);
            }
        }
    }

    /**
     * Whether a QoS 1 publish to {@code topic} would wait for room now: a matching online session's queue is full.
     * Publishers that can say "later" without queueing anything (HTTP 503) ask first; the answer may be stale by
     * the time they publish, so they must still cope with waiting.
     */
    public boolean wouldWait(String topic) {
        MatchResult match = trie.match(topic);
        for (Target t : match.targets) {
            if (t.session.isOnline() && !t.session.queue().hasRoomNow()) {
                for (Subscription sub : t.subscriptions) {
                    if (sub.options().qos() > 0) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    public MessageHistory history() {
        return history;
    }

    /** The session of that id, or null. */
    public Session session(SessionId id) {
        return sessions.get(id);
    }

    public Collection<Session> sessions() {
        return sessions.values();
    }

    public TopicTrie trie() {
        return trie;
    }

    public RetainedStore retained() {
        return retained;
    }

    public BrokerStats stats() {
        return stats;
    }

    public MessageStore store() {
        return store;
    }

    public BrokerConfig config() {
        return config;
    }

    /**
     * Shutdown's first step: from now on {@link #publish} neither queues nor answers, as if every queue were
     * full. Publishers get no acknowledgement and stop, so what is already queued can drain; a will is not
     * published either.
     */
    public void holdPublishes() {
        holdingPublishes = true;
    }

    public boolean isHoldingPublishes() {
        return holdingPublishes;
    }

    /** Close the live connection of one session (an administrator's disconnect); false when it has none. */
    public boolean closeConnection(Session session, CloseReason reason) {
        DeliverySink sink = session.queue().currentSink();
        if (sink == null) {
            return false;
        }
        sink.executor().execute(() -> sink.close(reason));
        return true;
    }

    /** Close every live connection with the reason (shutdown, for one); sessions stay as their expiry says. */
    public void closeAll(CloseReason reason) {
        List<DeliverySink> sinks = new ArrayList<>();
        for (Session s : sessions.values()) {
            DeliverySink sink = s.queue().currentSink();
            if (sink != null) {
                sinks.add(sink);
            }
        }
        for (DeliverySink sink : sinks) {
            sink.executor().execute(() -> sink.close(reason));
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
