package io.sluice.server.cluster;

import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.Dispatcher;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.KeyValue;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.KeyValueOperation;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.ClusterBus;
import io.sluice.server.broker.MatchResult;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.SessionId;
import io.sluice.server.broker.SharedGroup;
import io.sluice.server.config.Settings;
import io.sluice.server.mqtt.MqttModule;
import io.sluice.server.store.MessageCodec;
import org.slf4j.Logger;
import io.sluice.server.events.Logs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The {@link ClusterBus} on NATS JetStream (docs/cluster.md): a route table of filters in the KV bucket
 * {@value #ROUTES}, QoS 0 over core NATS on {@code sluice.live.<node>}, QoS 1/2 through the stream {@value #STREAM}
 * on {@code sluice.node.<node>} with one durable consumer per node, the registry of client ids in
 * {@value #SESSIONS} and retained messages in {@value #RETAINED}.
 *
 * <p>No event loop waits for NATS: core publishes go into jnats's outgoing queue (dropping, never blocking, when it
 * is full), JetStream publishes are asynchronous, and every key-value write runs on one thread of its own, in order.
 */
public final class NatsCluster implements ClusterBus, AutoCloseable {
    private static final Logger log = Logs.get(NatsCluster.class);

    static final String STREAM = "SLUICE_ROUTE";
    static final String NODE_SUBJECT = "sluice.node.";
    static final String LIVE_SUBJECT = "sluice.live.";
    static final String CONTROL_SUBJECT = "sluice.control.";
    static final String ALIVE_SUBJECT = "sluice.alive.";
    /** Reports of room from the nodes this one sends to: {@code sluice.room.<sending node>} (see RoomReports). */
    static final String ROOM_SUBJECT = "sluice.room.";
    static final String ROUTES = "sluice-routes";
    static final String SESSIONS = "sluice-sessions";
    static final String RETAINED = "sluice-retained";
    static final String WILLS = "sluice-wills";
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();
    /** A JetStream publish attempt gets this long before it is tried again. */
    private static final long ATTEMPT_MILLIS = 2_000;
    /** Room kept in a NATS message for the headers of a batch. */
    private static final int BATCH_HEADROOM = 4_096;

    private final String node;
    private final Broker broker;
    private final Connection nats;
    private final JetStream js;
    private final KeyValue routes;
    private final KeyValue registry;
    private final KeyValue retainedKv;
    /** The wills of connections here whose sessions the cluster does not keep: published by others if this node dies. */
    private final KeyValue willsKv;
    /** Client ids connected here with a will recorded in {@link #willsKv}: the revision written (on the writer). */
    private final Map<SessionId, WillRecord> willsHere = new ConcurrentHashMap<>();
    /**
     * Connections that ended here with a will recorded: whether this node won its record back (a compare-and-set
     * delete on the revision it wrote) and so publishes the will, until {@link #willDue} takes it.
     */
    private final Map<SessionId, java.util.concurrent.CompletableFuture<Boolean>> willClaims = new ConcurrentHashMap<>();
    private final RouteTable table;
    /** Persistent sessions kept in JetStream, resumable on any node. */
    private final ClusterSessions sessions;
    /** --cluster-sessions cluster: persistent MQTT sessions are kept in JetStream, not in this node's store. */
    private final boolean keepsSessions;
    private final Settings settings;
    /** Local subscriptions per filter; a filter is announced while its count is above 0. */
    private final ConcurrentHashMap<String, Integer> localFilters = new ConcurrentHashMap<>();
    /** Client ids this node holds in the registry, with the revision it wrote. */
    private final Map<SessionId, Long> owned = new ConcurrentHashMap<>();
    /**
     * The connection each registered client has on this node now, by a number per connect. A claim waits its turn
     * on the registry's writer; one whose connection has ended by then (a writer held up by a slow JetStream) is
     * not written: written late, it would take the client from the node it has since reconnected to.
     */
    private final Map<SessionId, Long> connectedHere = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong connects = new java.util.concurrent.atomic.AtomicLong();
    /** The route keys of other nodes in the table. */
    private final Map<String, Boolean> remoteRoutes = new ConcurrentHashMap<>();
    private final ExecutorService kvWriter;
    private final ScheduledExecutorService retries;
    /**
     * Heartbeats alone: sending this node's and declaring silent nodes down. Nothing that can block (a KV read, a
     * JetStream call) runs here, so a slow one on {@link #retries} never makes this node look dead to the others.
     */
    private final ScheduledExecutorService beats;
    private final Dispatcher dispatcher;
    /** Other nodes' heartbeats, on a thread of their own: the KV watches and QoS 0 fan-out never hold them up. */
    private final Dispatcher aliveDispatcher;
    /** Other nodes' reports of room, on a thread of their own: a held lane goes on the moment one comes. */
    private final Dispatcher roomDispatcher;
    /** This node's reports of room to the nodes that send to it. */
    private final RoomReports roomReports;
    /** Sends them (one thread; a report only queues a core NATS publish). */
    private final ScheduledExecutorService reporter;
    private final long publishTimeoutMillis;
    private final long ackWaitMillis;
    private final long nodeTimeoutMillis;
    private final NodeLiveness liveness;
    /** This node's counters for its heartbeat (set by the server; the cluster's own until then). */
    private volatile Supplier<Map<String, Long>> counters = Map::of;
    /**
     * Messages JetStream handed this node and the local fan-out still holds (a slow subscriber), by stream sequence:
     * they are told "in progress" so the ack wait does not hand them again, and a redelivery of one is not
     * published twice.
     */
    private final Map<Long, InHand> inHand = new ConcurrentHashMap<>();
    /** What JetStream handed this node, so a copy handed again after the first was done is not published twice. */
    private final HandedSequences handed = new HandedSequences();
    private final String runId = Long.toHexString(System.nanoTime() ^ Double.doubleToLongBits(Math.random()));
    private final AtomicLong sequence = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Episodes of JetStream not taking QoS 1/2 sends, logged once each. */
    private final RefusalEpisodes refusals = new RefusalEpisodes();
    private final AtomicBoolean natsAway = new AtomicBoolean();
    /** A route of this node's could not be written or deleted: the bucket may not say what this node holds. */
    private final AtomicBoolean routesUnwritten = new AtomicBoolean();
    private volatile Thread consumerThread;
    private final AtomicLong sentRemote = new AtomicLong();
    private final AtomicLong receivedRemote = new AtomicLong();
    private final AtomicLong droppedQos0 = new AtomicLong();
    private final AtomicLong retried = new AtomicLong();
    /** Sends to other nodes JetStream refused because the node's share of the stream was full. */
    private final AtomicLong refusedAtBound = new AtomicLong();
    /** QoS 1/2 sends, in order per subject across JetStream's refusals. */
    private final SendLanes lanes;
    /** Kept sessions' queue bounds as this node counts them, and the thread that reads their counts. */
    private final KeptQueueBounds keptBounds;
    private final ScheduledExecutorService keptCounts;
    /** What other nodes sent, put back in their order when JetStream stored a retried send late (consumer thread). */
    private final LaneOrder<Arrived> order;
    /** One message at a time per sending lane and topic into the local fan-out. */
    private final FanoutGates<Gated> gates = new FanoutGates<>(this::fanOut);

    private NatsCluster(Settings settings, Broker broker, String node, Connection nats) throws IOException,
            JetStreamApiException {
        this.settings = settings;
        this.broker = broker;
        this.node = node;
        this.nats = nats;
        this.js = nats.jetStream();
        this.publishTimeoutMillis = settings.get(Settings.CLUSTER_PUBLISH_TIMEOUT);
        this.ackWaitMillis = settings.get(Settings.CLUSTER_ACK_WAIT);
        this.nodeTimeoutMillis = settings.get(Settings.CLUSTER_NODE_TIMEOUT);
        this.liveness = new NodeLiveness(node, nodeTimeoutMillis, settings.get(Settings.CLUSTER_FORGET_NODE_AFTER),
                new NodeLiveness.Listener() {
            @Override
            public void down(String other, long silentMillis) {
                long lastHeard = System.currentTimeMillis() - silentMillis;
                kvWriter.execute(() -> orphanedWills(other, lastHeard));
                int n = table.setAside(other);
                log.warn("cluster: node {} not heard for {} ms: down; its {} routes are set aside (publishes no longer "
                        + "go or wait for it; QoS 1/2 messages JetStream already holds for it stay there until it "
                        + "returns)", other, silentMillis, n);
            }

            @Override
            public void up(String other) {
                table.restore(other);
                log.info("cluster: node {} is heard again: its routes are back", other);
                // out of reach without either connection to NATS breaking (a split of a NATS cluster): neither heard
                // the other's route changes meanwhile, and this node's own writes may have failed
                kvWriter.execute(() -> readRoutesOf(other));
                kvWriter.execute(() -> {
                    // behind every write asked for before (one thread): a failed one has set the flag by now
                    if (routesUnwritten.get()) {
                        reconcileRoutes();
                    }
                });
                // its members of shared groups are back with them: what a STOMP queue here held while the cluster had
                // no consumer goes to them now, as when a consumer subscribes (their routes are restored, not new)
                kvWriter.execute(() -> membersBack(other));
            }

            @Override
            public void gone(String other, long silentMillis) {
                forget(other, silentMillis);
            }
        });
        this.table = new RouteTable(settings.get(Settings.MATCH_CACHE_SIZE));
        int replicas = settings.get(Settings.CLUSTER_REPLICAS);
        // bounded per destination node: past it a publisher's JetStream publish is refused and retried
        JetStreamSetup.ensureStream(nats.jetStreamManagement(), STREAM, NODE_SUBJECT + "*", replicas,
                settings.get(Settings.CLUSTER_MAX_PENDING));
        this.routes = JetStreamSetup.ensureBucket(nats, ROUTES, replicas);
        this.registry = JetStreamSetup.ensureBucket(nats, SESSIONS, replicas);
        this.retainedKv = JetStreamSetup.ensureBucket(nats, RETAINED, replicas);
        this.willsKv = JetStreamSetup.ensureBucket(nats, WILLS, replicas);
        this.keepsSessions = settings.get(Settings.CLUSTER_SESSIONS).equals("cluster");
        this.sessions = new ClusterSessions(nats, node, broker, replicas, settings.get(Settings.MAX_QUEUED_MESSAGES),
                settings.get(Settings.MATCH_CACHE_SIZE), TimeUnit.MILLISECONDS.toNanos(nodeTimeoutMillis));
        // a node that holds only kept sessions has no routes to meet it by: its sessions' records do
        sessions.onHolderSeen(holder -> liveness.met(holder, System.nanoTime()));
        // the sessions connected to a node that is down are offline from when it is found down (see ClusterSessions)
        sessions.downFor(other -> liveness.silentMillisIfDown(other, System.nanoTime()));
        this.keptCounts = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "sluice-cluster-kept-count"));
        int maxQueued = settings.get(Settings.MAX_QUEUED_MESSAGES);
        this.keptBounds = new KeptQueueBounds(sessions::count, keptCounts,
                () -> ClusterSessions.countedLimit(maxQueued, sessions.queueBound()),
                () -> ClusterSessions.share(maxQueued, sessions.queueBound(), liveness.nodes().size() + 1),
                this::keptFull);
        this.kvWriter = Executors.newSingleThreadExecutor(r -> daemon(r, "sluice-cluster-kv"));
        this.retries = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "sluice-cluster-retry"));
        this.beats = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "sluice-cluster-heartbeat"));
        this.dispatcher = nats.createDispatcher();
        this.aliveDispatcher = nats.createDispatcher();
        this.roomDispatcher = nats.createDispatcher();
        this.reporter = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "sluice-cluster-room"));
        this.roomReports = new RoomReports(ROOM_SUBJECT, nats::publish, reporter);
        // after a refusal, at most a quarter of a subject's bound in flight: what can overtake a refused send (and
        // the receiving node must hold to put it back in order) stays well within what it may hold
        this.lanes = new SendLanes(js::publishAsync, retries, this::judge, this::taken, node + "-" + runId,
                ATTEMPT_MILLIS, Math.min(settings.get(Settings.CLUSTER_MAX_PENDING),
                        settings.get(Settings.MAX_QUEUED_MESSAGES)) / 4,
                // another node's share of the stream is never filled by the nodes sending to it: each waits for that
                // node's room, within its part of the bound (set again as nodes come and go)
                window(settings.get(Settings.CLUSTER_SEND_WINDOW), settings.get(Settings.CLUSTER_MAX_PENDING), 1),
                new SendLanes.Room() {
                    @Override
                    public boolean flowControlled(String subject) {
                        return subject.startsWith(NODE_SUBJECT);
                    }

                    @Override
                    public boolean alive(String subject) {
                        String to = subject.substring(NODE_SUBJECT.length());
                        return liveness.isAlive(to) && !reportsNoRoom.contains(to);
                    }

                    @Override
                    public boolean down(String subject) {
                        return !liveness.isAlive(subject.substring(NODE_SUBJECT.length()));
                    }

                    @Override
                    public boolean expired(String subject, SendLanes.Waiter waiter, long nowMillis) {
                        if (nowMillis < ((Routing) waiter).deadlineMillis) {
                            return false;
                        }
                        if (refusals.refused(subject, System.nanoTime())) {
                            log.warn("cluster: a QoS 1/2 message for {} waited {} ms for that node's room or behind "
                                    + "sends JetStream did not take: refused to its publisher (MQTT 5 0x97); one line "
                                    + "when it takes them again", subject,
                                    publishTimeoutMillis);
                        }
                        return true;
                    }
                }, settings.get(Settings.CLUSTER_BATCH),
                // a batch must fit in one NATS message, whatever server of the cluster takes it
                (int) Math.min(nats.getMaxPayload(), 1 << 20) - BATCH_HEADROOM,
                settings.get(Settings.CLUSTER_BATCHES_IN_FLIGHT));
        this.sendWindow = settings.get(Settings.CLUSTER_SEND_WINDOW);
        this.streamBound = streamBound(settings.get(Settings.CLUSTER_MAX_PENDING));
        updateWindow();
        // fewer held than JetStream hands this node unacknowledged and keeps for it, so what a gap waits for gets in
        this.order = new LaneOrder<>(TimeUnit.MILLISECONDS.toNanos(nodeTimeoutMillis),
                Math.min(settings.get(Settings.CLUSTER_MAX_ACK_PENDING), settings.get(Settings.CLUSTER_MAX_PENDING)) - 1);
    }

    /** --cluster-send-window (0: no window). */
    private final int sendWindow;
    /** The stream's bound per destination node as JetStream has it (the last node started set it). */
    private volatile int streamBound;
    /** The window each lane to another node is held to now (see {@link #window}). */
    private volatile int effectiveWindow = -1;

    /**
     * The window of each sender to one node, so that the windows of every node that may send to it stay under half
     * the stream's bound for it: on a NATS cluster, nats-server 2.9 may acknowledge a publish at a per-subject bound
     * with discard-new and then not store it (nats-server issue 4247), so the bound must never be what holds
     * publishers. Half, because a node reports room once it acknowledged messages to JetStream, and JetStream removes
     * them from the stream a moment later, after the sender may already have sent as many again. {@code senders}: the
     * nodes that may send to one node (every node but that one); one message each is kept free for a send past the
     * window when no report of room came.
     */
    static int window(int configured, int bound, int senders) {
        if (configured <= 0) {
            return 0;
        }
        int n = Math.max(1, senders);
        return Math.max(1, Math.min(configured, (bound / 2 - n) / n));
    }

    /** The stream's per-subject bound as JetStream has it; {@code fallback} when it cannot be read. */
    private int streamBound(int fallback) {
        try {
            long b = nats.jetStreamManagement().getStreamInfo(STREAM).getConfiguration().getMaxMsgsPerSubject();
            return b > 0 && b <= Integer.MAX_VALUE ? (int) b : fallback;
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            return fallback;
        }
    }

    /**
     * Every second (and at start): the lanes' window from the nodes known now, each of which may send to any other
     * (alive or down: a node that returns sends at once); logged when it changes.
     */
    private void updateWindow() {
        int senders = Math.max(1, liveness.nodes().size());
        int w = window(sendWindow, streamBound, senders);
        if (w == effectiveWindow) {
            return;
        }
        effectiveWindow = w;
        if (lanes != null) {
            lanes.credit(w);
        }
        if (sendWindow > 0 && w < sendWindow) {
            log.info("cluster: this node sends another at most {} QoS 1/2 messages ahead of its reports of room, not "
                    + "--cluster-send-window {}: with {} nodes that may send to one node, their windows together stay "
                    + "under half the stream's bound of {} per node (--cluster-max-pending)", w, sendWindow, senders,
                    streamBound);
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** How long a start waits for NATS to answer, and then for JetStream to take the stream and buckets. */
    private static final int START_SECONDS = 30;

    /**
     * Connect to NATS and create (or join) the stream and buckets; the broker hears of nothing yet. Throws, saying
     * what to do, when NATS cannot be reached or has no JetStream.
     */
    public static NatsCluster connect(Settings settings, Broker broker, String node) {
        if (settings.get(Settings.CLUSTER_SEND_WINDOW) == 0 && settings.get(Settings.CLUSTER_REPLICAS) > 1) {
            // without a window only the stream's per-node bound holds publishers, and at that bound nats-server 2.9
            // on a NATS cluster acknowledges publishes it then does not keep: refused here, not run lossy
            throw new IllegalArgumentException("--cluster-send-window 0 needs --cluster-replicas 1: on a replicated "
                    + "stream nats-server 2.9 may lose acknowledged messages refused at the per-node bound "
                    + "(--cluster-max-pending); give a window (the default is 1000)");
        }
        List<String> urls = settings.get(Settings.CLUSTER_NATS);
        Holder holder = new Holder();
        Options.Builder options = new Options.Builder()
                .servers(urls.toArray(String[]::new))
                .connectionName("sluice-" + node)
                .maxReconnects(-1)
                .reconnectWait(Duration.ofMillis(250))
                .connectionTimeout(Duration.ofSeconds(5))
                // an event loop publishing must never wait: when the queue is full a message is dropped
                .maxMessagesInOutgoingQueue(65_536)
                .discardMessagesWhenOutgoingQueueFull()
                .connectionListener((conn, event) -> holder.event(event));
        NatsAuth.apply(settings, options);
        Connection nats;
        // a NATS server starting, or a machine busy for a moment, may not answer within one connection timeout: tried
        // again for as long as the stream and buckets are waited for (below), then the start fails saying why
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_SECONDS);
        while (true) {
            try {
                nats = Nats.connect(options.build());
                break;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("cannot reach NATS at " + shown(urls) + " (" + e.getMessage()
                            + "); start nats-server with JetStream (nats-server -js) or correct --cluster-nats", e);
                }
                log.info("cluster: NATS at {} not reachable yet ({}); trying again for up to {} s", shown(urls),
                        e.getMessage(), START_SECONDS);
                try {
                    Thread.sleep(500);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while connecting to NATS", ie);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while connecting to NATS", e);
            }
        }
        try {
            NatsCluster cluster = create(settings, broker, node, nats);
            holder.cluster = cluster;
            log.info("cluster: node {} on NATS {} (JetStream stream {}, replicas {})", node,
                    shown(List.of(String.valueOf(nats.getConnectedUrl()))), STREAM, settings.get(Settings.CLUSTER_REPLICAS));
            return cluster;
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            closeQuietly(nats);
            throw new IllegalStateException("NATS at " + shown(urls) + " refused the cluster's stream or "
                    + "buckets (" + e.getMessage() + "); NATS must run with JetStream on (nats-server -js)", e);
        }
    }

    /**
     * Create or join the stream and buckets; a NATS cluster just started has no JetStream leader for a few seconds
     * ("JetStream system temporarily unavailable"), so this tries again for up to 30 s.
     */
    private static NatsCluster create(Settings settings, Broker broker, String node, Connection nats)
            throws IOException, JetStreamApiException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_SECONDS);
        while (true) {
            try {
                return new NatsCluster(settings, broker, node, nats);
            } catch (IOException | JetStreamApiException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                log.info("cluster: JetStream not ready yet ({}); trying again", e.getMessage());
                try {
                    Thread.sleep(500);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", ie);
                }
            }
        }
    }

    /** The URLs for a log line: credentials written into a URL (nats://user:password@host) are left out. */
    static String shown(List<String> urls) {
        return String.join(",", urls.stream().map(u -> u.replaceAll("//[^/@]*@", "//")).toList());
    }

    /** Connection events reach the cluster once it exists. */
    private static final class Holder {
        volatile NatsCluster cluster;

        void event(ConnectionListener.Events event) {
            NatsCluster c = cluster;
            if (c != null) {
                c.connectionEvent(event);
            }
        }
    }

    private void connectionEvent(ConnectionListener.Events event) {
        switch (event) {
            case DISCONNECTED -> {
                // jnats reports each failed reconnect attempt: one line per outage
                if (natsAway.compareAndSet(false, true)) {
                    log.warn("cluster: lost NATS; serving local traffic only, QoS 1/2 publishes for other nodes wait "
                            + "(MQTT 5: 0x97 after {} ms) until it is back", publishTimeoutMillis);
                }
            }
            case RECONNECTED -> {
                // no one could be heard while away: everyone gets a full node timeout from now
                liveness.restartClocks(System.nanoTime());
                natsAway.set(false);
                log.info("cluster: NATS is back at {}; catching up", shown(List.of(String.valueOf(nats.getConnectedUrl()))));
                kvWriter.execute(this::catchUp);
                // a kept session's message pushed as NATS went away would otherwise wait for its consumer's ack wait
                sessions.natsBack();
            }
            default -> {
            }
        }
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- start: after the broker recovered its store

    /**
     * Read the other nodes' routes and the cluster's retained messages (which win over what this node's own store
     * held), withdraw routes this node announced in an earlier life and no longer holds, and start taking messages.
     * Returns once the route table and the retained messages are loaded.
     */
    public void start() {
        try {
            aliveDispatcher.subscribe(ALIVE_SUBJECT + "*", this::aliveMessage);
            roomDispatcher.subscribe(ROOM_SUBJECT + node, msg -> RoomReports.read(msg.getData(), lanes::room));
            follow(routes, ROUTES, this::routeChanged);
            follow(retainedKv, RETAINED, this::retainedChanged);
            follow(sessions.bucket(), ClusterSessions.BUCKET, sessions::changed);
            dispatcher.subscribe(LIVE_SUBJECT + node, this::liveMessage);
            dispatcher.subscribe(CONTROL_SUBJECT + node, this::controlMessage);
            JetStreamSubscription sub = consumer();
            Thread t = new Thread(() -> consume(sub), "sluice-cluster-consumer");
            t.setDaemon(true);
            consumerThread = t;
            t.start();
            long beat = Math.max(100, nodeTimeoutMillis / 4);
            beats.scheduleWithFixedDelay(this::heartbeat, 0, beat, TimeUnit.MILLISECONDS);
            long third = Math.max(100, ackWaitMillis / 3);
            retries.scheduleWithFixedDelay(this::keepInHandAlive, third, third, TimeUnit.MILLISECONDS);
            retries.scheduleWithFixedDelay(this::checkRefusals, 1, 1, TimeUnit.SECONDS);
            retries.scheduleWithFixedDelay(this::updateWindow, 1, 1, TimeUnit.SECONDS);
            // another node started since may have set another bound (the last one started sets it); read on the
            // key-value thread: a JetStream call on the retry thread would hold up lanes' timers and "in progress"
            retries.scheduleWithFixedDelay(() -> kvWriter.execute(() -> {
                streamBound = streamBound(streamBound);
                sessions.readQueueBound(sessions.queueBound());
            }), 10, 10, TimeUnit.SECONDS);
        } catch (IOException | JetStreamApiException e) {
            throw new IllegalStateException("cannot start the cluster on NATS (" + e.getMessage() + ")", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the cluster", e);
        }
        kvWriter.execute(this::reconcileRoutes);
        // the wills of clients this node had in a life that ended without their connections ending (SIGKILL): no
        // client is connected yet, so every record under this node's name is one of those
        orphanedWills(node, System.currentTimeMillis());
        sessions.started();
    }

    /**
     * Hear every change of a bucket, then read what it holds. The changes come from a core NATS subscription to the
     * bucket's subjects ({@code $KV.<bucket>.<key>}, a put or a delete marker each), made before the bucket is read,
     * so nothing written meanwhile is missed; a key read after its change was heard holds that change or a later one.
     * ({@code null}: the key was deleted.)
     */
    private void follow(KeyValue kv, String bucket, java.util.function.BiConsumer<String, byte[]> each)
            throws IOException, JetStreamApiException, InterruptedException {
        String prefix = "$KV." + bucket + ".";
        dispatcher.subscribe(prefix + ">", msg -> {
            String op = msg.getHeaders() == null ? null : msg.getHeaders().getFirst("KV-Operation");
            apply(each, bucket, msg.getSubject().substring(prefix.length()),
                    op == null || op.equals("PUT") ? msg.getData() : null);
        });
        try {
            nats.flush(Duration.ofSeconds(10)); // the subscription is in place on the server
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("NATS did not answer within 10 s", e);
        }
        for (String key : kv.keys()) {
            KeyValueEntry e = kv.get(key);
            if (e != null && e.getOperation() == KeyValueOperation.PUT) {
                apply(each, bucket, key, e.getValue());
            }
        }
    }

    private static void apply(java.util.function.BiConsumer<String, byte[]> each, String bucket, String key, byte[] value) {
        try {
            each.accept(key, value);
        } catch (RuntimeException e) {
            log.warn("cluster: ignoring the malformed entry {} of {} ({})", key, bucket, e.toString());
        }
    }

    private JetStreamSubscription consumer() throws IOException, JetStreamApiException {
        String durable = "node-" + node;
        ConsumerConfiguration config = ConsumerConfiguration.builder()
                .durable(durable)
                .filterSubject(NODE_SUBJECT + node)
                .ackPolicy(AckPolicy.Explicit)
                .ackWait(Duration.ofMillis(ackWaitMillis))
                .maxAckPending(settings.get(Settings.CLUSTER_MAX_ACK_PENDING))
                .build();
        JetStreamManagement jsm = nats.jetStreamManagement();
        try {
            // a new life of this node: what the previous one was handed and never acknowledged (it died holding it)
            // would wait out the ack wait; on a work-queue stream a fresh consumer starts from every message still
            // unacknowledged, which is exactly what this node must deliver
            jsm.deleteConsumer(STREAM, durable);
        } catch (JetStreamApiException e) {
            // none yet
        }
        jsm.addOrUpdateConsumer(STREAM, config);
        return js.subscribe(null, PullSubscribeOptions.bind(STREAM, durable));
    }

    // ---- routes

    @Override
    public void subscribed(String filter) {
        localFilters.compute(filter, (f, n) -> {
            if (n == null) {
                // enqueued under the filter's lock: a put and a delete of one filter reach NATS in order
                kvWriter.execute(() -> announce(f));
                return 1;
            }
            return n + 1;
        });
    }

    @Override
    public void unsubscribed(String filter) {
        localFilters.compute(filter, (f, n) -> {
            if (n == null || n <= 1) {
                kvWriter.execute(() -> withdraw(f));
                return null;
            }
            return n - 1;
        });
    }

    private String routeKey(String filter) {
        return node + "." + B64.encodeToString(filter.getBytes(StandardCharsets.UTF_8));
    }

    /** On the writer thread; puts and deletes of one filter arrive in the order its count changed. */
    private void announce(String filter) {
        try {
            routes.put(routeKey(filter), filter.getBytes(StandardCharsets.UTF_8));
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            routesUnwritten.set(true);
            log.warn("cluster: route {} not announced yet ({}); announced when NATS is back", filter, e.toString());
        }
    }

    private void withdraw(String filter) {
        try {
            routes.delete(routeKey(filter));
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            routesUnwritten.set(true);
            log.debug("cluster: route {} not withdrawn yet ({}); withdrawn when NATS is back", filter, e.toString());
        }
    }

    /**
     * After NATS was away: read the buckets again (a change made through another NATS server meanwhile was not
     * heard), forget routes that are gone, and make the bucket say what this node holds.
     */
    private void catchUp() {
        try {
            java.util.Set<String> present = new java.util.HashSet<>();
            for (String key : routes.keys()) {
                KeyValueEntry e = routes.get(key);
                if (e != null && e.getOperation() == KeyValueOperation.PUT) {
                    present.add(key);
                    apply(this::routeChanged, ROUTES, key, e.getValue());
                }
            }
            for (String key : new ArrayList<>(remoteRoutes.keySet())) {
                if (!present.contains(key)) {
                    apply(this::routeChanged, ROUTES, key, null);
                }
            }
            for (String key : retainedKv.keys()) {
                KeyValueEntry e = retainedKv.get(key);
                if (e != null && e.getOperation() == KeyValueOperation.PUT) {
                    apply(this::retainedChanged, RETAINED, key, e.getValue());
                }
            }
            for (String key : sessions.bucket().keys()) {
                KeyValueEntry e = sessions.bucket().get(key);
                if (e != null && e.getOperation() == KeyValueOperation.PUT) {
                    apply(sessions::changed, ClusterSessions.BUCKET, key, e.getValue());
                }
            }
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            // a NATS cluster electing a new JetStream leader answers nothing for a few seconds
            log.info("cluster: routes and retained messages not read again yet ({}); trying again in 2 s", e.toString());
            retryLater(this::catchUp);
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        reconcileRoutes();
    }

    /** Run {@code task} on the key-value thread again in 2 s, unless the cluster is closed by then. */
    private void retryLater(Runnable task) {
        if (!closed.get()) {
            retries.schedule(() -> {
                if (!closed.get()) {
                    kvWriter.execute(task);
                }
            }, 2, TimeUnit.SECONDS);
        }
    }

    /** Make the bucket say what this node holds: announce every local filter, withdraw every other of its keys. */
    private void reconcileRoutes() {
        routesUnwritten.set(false); // a write failing from here on sets it again
        try {
            String prefix = node + ".";
            for (String key : routes.keys(prefix + ">")) {
                String filter = new String(B64D.decode(key.substring(prefix.length())), StandardCharsets.UTF_8);
                if (!localFilters.containsKey(filter)) {
                    routes.delete(key);
                }
            }
            for (String filter : localFilters.keySet()) {
                routes.put(routeKey(filter), filter.getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            routesUnwritten.set(true);
            log.info("cluster: this node's routes not brought up to date yet ({}); trying again in 2 s", e.toString());
            retryLater(this::reconcileRoutes);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Read one node's routes from the bucket again and make the table say them: the changes it made while out of this
     * node's reach were not heard (the bucket is followed through core NATS, which a split of the NATS cluster keeps
     * apart, while both nodes stay connected).
     */
    private void readRoutesOf(String other) {
        try {
            String prefix = other + ".";
            java.util.Set<String> present = new java.util.HashSet<>();
            for (String key : routes.keys(prefix + ">")) {
                KeyValueEntry e = routes.get(key);
                if (e != null && e.getOperation() == KeyValueOperation.PUT) {
                    present.add(key);
                    if (!remoteRoutes.containsKey(key)) {
                        apply(this::routeChanged, ROUTES, key, e.getValue());
                    }
                }
            }
            for (String key : new ArrayList<>(remoteRoutes.keySet())) {
                if (key.startsWith(prefix) && !present.contains(key)) {
                    apply(this::routeChanged, ROUTES, key, null);
                }
            }
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            log.info("cluster: node {}'s routes not read again yet ({}); trying again in 2 s", other, e.toString());
            retryLater(() -> readRoutesOf(other));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final String SHARE = "$share/";

    private void routeChanged(String key, byte[] value) {
        int dot = key.indexOf('.');
        String owner = key.substring(0, dot);
        if (owner.equals(node)) {
            return;
        }
        String filter = new String(B64D.decode(key.substring(dot + 1)), StandardCharsets.UTF_8);
        if (value != null) {
            liveness.met(owner, System.nanoTime());
            boolean fresh = remoteRoutes.put(key, Boolean.TRUE) == null;
            table.add(owner, filter);
            int slash = filter.indexOf('/', SHARE.length());
            if (fresh && filter.startsWith(SHARE) && slash > 0) {
                // a member of a group on that node: what a queue here held while the cluster had none goes there
                broker.groupMemberElsewhere(filter.substring(SHARE.length(), slash), filter.substring(slash + 1));
            }
        } else {
            remoteRoutes.remove(key);
            table.remove(owner, filter);
        }
    }

    /** Node {@code other} is heard again: each of its shared groups' members counts as a member that just subscribed. */
    private void membersBack(String other) {
        if (!liveness.isAlive(other)) {
            return; // down again meanwhile
        }
        for (String key : remoteRoutes.keySet()) {
            if (!key.startsWith(other + ".")) {
                continue;
            }
            String filter = new String(B64D.decode(key.substring(other.length() + 1)), StandardCharsets.UTF_8);
            int slash = filter.indexOf('/', SHARE.length());
            if (filter.startsWith(SHARE) && slash > 0) {
                broker.groupMemberElsewhere(filter.substring(SHARE.length(), slash), filter.substring(slash + 1));
            }
        }
    }

    // ---- publishing

    @Override
    public MatchResult route(Message m, MatchResult local, boolean canRefuse, RouteCallback done) {
        return route(m, local, canRefuse, false, done);
    }

    @Override
    public MatchResult routeToGroup(Message m, MatchResult local, RouteCallback done) {
        return route(m, local, false, true, done);
    }

    /** Marks a message for its groups alone (a base64url alphabet has no '*'), see {@link ClusterBus#GROUPS_ONLY}. */
    private static final String GROUPS_ONLY_MARK = "*";

    /** {@code groupsOnly}: for the groups of {@code local} alone, no ordinary subscription anywhere. */
    private MatchResult route(Message m, MatchResult local, boolean canRefuse, boolean groupsOnly, RouteCallback done) {
        MatchResult match = table.match(m.topic());
        // persistent sessions kept in JetStream, wherever they are connected (this node included)
        MatchResult keptMatch = sessions.match(m.topic());
        List<String> kept = groupsOnly ? List.of() : ClusterSessions.subjects(keptMatch);
        if (match.sessionCount() == 0 && match.groupCount() == 0 && kept.isEmpty() && keptMatch.groupCount() == 0) {
            done.routed(0, true);
            return local;
        }
        // node -> the shared groups it serves for this message ("<group>/<filter>", base64url)
        Map<String, List<String>> targets = new java.util.LinkedHashMap<>();
        for (int i = 0; i < match.sessionCount() && !groupsOnly; i++) {
            targets.put(match.session(i).clientId(), List.of());
        }
        boolean[] servedElsewhere = new boolean[local.groupCount()];
        for (int i = 0; i < match.groupCount(); i++) {
            SharedGroup remote = match.group(i);
            int here = localGroup(local, remote);
            if (groupsOnly && here < 0) {
                continue; // another group on the same topic: served when the message was published
            }
            boolean liveHere = here >= 0 && hasConnectedMember(local.group(here));
            String pick = pickNode(remote, liveHere);
            if (pick == null) {
                continue; // this node serves it
            }
            if (here >= 0) {
                servedElsewhere[here] = true;
            }
            List<String> groups = targets.get(pick);
            if (groups == null || groups.isEmpty()) {
                groups = new ArrayList<>(2);
                if (groupsOnly) {
                    groups.add(GROUPS_ONLY_MARK);
                }
            }
            groups.add(B64.encodeToString((remote.name() + "/" + remote.filter()).getBytes(StandardCharsets.UTF_8)));
            targets.put(pick, groups);
        }
        MatchResult served = local.withGroups(i -> !servedElsewhere[i]);
        Map<String, List<String>> keptGroups = offlineShares(keptMatch, local, match);
        int nodes = targets.size();
        if (nodes == 0 && kept.isEmpty() && keptGroups.isEmpty()) {
            done.routed(0, true);
            return served;
        }
        byte[] body = MessageCodec.encode(m);
        String id = node + "-" + runId + "-" + sequence.incrementAndGet();
        if (m.qos() == 0) {
            for (Map.Entry<String, List<String>> t : targets.entrySet()) {
                try {
                    nats.publish(withGroups(LIVE_SUBJECT + t.getKey(), null, t.getValue(), body));
                    sentRemote.incrementAndGet();
                } catch (IllegalStateException e) {
                    droppedQos0.incrementAndGet(); // closed, or the reconnect buffer is full: QoS 0 may be lost
                }
            }
            for (String subject : kept) {
                // within the session's queue bound as this node counts it; not waited for: QoS 0 may be lost
                keptQos0(subject, jetStreamMessage(subject, id, body));
            }
            for (Map.Entry<String, List<String>> t : keptGroups.entrySet()) {
                keptQos0(t.getKey(), withGroups(t.getKey(), id + "g", t.getValue(), body));
            }
            done.routed(nodes + kept.size() + keptGroups.size(), true);
            return served;
        }
        Routing r = new Routing(nodes + kept.size() + keptGroups.size(), done,
                canRefuse ? System.currentTimeMillis() + publishTimeoutMillis : Long.MAX_VALUE, canRefuse);
        for (Map.Entry<String, List<String>> t : targets.entrySet()) {
            String subject = NODE_SUBJECT + t.getKey();
            lanes.send(subject, id + "-" + subject, t.getValue().isEmpty() ? null : String.join(",", t.getValue()),
                    body, r);
        }
        for (String subject : kept) {
            keptSend(subject, id + "-" + subject, null, body, new KeptShare(r, false));
        }
        for (Map.Entry<String, List<String>> t : keptGroups.entrySet()) {
            // apart from what the session's ordinary filters get: an id of its own, so JetStream keeps both
            keptSend(t.getKey(), id + "g-" + t.getKey(), String.join(",", t.getValue()), body, new KeptShare(r, true));
        }
        return served;
    }

    /**
     * A QoS 1/2 send to a kept session's queue, once this node's count of that queue lets it through (see
     * {@link KeptQueueBounds}): the stream's per-session bound is never what refuses it.
     */
    private void keptSend(String subject, String msgId, String groups, byte[] body, KeptShare waiter) {
        keptBounds.send(subject, new KeptQueueBounds.Send(false, waiter.canRefuse, waiter.deadlineMillis, waiter.group,
                answered -> {
                    waiter.answered = answered;
                    lanes.send(subject, msgId, groups, body, waiter);
                },
                () -> {
                    // an offline session's full queue: dropped for it alone, as on one node
                    broker.stats().dropped(io.sluice.server.broker.BrokerStats.Drop.OFFLINE_QUEUE_FULL);
                    waiter.of.sent();
                },
                () -> {
                    if (refusals.refused(subject, System.nanoTime())) {
                        log.warn("cluster: a QoS 1/2 message for the kept session queue {} was refused to its "
                                + "publisher (MQTT 5 0x97): the queue is full (--max-queued-messages) or its count "
                                + "could not be read within {} ms; one line when it takes them again", subject,
                                publishTimeoutMillis);
                    }
                    waiter.of.refused();
                }));
    }

    /** A QoS 0 send to a kept session's queue: dropped when the queue is full as this node counts it. */
    private void keptQos0(String subject, NatsMessage msg) {
        keptBounds.send(subject, new KeptQueueBounds.Send(true, false, Long.MAX_VALUE, false, answered -> {
            try {
                js.publishAsync(msg).whenComplete((a, e) -> answered.run());
            } catch (RuntimeException e) {
                droppedQos0.incrementAndGet();
                answered.run();
            }
        }, droppedQos0::incrementAndGet, droppedQos0::incrementAndGet));
    }

    /**
     * What a send that meets a kept session's full queue does, as a full queue does on one node: an offline session's
     * drops it for itself alone (--offline-queue-full drop), or refuses a publisher that can be told and holds the
     * others for at most --offline-withhold-timeout (withhold); a shared group's message it alone was to take is refused
     * to a publisher that can be told under either policy; a connected session's holds its publishers (MQTT 5: 0x97
     * after --cluster-publish-timeout), losslessly. {@code full} false: a send waiting for a read (NATS away).
     */
    private KeptQueueBounds.Full keptFull(String subject, KeptQueueBounds.Send s, boolean full, long nowMillis) {
        boolean late = s.canRefuse && nowMillis >= s.deadlineMillis;
        if (!full || !sessions.offline(subject)) {
            return late ? KeptQueueBounds.Full.REFUSE : KeptQueueBounds.Full.HOLD;
        }
        if (broker.config().offlineQueuePolicy() == io.sluice.server.broker.OfflineQueuePolicy.DROP) {
            return s.onlyTaker && s.canRefuse ? KeptQueueBounds.Full.REFUSE : KeptQueueBounds.Full.DROP;
        }
        if (s.canRefuse) {
            return KeptQueueBounds.Full.REFUSE;
        }
        return nowMillis - s.fullSinceMillis >= broker.config().limits().offlineWithholdMillis()
                ? KeptQueueBounds.Full.DROP : KeptQueueBounds.Full.HOLD;
    }

    /**
     * The shared groups no node has a member of (here or in the route table) whose only members are kept sessions
     * that are offline: one of those, round robin, keeps the message in its queue, as an offline member of a group
     * does on one broker (MQTT 5 section 4.8.2). By subject of the chosen session's queue, the groups it serves
     * there ({@code <group>/<filter>}, base64url). A group with a member on some node, connected or not, is that
     * node's to serve.
     */
    private Map<String, List<String>> offlineShares(MatchResult keptMatch, MatchResult local, MatchResult remote) {
        if (keptMatch.groupCount() == 0) {
            return Map.of();
        }
        Map<String, List<String>> out = new java.util.LinkedHashMap<>();
        for (int i = 0; i < keptMatch.groupCount(); i++) {
            SharedGroup g = keptMatch.group(i);
            int here = localGroup(local, g);
            // (a group handed on by its last member here is in the local match without members)
            if ((here >= 0 && local.group(here).members().length > 0) || localGroup(remote, g) >= 0) {
                continue;
            }
            io.sluice.server.broker.Subscription[] members = g.members();
            if (members.length == 0) {
                continue;
            }
            int n = Math.floorMod(groupCursors.computeIfAbsent(g.name() + "/" + g.filter(),
                    k -> new AtomicInteger()).getAndIncrement(), members.length);
            out.computeIfAbsent(ClusterSessions.subject(members[n].session().clientId()), k -> new ArrayList<>(1))
                    .add(B64.encodeToString((g.name() + "/" + g.filter()).getBytes(StandardCharsets.UTF_8)));
        }
        return out;
    }

    /** Header naming the shared groups the receiving node serves for a message (base64url, comma separated). */
    static final String GROUPS_HEADER = SendLanes.GROUPS_HEADER;

    /** The index in {@code local} of the local group of the same name and filter as {@code remote}, -1 for none. */
    private static int localGroup(MatchResult local, SharedGroup remote) {
        for (int i = 0; i < local.groupCount(); i++) {
            SharedGroup g = local.group(i);
            if (g.name().equals(remote.name()) && g.filter().equals(remote.filter())) {
                return i;
            }
        }
        return -1;
    }

    private static boolean hasConnectedMember(SharedGroup g) {
        for (io.sluice.server.broker.Subscription s : g.members()) {
            if (s.session().isOnline()) {
                return true;
            }
        }
        return false;
    }

    /** Round-robin counters per shared group (name and filter), cluster-wide choice of the serving node. */
    private final ConcurrentHashMap<String, AtomicInteger> groupCursors = new ConcurrentHashMap<>();

    /**
     * The node that serves a shared group for one message, null for this one: round robin over the nodes with a
     * member, this node among them only when it has a connected member (a node whose members are all offline, or
     * that only holds a queue's messages, is not sent shares while another node has a member).
     */
    private String pickNode(SharedGroup remote, boolean liveHere) {
        io.sluice.server.broker.Subscription[] members = remote.members();
        int candidates = members.length + (liveHere ? 1 : 0);
        if (candidates == 0) {
            return null;
        }
        int n = Math.floorMod(groupCursors.computeIfAbsent(remote.name() + "/" + remote.filter(),
                k -> new AtomicInteger()).getAndIncrement(), candidates);
        return n == members.length ? null : members[n].session().clientId();
    }

    /** A message for a node, naming the shared groups it serves; {@code id} null: a QoS 0 one, no de-duplication. */
    private static NatsMessage withGroups(String subject, String id, List<String> groups, byte[] body) {
        Headers headers = new Headers();
        if (id != null) {
            headers.put("Nats-Msg-Id", id + "-" + subject);
        }
        if (!groups.isEmpty()) {
            headers.put(GROUPS_HEADER, String.join(",", groups));
        }
        return NatsMessage.builder().subject(subject).headers(headers.isEmpty() ? null : headers).data(body).build();
    }

    /** One publish for one JetStream subject; the stream drops a repeat of its id (a retry after a lost ack). */
    private static NatsMessage jetStreamMessage(String subject, String id, byte[] body) {
        return withGroups(subject, id, List.of(), body);
    }

    /**
     * The shared groups a message names for its receiver to serve ({@code <group>/<filter>}): a node's, from another
     * node; a kept session's, given it while it was offline.
     */
    static java.util.Set<String> servedGroups(io.nats.client.Message msg) {
        return servedGroups(msg.getHeaders() == null ? null : msg.getHeaders().getFirst(GROUPS_HEADER));
    }

    /** The shared groups a {@value #GROUPS_HEADER} value names (null or empty: none). */
    static java.util.Set<String> servedGroups(String value) {
        if (value == null || value.isEmpty()) {
            return java.util.Set.of();
        }
        java.util.Set<String> groups = new java.util.HashSet<>();
        for (String g : value.split(",")) {
            groups.add(g.equals(GROUPS_ONLY_MARK) ? ClusterBus.GROUPS_ONLY
                    : new String(B64D.decode(g), StandardCharsets.UTF_8));
        }
        return groups;
    }

    /** One QoS 1/2 publish on its way to every matching node; the callback runs once all took it (or one refused). */
    private static class Routing implements SendLanes.Waiter {
        final AtomicInteger left;
        final int nodes;
        final RouteCallback done;
        final long deadlineMillis;
        /** Its publisher can be told the message was not taken (MQTT 5 0x97). */
        final boolean canRefuse;
        final AtomicBoolean failed = new AtomicBoolean();

        Routing(int nodes, RouteCallback done, long deadlineMillis, boolean canRefuse) {
            this.nodes = nodes;
            this.left = new AtomicInteger(nodes);
            this.done = done;
            this.deadlineMillis = deadlineMillis;
            this.canRefuse = canRefuse;
        }


        @Override
        public void sent() {
            if (left.decrementAndGet() == 0) {
                done.routed(nodes, !failed.get());
            }
        }

        @Override
        public void refused() {
            failed.set(true);
            sent();
        }
    }

    /**
     * The send of a publish to one kept session's queue, which tells this node's count of the queue when JetStream
     * answered it; {@code group}: to the one offline kept session chosen to keep a shared group's message (no member
     * on any node), the only taker of that message, as a group's offline member is on one node.
     */
    private static final class KeptShare extends Routing {
        private final Routing of;
        final boolean group;
        volatile Runnable answered;

        KeptShare(Routing of, boolean group) {
            super(0, null, of.deadlineMillis, of.canRefuse);
            this.of = of;
            this.group = group;
        }

        @Override
        public void sent() {
            tell();
            of.sent();
        }

        @Override
        public void refused() {
            tell();
            of.refused();
        }

        private void tell() {
            Runnable a = answered;
            if (a != null) {
                answered = null;
                a.run();
            }
        }
    }

    /** A send JetStream took (once per send, however many attempts it needed). */
    private void taken() {
        sentRemote.incrementAndGet();
    }

    /** On the retry thread, every second: the end of an episode of refusals (or a reminder) is logged once. */
    private void checkRefusals() {
        String line = refusals.check(System.nanoTime());
        if (line != null) {
            if (refusals.open()) {
                log.warn(line);
            } else {
                log.info(line);
            }
        }
    }

    /**
     * JetStream did not take a send (NATS away, or the subject's share of the stream full because its node or session
     * is slow): it is tried again after a backoff, ahead of every later send to the subject, withholding the
     * publisher's acknowledgement; past the deadline a publisher that can be told is refused.
     */
    private SendLanes.Verdict judge(String target, SendLanes.Waiter waiter, Throwable why) {
        if (target.startsWith(NODE_SUBJECT) && !liveness.isAlive(target.substring(NODE_SUBJECT.length()))) {
            // the node is down: its messages go no further for it, and their publishers are not held by it
            return SendLanes.Verdict.SKIP_LANE;
        }
        if (target.startsWith(NODE_SUBJECT) && atBound(why)) {
            refusedAtBound.incrementAndGet();
        }
        if (target.startsWith(ClusterSessions.SUBJECT) && atBound(why) && sessions.dropsWhenFull(target)) {
            // an offline persistent session with a full queue: dropped for it alone, as on one node
            broker.stats().dropped(io.sluice.server.broker.BrokerStats.Drop.OFFLINE_QUEUE_FULL);
            if (waiter instanceof KeptShare g && g.group && g.canRefuse) {
                // a shared group's message it alone was to keep goes nowhere: a publisher that can be told is refused
                // (MQTT 5 0x97), as one node refuses it when the group's offline member it picked is full
                log.debug("cluster: a message of a shared group whose only members are offline sessions went to {}, "
                        + "whose queue is full: refused to its publisher (MQTT 5 0x97)", target);
                return SendLanes.Verdict.REFUSE;
            }
            return SendLanes.Verdict.SKIP;
        }
        if (System.currentTimeMillis() >= ((Routing) waiter).deadlineMillis) {
            if (refusals.refused(target, System.nanoTime())) {
                log.warn("cluster: a QoS 1/2 message for {} was not taken by JetStream within {} ms ({}): refused "
                        + "to its publisher (MQTT 5 0x97); one line when JetStream takes them again",
                        target, publishTimeoutMillis, why.toString());
            }
            return SendLanes.Verdict.REFUSE;
        }
        if (refusals.retried(target, System.nanoTime())) {
            log.warn("cluster: JetStream does not take QoS 1/2 messages for {} ({}); their publishers wait while it "
                    + "is tried again, later messages to it behind them; one line when it takes them again",
                    target, why.toString());
        }
        retried.incrementAndGet();
        return SendLanes.Verdict.RETRY;
    }

    /** JetStream refused a message because its subject (a node's share, a session's queue) holds its bound. */
    private static boolean atBound(Throwable why) {
        // jnats wraps it (CompletionException, RuntimeException): look down the causes
        for (Throwable t = why; t != null; t = t.getCause()) {
            if (t instanceof JetStreamApiException e) {
                return e.getApiErrorCode() == 10077;
            }
        }
        return false;
    }

    private void liveMessage(io.nats.client.Message msg) {
        Message m;
        try {
            m = MessageCodec.decode(msg.getData());
        } catch (RuntimeException e) {
            log.warn("cluster: dropping a malformed QoS 0 message on {} ({})", msg.getSubject(), e.toString());
            return;
        }
        receivedRemote.incrementAndGet();
        broker.publishFromCluster(m, servedGroups(msg), outcome -> { });
    }

    /**
     * Take what other nodes sent this one: each message goes into the local queues and is acknowledged to JetStream
     * only once every queue holds it, so a node dying before that gets it again when it returns. A slow local
     * subscriber delays the acknowledgements, and {@code max-ack-pending} then stops JetStream handing more.
     */
    private void consume(JetStreamSubscription sub) {
        int batch = Math.min(256, settings.get(Settings.CLUSTER_MAX_ACK_PENDING));
        while (!closed.get()) {
            try {
                Iterator<io.nats.client.Message> it = sub.iterate(batch, Duration.ofSeconds(1));
                while (it.hasNext()) {
                    io.nats.client.Message msg = it.next();
                    if (handedAgainAfterDone(msg)) {
                        msg.ack(); // the first copy's acknowledgement came too late or was lost
                        continue;
                    }
                    Arrived a;
                    try {
                        a = Arrived.of(msg);
                    } catch (RuntimeException e) {
                        log.warn("cluster: dropping a malformed QoS 1/2 message ({})", e.toString());
                        msg.term();
                        continue;
                    }
                    handed.mark(a.seq());
                    InHand first = inHand.putIfAbsent(a.seq(), new InHand(msg, System.nanoTime()));
                    if (first != null) {
                        // handed again while the first copy is still in the fan-out: that one acknowledges, on
                        // the latest delivery
                        first.msg = msg;
                        continue;
                    }
                    order.arrived(a.order(), a, System.nanoTime(), this::deliver);
                }
                order.expire(System.nanoTime(), this::deliver);
            } catch (RuntimeException e) {
                if (closed.get()) {
                    return;
                }
                log.debug("cluster: pulling from JetStream failed ({}); again in 500 ms", e.toString());
                try {
                    Thread.sleep(500);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /**
     * A copy JetStream handed again (its ack wait ran out) of a message this node already put in every local queue:
     * handed before and no longer in hand. The fan-out only ever removes from {@link #inHand}, so a copy found not in
     * hand here cannot be put back there by a first copy still on its way.
     */
    private boolean handedAgainAfterDone(io.nats.client.Message msg) {
        if (!msg.isJetStream() || msg.metaData().deliveredCount() <= 1) {
            return false;
        }
        long seq = msg.metaData().streamSequence();
        return !inHand.containsKey(seq) && handed.contains(seq);
    }

    /**
     * A message JetStream handed this node, decoded: one message, or a batch of its sending lane's ({@link LaneBatch});
     * {@code seq}: its stream sequence; {@code order}: its {@link SendLanes#ORDER_HEADER}, and from it {@code lane} and
     * {@code last}, the last place it covers ("" and 0 without one). Acknowledged to JetStream, and reported done to its
     * sender, once every part is in every local queue ({@code left}).
     */
    private record Arrived(io.nats.client.Message msg, List<Part> parts, long seq, String order, String lane, long last,
                           AtomicInteger left) {
        static Arrived of(io.nats.client.Message msg) {
            Headers h = msg.getHeaders();
            String order = h == null ? null : h.getFirst(SendLanes.ORDER_HEADER);
            String count = h == null ? null : h.getFirst(LaneBatch.HEADER);
            List<Part> parts;
            if (count == null) {
                parts = List.of(new Part(MessageCodec.decode(msg.getData()),
                        servedGroups(h == null ? null : h.getFirst(GROUPS_HEADER))));
            } else {
                List<LaneBatch.Entry> entries = LaneBatch.unpack(msg.getData(), Integer.parseInt(count));
                parts = new ArrayList<>(entries.size());
                for (LaneBatch.Entry e : entries) {
                    parts.add(new Part(MessageCodec.decode(e.body()), servedGroups(e.groups())));
                }
            }
            String[] fields = order == null ? new String[0] : order.split(" ");
            long last = 0;
            if (fields.length >= 2) {
                try {
                    last = Long.parseLong(fields[fields.length == 4 ? 3 : 1]);
                } catch (NumberFormatException e) {
                    last = 0;
                }
            }
            return new Arrived(msg, parts, msg.metaData().streamSequence(), order, fields.length >= 2 ? fields[0] : "",
                    last, new AtomicInteger(parts.size()));
        }
    }

    /** One message of what arrived, with the shared groups this node serves for it. */
    private record Part(Message m, java.util.Set<String> groups) {
    }

    /** Into the local queues, each part behind what the same lane sent to the same topic before it. */
    private void deliver(Arrived a) {
        for (Part p : a.parts()) {
            gates.submit(a.lane() + "\n" + p.m().topic(), new Gated(a, p));
        }
    }

    /** A part on its way through the fan-out gates. */
    private record Gated(Arrived a, Part p) {
    }

    /** Acknowledged to JetStream once every local queue holds every part of what arrived. */
    private void fanOut(Gated g, Runnable done) {
        receivedRemote.incrementAndGet();
        Arrived a = g.a();
        broker.publishFromCluster(g.p().m(), g.p().groups(), outcome -> {
            if (a.left().decrementAndGet() == 0) {
                InHand h = inHand.remove(a.seq());
                (h == null ? a.msg() : h.msg).ack();
                if (a.last() > 0) {
                    roomReports.done(a.lane(), a.last()); // its sender may send as many more
                }
            }
            done.run();
        });
    }

    /** A message in the local fan-out since {@code sinceNanos} (last told "in progress" then). */
    private static final class InHand {
        volatile io.nats.client.Message msg;
        volatile long sinceNanos;

        InHand(io.nats.client.Message msg, long sinceNanos) {
            this.msg = msg;
            this.sinceNanos = sinceNanos;
        }
    }

    /**
     * Every third of the ack wait: a message the local fan-out has held for that long (a slow subscriber, bounded by
     * its queue) is told "in progress" to JetStream, which restarts its ack wait. So the ack wait can be short (a
     * message lost on the way, with a NATS server that died, is handed again quickly) without a message that is
     * only waiting for room being handed twice.
     */
    private void keepInHandAlive() {
        long now = System.nanoTime();
        long third = TimeUnit.MILLISECONDS.toNanos(ackWaitMillis) / 3;
        for (InHand h : inHand.values()) {
            if (now - h.sinceNanos >= third) {
                h.sinceNanos = now;
                try {
                    h.msg.inProgress();
                } catch (RuntimeException e) {
                    // NATS away: JetStream hands it again after the ack wait, and it is not published twice
                }
            }
        }
    }

    // ---- node liveness

    /**
     * Say this node is alive, with its counters; then declare down the nodes not heard for the timeout. Runs on
     * {@link #beats} and must never block: a core NATS publish only queues, and what a node found down or gone sets
     * off is in memory here or handed to {@link #kvWriter}.
     */
    private void heartbeat() {
        if (closed.get()) {
            return;
        }
        byte[] counters = NodeLiveness.encode(ownCounters());
        byte[] heartbeat = java.util.Arrays.copyOf(counters, counters.length + REPORTS_ROOM_LINE.length);
        System.arraycopy(REPORTS_ROOM_LINE, 0, heartbeat, counters.length, REPORTS_ROOM_LINE.length);
        try {
            nats.publish(ALIVE_SUBJECT + node, heartbeat);
        } catch (RuntimeException e) {
            // NATS away or the outgoing queue full: the others hear the next one
        }
        if (!natsAway.get() && nats.getStatus() == Connection.Status.CONNECTED) {
            liveness.check(System.nanoTime());
        }
    }

    /**
     * A node down for --cluster-forget-node-after is no longer one of the cluster: every node drops it from memory,
     * and the node with the lowest id among those alive deletes what the cluster keeps for it (its routes, the
     * client ids the registry gives it, what the stream holds for it and its consumer). Others doing the same at
     * the same time (they disagree for a moment on who is alive) only delete what is already gone.
     */
    private void forget(String other, long silentMillis) {
        int filters = table.forget(other);
        List<String> keys = new ArrayList<>();
        for (String key : remoteRoutes.keySet()) {
            if (key.startsWith(other + ".")) {
                keys.add(key);
            }
        }
        String lowest = node;
        for (Map.Entry<String, Boolean> e : liveness.nodes().entrySet()) {
            if (e.getValue() && e.getKey().compareTo(lowest) < 0) {
                lowest = e.getKey();
            }
        }
        if (!lowest.equals(node)) {
            log.info("cluster: node {} not heard for {} ms (--cluster-forget-node-after): forgotten here ({} routes); "
                    + "node {} deletes what the cluster keeps for it", other, silentMillis, filters, lowest);
            return;
        }
        kvWriter.execute(() -> {
            try {
                for (String key : keys) {
                    routes.delete(key);
                }
                long clients = 0;
                for (String key : registry.keys()) {
                    KeyValueEntry e = registry.get(key);
                    if (e != null && e.getOperation() == KeyValueOperation.PUT
                            && other.equals(new String(e.getValue(), StandardCharsets.UTF_8))) {
                        try {
                            registry.delete(key, e.getRevision()); // not if its client connected elsewhere since
                            clients++;
                        } catch (JetStreamApiException raced) {
                            // connected elsewhere meanwhile: that node holds it now
                        }
                    }
                }
                JetStreamManagement jsm = nats.jetStreamManagement();
                long held = jsm.purgeStream(STREAM, io.nats.client.PurgeOptions.subject(NODE_SUBJECT + other)).getPurged();
                try {
                    jsm.deleteConsumer(STREAM, "node-" + other);
                } catch (JetStreamApiException none) {
                    // deleted already
                }
                log.warn("cluster: node {} not heard for {} ms (--cluster-forget-node-after): forgotten; deleted its {} "
                        + "routes, {} client ids and {} messages JetStream held for it", other, silentMillis,
                        keys.size(), clients, held);
            } catch (IOException | JetStreamApiException | RuntimeException e) {
                log.warn("cluster: what the cluster keeps for the forgotten node {} was not all deleted ({}); delete "
                        + "its keys with `nats kv del` and purge subject {}{}", other, e.toString(), NODE_SUBJECT, other);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /**
     * The line a heartbeat ends with when its node reports room to the nodes sending to it. Not {@code name=value}: a
     * node of an older version, which sends no reports, skips it, and sends heartbeats without it.
     */
    private static final byte[] REPORTS_ROOM_LINE = "reports-room\n".getBytes(StandardCharsets.US_ASCII);
    /**
     * Nodes whose last heartbeat did not say they report room (an older version during a rolling upgrade): lanes to
     * them are not held to a window, which their reports would never open; the stream's bound alone holds publishers,
     * as it did before the windows. A node not heard yet is taken to report.
     */
    private final java.util.Set<String> reportsNoRoom = ConcurrentHashMap.newKeySet();

    private void aliveMessage(io.nats.client.Message msg) {
        String other = msg.getSubject().substring(ALIVE_SUBJECT.length());
        byte[] data = msg.getData();
        if (endsWith(data, REPORTS_ROOM_LINE)) {
            reportsNoRoom.remove(other);
        } else if (reportsNoRoom.add(other)) {
            log.warn("cluster: node {} does not report room (an older version): this node sends it without a window, "
                    + "the stream's bound for it (--cluster-max-pending) holding publishers; upgrade it", other);
        }
        liveness.heard(other, NodeLiveness.decode(data), System.nanoTime());
    }

    private static boolean endsWith(byte[] data, byte[] end) {
        if (data == null || data.length < end.length) {
            return false;
        }
        return java.util.Arrays.equals(data, data.length - end.length, data.length, end, 0, end.length);
    }

    /** What this node's heartbeat carries besides the cluster's own counters; called on the cluster's timer. */
    public void counters(Supplier<Map<String, Long>> own) {
        this.counters = own;
    }

    /** This node's counters, as its heartbeat carries them. */
    public Map<String, Long> ownCounters() {
        Map<String, Long> mine = new java.util.LinkedHashMap<>(counters.get());
        mine.put("cluster/messages/sent", sentRemote.get());
        mine.put("cluster/messages/received", receivedRemote.get());
        return mine;
    }

    /**
     * The cluster's totals: this node's counters now plus the latest each other node alive sent (at most a heartbeat
     * old), summed by name, and {@code nodes}, the nodes alive with this one. A node that is down no longer counts.
     */
    public Map<String, Long> totals() {
        Map<String, Long> sum = new java.util.LinkedHashMap<>();
        sum.put("nodes", 1L);
        ownCounters().forEach((k, v) -> sum.merge(k, v, Long::sum));
        for (Map<String, Long> other : liveness.aliveCounters().values()) {
            sum.merge("nodes", 1L, Long::sum);
            other.forEach((k, v) -> sum.merge(k, v, Long::sum));
        }
        return sum;
    }

    /**
     * Per node: {@code sluice.cluster.messages} sent to and received from other nodes, QoS 0 ones dropped, the remote
     * route entries matched against; for the cluster: {@code sluice.cluster.nodes} alive and
     * {@code sluice.cluster.total.<counter>} for each counter the nodes send.
     */
    public void bindMetrics(MeterRegistry r) {
        FunctionCounter.builder("sluice.cluster.messages", sentRemote, AtomicLong::get).tag("direction", "sent")
                .description("messages sent to other nodes, one per node a publish went to").register(r);
        FunctionCounter.builder("sluice.cluster.messages", receivedRemote, AtomicLong::get).tag("direction", "received")
                .description("messages other nodes sent to this one").register(r);
        FunctionCounter.builder("sluice.cluster.qos0.dropped", droppedQos0, AtomicLong::get)
                .description("QoS 0 messages for other nodes NATS could not take (reconnect buffer or queue full)").register(r);
        Gauge.builder("sluice.cluster.routes", table, RouteTable::size)
                .description("filter entries of other nodes alive in the route table").register(r);
        Gauge.builder("sluice.cluster.nodes", this, c -> c.totals().get("nodes"))
                .description("nodes of the cluster alive, this one included").register(r);
        for (String name : ownCounters().keySet()) {
            Gauge.builder("sluice.cluster.total." + name.replace('/', '.'), this, c -> c.totals().getOrDefault(name, 0L))
                    .description("the sum over every node alive of its " + name + " ($SYS/broker/" + name + "), at most "
                            + "a heartbeat old").register(r);
        }
    }

    /** Runs {@code task} on the thread that retries and does blocking KV and JetStream work (for tests). */
    void onRetryThread(Runnable task) {
        retries.execute(task);
    }

    /** The latest counters each other node alive now sent, by node id (this node's are not in it). */
    public Map<String, Map<String, Long>> otherNodesCounters() {
        return liveness.aliveCounters();
    }

    /** Every other node known, alive or down. */
    public Map<String, Boolean> otherNodes() {
        return liveness.nodes();
    }

    // ---- the registry of client ids

    /** Only MQTT clients choose their ids: STOMP and HTTP sessions are named by the node that makes them. */
    private static boolean registered(SessionId id) {
        return id.namespace().equals(MqttModule.NAMESPACE);
    }

    private static String sessionKey(SessionId id) {
        return B64.encodeToString(id.key().getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void connected(SessionId id) {
        if (registered(id)) {
            willClaims.remove(id); // a will of its previous connection here that never fell due (cancelled)
            long connect = connects.incrementAndGet();
            connectedHere.put(id, connect);
            kvWriter.execute(() -> claim(id, connect));
        }
    }

    /** Write this node as the owner with compare-and-set; the previous owner, another node, lets its client go. */
    private void claim(SessionId id, long connect) {
        String key = sessionKey(id);
        byte[] me = node.getBytes(StandardCharsets.UTF_8);
        for (int attempt = 0; attempt < 10; attempt++) {
            if (!Long.valueOf(connect).equals(connectedHere.get(id))) {
                return; // that connection has ended (or another connect here claims for it)
            }
            try {
                KeyValueEntry current = registry.get(key);
                long revision;
                String previous = null;
                if (current == null || current.getOperation() != KeyValueOperation.PUT) {
                    revision = registry.create(key, me);
                } else {
                    previous = new String(current.getValue(), StandardCharsets.UTF_8);
                    revision = registry.update(key, me, current.getRevision());
                }
                owned.put(id, revision);
                if (previous != null && !previous.equals(node)) {
                    nats.publish(CONTROL_SUBJECT + previous,
                            ("takeover\n" + revision + "\n" + id.key()).getBytes(StandardCharsets.UTF_8));
                }
                return;
            } catch (JetStreamApiException e) {
                // another node wrote it between our read and our write: read again
            } catch (IOException | RuntimeException e) {
                log.warn("cluster: client {} is connected here but the cluster's registry could not be written ({}); "
                        + "a connection with its id on another node is not ended", id.clientId(), e.toString());
                return;
            }
        }
        log.warn("cluster: client {} kept changing nodes while its registry entry was written; giving up", id.clientId());
    }

    @Override
    public void disconnected(SessionId id) {
        if (registered(id)) {
            connectedHere.remove(id);
            WillRecord record = willsHere.remove(id);
            if (record != null) {
                // its will is this node's to publish (or not at all) from now on, unless another node claimed it
                java.util.concurrent.CompletableFuture<Boolean> won = new java.util.concurrent.CompletableFuture<>();
                willClaims.put(id, won);
                kvWriter.execute(() -> claimOwnWill(id, willKey(node, id), record, won));
            }
            kvWriter.execute(() -> {
                Long revision = owned.remove(id);
                if (revision != null) {
                    try {
                        registry.delete(sessionKey(id), revision); // only if no other node took it since
                    } catch (IOException | JetStreamApiException | RuntimeException e) {
                        // another node owns it now, or NATS is away: the entry says the next owner either way
                    }
                }
            });
        }
    }

    // ---- wills of connections whose sessions the cluster does not keep

    /** A node's record of a client's will: {@code <node>.<hash of the client id>}. */
    private static String willKey(String node, SessionId id) {
        return node + "." + ClusterSessions.hash(id);
    }

    @Override
    public void connectionWill(SessionId id, io.sluice.server.broker.Will will, long expirySeconds) {
        if (!registered(id)) {
            return;
        }
        String key = willKey(node, id);
        if (will == null) {
            if (willsHere.remove(id) != null) {
                kvWriter.execute(() -> dropWill(key));
            }
            return;
        }
        WillRecord record = new WillRecord();
        willsHere.put(id, record);
        // due when the session ends or the delay passes, whichever is first (MQTT 5 section 3.1.3.2.2)
        long delayMillis = Math.min(Math.max(0, will.delaySeconds()), expirySeconds) * 1000;
        byte[] value = OrphanWill.encode(id, will.message(), delayMillis);
        kvWriter.execute(() -> {
            try {
                record.revision = willsKv.put(key, value);
            } catch (IOException | JetStreamApiException | RuntimeException e) {
                log.warn("cluster: the will of client {} is not recorded in the cluster ({}); it is lost if this node "
                        + "dies while the client is connected", id.clientId(), e.toString());
            }
        });
    }

    /** The revision of a will record this node wrote (0: not written), read and written on the writer thread. */
    private static final class WillRecord {
        long revision;
    }

    /**
     * On the writer thread, when the connection ended: the record of its will is taken back by a compare-and-set
     * delete on the revision this node wrote. Won: this node publishes the will (if due). Lost: another node found this
     * node down (NATS away past the node timeout) and claimed it, so it published the will already. Not written at
     * all: no one else knows the will, this node publishes it. NATS away: tried again every 2 s, the will waiting.
     */
    private void claimOwnWill(SessionId id, String key, WillRecord record,
                              java.util.concurrent.CompletableFuture<Boolean> won) {
        if (record.revision == 0) {
            won.complete(true);
            return;
        }
        try {
            willsKv.delete(key, record.revision);
            won.complete(true);
        } catch (JetStreamApiException e) {
            log.info("client {}: its will was claimed by another node, which found this node down while NATS was away "
                    + "(and published it): not published here again", id.clientId());
            won.complete(false);
        } catch (IOException | RuntimeException e) {
            if (closed.get()) {
                won.complete(false); // the record stays: the node that finds this one down publishes it
                return;
            }
            retryLater(() -> claimOwnWill(id, key, record, won));
        }
    }

    @Override
    public void willDue(SessionId id, Runnable publish) {
        java.util.concurrent.CompletableFuture<Boolean> won = willClaims.remove(id);
        if (publish == null) {
            return;
        }
        if (won == null) {
            publish.run(); // never recorded in the cluster
            return;
        }
        won.thenAccept(mine -> {
            if (mine) {
                publish.run();
            }
        });
    }

    /** On the writer thread: this node's record of a will goes (a later claim by another node then fails). */
    private void dropWill(String key) {
        try {
            willsKv.delete(key);
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            log.debug("cluster: the will record {} not deleted ({})", key, e.toString());
        }
    }

    /**
     * The wills node {@code of} recorded for its connections, which ended with it (last heard at
     * {@code lastHeardMillis}): each is claimed when it is due by a compare-and-set delete on the revision read here,
     * so one node in the cluster publishes it, and none when its client connected again (the record rewritten, or, for
     * a delayed will, the registry naming another node).
     */
    private void orphanedWills(String of, long lastHeardMillis) {
        try {
            for (String key : willsKv.keys(of + ".>")) {
                KeyValueEntry e = willsKv.get(key);
                if (e == null || e.getOperation() != KeyValueOperation.PUT) {
                    continue;
                }
                OrphanWill w = OrphanWill.decode(e.getValue());
                long revision = e.getRevision();
                Runnable claim = () -> claimWill(of, key, revision, w);
                long wait = lastHeardMillis + w.delayMillis() - System.currentTimeMillis();
                if (wait <= 0) {
                    kvWriter.execute(claim);
                } else {
                    retries.schedule(() -> {
                        if (!closed.get()) {
                            kvWriter.execute(claim);
                        }
                    }, wait, TimeUnit.MILLISECONDS);
                }
            }
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            log.warn("cluster: the wills of the clients of node {} could not be read ({}); they are not published",
                    of, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void claimWill(String of, String key, long revision, OrphanWill w) {
        try {
            willsKv.delete(key, revision);
        } catch (JetStreamApiException e) {
            return; // another node claimed it first, or its client connected again to that node
        } catch (IOException | RuntimeException e) {
            log.warn("cluster: the will of client {} (node {} is down) could not be claimed ({}); it is not published",
                    w.id().clientId(), of, e.toString());
            return;
        }
        if (w.delayMillis() > 0) {
            String owner;
            try {
                owner = registryOwner(w.id());
            } catch (IllegalStateException e) {
                owner = "";
            }
            if (!owner.isEmpty() && !owner.equals(of)) {
                log.info("client {} connected again on node {} within its will delay: its will is not published",
                        w.id().clientId(), owner);
                return;
            }
        }
        log.info("client {} was connected to node {}, which went away: its will is published", w.id().clientId(), of);
        try {
            broker.publish(w.message(), outcome -> { });
        } catch (RuntimeException e) {
            log.error("cluster: the will of client {} was claimed but could not be published", w.id().clientId(), e);
        }
    }

    /** A will as the cluster records it: its client, its message, its delay after the connection ended. */
    record OrphanWill(SessionId id, Message message, long delayMillis) {
        private static final int FORMAT = 1;

        static byte[] encode(SessionId id, Message will, long delayMillis) {
            byte[] key = id.key().getBytes(StandardCharsets.UTF_8);
            byte[] message = MessageCodec.encode(will);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1 + 4 + key.length + 8 + message.length);
            b.put((byte) FORMAT).putInt(key.length).put(key).putLong(delayMillis).put(message);
            return b.array();
        }

        static OrphanWill decode(byte[] value) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(value);
            if (b.get() != FORMAT) {
                throw new IllegalArgumentException("unknown will record format");
            }
            byte[] key = new byte[b.getInt()];
            b.get(key);
            long delay = b.getLong();
            byte[] message = new byte[b.remaining()];
            b.get(message);
            return new OrphanWill(SessionId.parse(new String(key, StandardCharsets.UTF_8)), MessageCodec.decode(message),
                    delay);
        }
    }

    private void controlMessage(io.nats.client.Message msg) {
        String[] parts = new String(msg.getData(), StandardCharsets.UTF_8).split("\n", 3);
        if (parts.length != 3 || !parts[0].equals("takeover")) {
            return;
        }
        long revision = Long.parseLong(parts[1]);
        SessionId id = SessionId.parse(parts[2]);
        Long mine = owned.get(id);
        // a claim of ours newer than the other node's (or not yet written) keeps the client here
        if (mine != null && mine < revision && owned.remove(id, mine)) {
            if (broker.takenOverElsewhere(id)) {
                log.info("client {} connected to another node: its connection here is closed (session taken over)",
                        id.clientId());
            }
        }
    }

    // ---- persistent sessions kept by the cluster (ClusterSessions)

    @Override
    public boolean keepsSessions(SessionId id) {
        return keepsSessions && registered(id);
    }

    @Override
    public KeptSession keptSession(SessionId id) {
        return keepsSessions(id) ? sessions.kept(id) : null;
    }

    /** A kept session as this node's view has it, without ending an expired one as a connect does. */
    KeptSession recordedSession(SessionId id) {
        return sessions.recorded(id);
    }

    /** Whether this node's view of a kept session's record holds a will (for tests). */
    boolean recordsWill(SessionId id) {
        return sessions.recordsWill(id);
    }

    /** Since when this node sees a kept session offline: 0 while connected somewhere, -1 when none is kept. */
    long offlineSince(SessionId id) {
        return sessions.offlineSince(id);
    }

    @Override
    public void sessionOnline(io.sluice.server.broker.Session s) {
        sessions.online(s);
    }

    @Override
    public void sessionChanged(io.sluice.server.broker.Session s) {
        sessions.subscriptionsChanged(s);
    }

    @Override
    public void afterSessionWrites(Runnable then) {
        sessions.afterWrites(then);
    }

    @Override
    public void sessionOffline(io.sluice.server.broker.Session s, long disconnectedAtMillis, Message will,
                               long willAtMillis) {
        sessions.offline(s, disconnectedAtMillis, will, willAtMillis);
    }

    @Override
    public void sessionLeft(io.sluice.server.broker.Session s) {
        sessions.left(s);
    }

    @Override
    public void sessionEnded(SessionId id) {
        if (keepsSessions(id)) {
            sessions.ended(id);
        }
    }

    // ---- retained messages

    @Override
    public void retained(Message m) {
        String key = B64.encodeToString(m.topic().getBytes(StandardCharsets.UTF_8));
        byte[] value = m.payload().length == 0 ? null : MessageCodec.encode(m);
        kvWriter.execute(() -> {
            try {
                if (value == null) {
                    retainedKv.delete(key);
                } else {
                    retainedKv.put(key, value);
                }
            } catch (IOException | JetStreamApiException | RuntimeException e) {
                log.warn("cluster: the retained message of {} is kept on this node only ({}); other nodes get it with "
                        + "the topic's next retained publish", m.topic(), e.toString());
            }
        });
    }

    private void retainedChanged(String key, byte[] value) {
        String topic = new String(B64D.decode(key), StandardCharsets.UTF_8);
        if (topic.startsWith("$SYS/")) {
            return; // each node's own; put there by an older node, never applied over this node's values
        }
        if (value != null) {
            broker.retainedFromCluster(MessageCodec.decode(value));
        } else {
            broker.retainedFromCluster(Message.builder(topic).payload(new byte[0]).build());
        }
    }

    // ---- state

    public String nodeId() {
        return node;
    }

    /** The other nodes a publish to {@code topic} goes to now (the route table's answer). */
    public List<String> nodesFor(String topic) {
        MatchResult match = table.match(topic);
        List<String> nodes = new ArrayList<>(match.sessionCount());
        for (int i = 0; i < match.sessionCount(); i++) {
            nodes.add(match.session(i).clientId());
        }
        return nodes;
    }

    /** The other nodes with a member of a shared group ({@code <group>}) whose filter matches {@code topic}. */
    public List<String> groupNodesFor(String group, String topic) {
        MatchResult match = table.match(topic);
        List<String> nodes = new ArrayList<>();
        for (int i = 0; i < match.groupCount(); i++) {
            if (match.group(i).name().equals(group)) {
                for (io.sluice.server.broker.Subscription s : match.group(i).members()) {
                    nodes.add(s.session().clientId());
                }
            }
        }
        return nodes;
    }

    /** The node the registry names for a client id, "" for none (reads NATS: not for an event loop). */
    public String registryOwner(SessionId id) {
        try {
            KeyValueEntry e = registry.get(sessionKey(id));
            return e == null || e.getOperation() != KeyValueOperation.PUT ? ""
                    : new String(e.getValue(), StandardCharsets.UTF_8);
        } catch (IOException | JetStreamApiException e) {
            throw new IllegalStateException("cannot read the registry: " + e.getMessage(), e);
        }
    }

    /** Filter entries of other nodes in the route table. */
    public int remoteRoutes() {
        return table.size();
    }

    /** Messages sent to other nodes (one per node), received from them, and QoS 0 ones NATS could not take. */
    public long sent() {
        return sentRemote.get();
    }

    public long received() {
        return receivedRemote.get();
    }

    public long droppedQos0() {
        return droppedQos0.get();
    }

    /** Times a lane to another node waited for that node's room (its window full). */
    public long heldForRoom() {
        return lanes.heldForRoom();
    }

    /** The window each lane to another node is held to now (0: none). */
    public int window() {
        return effectiveWindow;
    }

    /** Sends that went out past a lane's window because no report of room came (one may have been lost). */
    public long sentPastWindow() {
        return lanes.pastWindow();
    }

    /** Messages held for a node's room and given up for it because it went down (never put into JetStream for it). */
    public long gaveUpForDownNodes() {
        return lanes.gaveUpForDown();
    }

    /** Sends to other nodes JetStream refused because that node's share of the stream held its bound. */
    public long refusedAtBound() {
        return refusedAtBound.get();
    }

    /** JetStream messages made for other nodes and kept sessions: a message alone, or several packed (a batch). */
    public long jetStreamSends() {
        return lanes.units();
    }

    /** Messages that went to JetStream packed with others. */
    public long packedSends() {
        return lanes.packed();
    }

    /** QoS 1/2 sends JetStream did not take at once and that were tried again. */
    public long retried() {
        return retried.get();
    }

    /** Stop taking messages, finish the registry and route writes in hand (briefly), and leave NATS. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        Thread t = consumerThread;
        if (t != null) {
            t.interrupt();
        }
        kvWriter.shutdown();
        try {
            kvWriter.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        lanes.close();
        keptBounds.close();
        keptCounts.shutdownNow();
        reporter.shutdownNow();
        beats.shutdownNow();
        retries.shutdownNow();
        sessions.close();
        closeQuietly(nats);
    }
}
