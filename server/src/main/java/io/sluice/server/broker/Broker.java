package io.sluice.server.broker;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
    private static final Logger log = LoggerFactory.getLogger(Broker.class);

    private final BrokerConfig config;
    private final MessageHistory history;
    private final TopicTrie trie;
    private final RetainedStore retained = new RetainedStore();
    private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
    private final BrokerStats stats = new BrokerStats();
    private final ScheduledExecutorService timer;
    private final MessageStore store;
    private volatile boolean holdingPublishes;

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
                            + "stuck consumer", s.clientId(), config.stuckConsumerMillis());
                    sink.executor().execute(() -> sink.close(CloseReason.STUCK_CONSUMER));
                }
            }
        }
    }

    /** A session bound to one connection; {@code present} is MQTT's Session Present flag. */
    public record Connection(Session session, long generation, boolean present) {
    }

    /**
     * Bind a client id to a new connection, on the sink's executor. An existing connection with that id is
     * closed (takeover); {@code cleanStart} discards a previous session. {@code expirySeconds} 0 ends the
     * session with the connection. {@code window} is the client's Receive Maximum, 0 for the default.
     */
    public Connection connect(String clientId, boolean cleanStart, long expirySeconds, int window, DeliverySink sink) {
        while (true) {
            Session existing = sessions.get(clientId);
            if (existing != null && cleanStart) {
                synchronized (existing) {
                    takeOver(existing);
                    discard(existing);
                }
                continue;
            }
            Session session = existing != null ? existing
                    : sessions.computeIfAbsent(clientId, id -> new Session(id, config.queueLimits(), stats));
            synchronized (session) {
                if (sessions.get(clientId) != session) {
                    continue;
                }
                boolean present = session == existing;
                takeOver(session);
                cancelTimers(session);
                session.expiryIntervalSeconds(expirySeconds);
                long generation = session.nextGeneration();
                session.queue().attach(sink, window);
                return new Connection(session, generation, present);
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
            if (s.generation() != c.generation() || sessions.get(s.clientId()) != s) {
                return;
            }
            s.queue().detach();
            Will will = s.will();
            s.will(null);
            if (publishWill && will != null) {
                if (will.delaySeconds() <= 0 || !s.isPersistent()) {
                    publish(will.message(), outcome -> { });
                } else {
                    long delay = Math.min(will.delaySeconds(), s.expiryIntervalSeconds());
                    s.pendingWill = timer.schedule(() -> publish(will.message(), outcome -> { }), delay,
                            TimeUnit.SECONDS);
                }
            }
            if (!s.isPersistent()) {
                discard(s);
            } else if (s.expiryIntervalSeconds() != Long.MAX_VALUE) {
                s.pendingExpiry = timer.schedule(() -> expire(s, c.generation()), s.expiryIntervalSeconds(),
                        TimeUnit.SECONDS);
            }
        }
    }

    private void expire(Session s, long generation) {
        synchronized (s) {
            if (s.generation() == generation && !s.isOnline()) {
                log.info("session {} expired after {} s offline", s.clientId(), s.expiryIntervalSeconds());
                discard(s);
            }
        }
    }

    private void cancelTimers(Session s) {
        if (s.pendingWill != null) {
            s.pendingWill.cancel(false);
            s.pendingWill = null;
        }
        if (s.pendingExpiry != null) {
            s.pendingExpiry.cancel(false);
            s.pendingExpiry = null;
        }
    }

    /** Remove the session and its subscriptions; a shared group's unacknowledged share goes to other members. */
    private void discard(Session s) {
        sessions.remove(s.clientId(), s);
        cancelTimers(s);
        for (Subscription sub : new ArrayList<>(s.subscriptions())) {
            trie.remove(sub);
        }
        s.subscriptionMap().clear();
        s.queue().detach();
        for (Delivery d : s.queue().takeUnacknowledged()) {
            if (d.group() != null) {
                toGroupAgain(d);
            }
        }
    }

    private void toGroupAgain(Delivery d) {
        MatchResult only = new MatchResult(new Target[0], new SharedGroup[] {d.group()}, 0);
        new Fanout(d.message(), only, outcome -> { }, config.queueLimits(), stats).run();
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
        for (Delivery d : s.queue().takeUnacknowledged()) {
            if (d.group() != null) {
                toGroupAgain(d);
            } else {
                s.queue().offer(new Delivery(d.message(), d.qos(), d.retainFlag(), d.subscriptionIds(), d.tag()), false);
            }
        }
    }

    /** Subscribe (or replace the options of) one filter; retained messages are queued as Retain Handling says. */
    public boolean subscribe(Session s, String filter, String shareGroup, SubscriptionOptions options, Object tag) {
        Subscription sub = new Subscription(s, filter, shareGroup, options, tag);
        Subscription previous = s.subscriptionMap().put(sub.key(), sub);
        trie.add(sub);
        boolean sendRetained = shareGroup == null
                && (options.retainHandling() == 0 || (options.retainHandling() == 1 && previous == null));
        if (sendRetained) {
            for (Message m : retained.match(filter)) {
                if ((options.noLocal() && s.clientId().equals(m.publisherId())) || !s.mayRead(m.topic())) {
                    continue;
                }
                int[] ids = options.subscriptionId() == 0 ? Delivery.NO_IDS : new int[] {options.subscriptionId()};
                Delivery d = new Delivery(m, Math.min(m.qos(), options.qos()), true, ids, tag);
                if (s.queue().offer(d, false) == SubscriberQueue.Offer.FULL) {
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
        trie.remove(sub);
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
        if (holdingPublishes) {
            // shutting down: never answered, so the publisher keeps the message and sends it again elsewhere
            stats.heldAtShutdown.increment();
            return;
        }
        stats.published(m);
        // recorded before the trie match: a reader subscribing concurrently finds it either live or in the history
        m.position(history.append(m));
        if (m.retain()) {
            retained.accept(m);
        }
        MatchResult match = trie.match(m.topic());
        if (match.isEmpty()) {
            done.accept(new PublishOutcome(0, false));
            return;
        }
        new Fanout(m, match, done, config.queueLimits(), stats, canRefuse, config.offlineQueuePolicy()).start();
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

    public Session session(String clientId) {
        return sessions.get(clientId);
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
