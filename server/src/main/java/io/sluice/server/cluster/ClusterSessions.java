package io.sluice.server.cluster;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.KeyValue;
import io.nats.client.PurgeOptions;
import io.nats.client.PushSubscribeOptions;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.KeyValueOperation;
import io.nats.client.impl.Headers;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.ClusterBus.KeptSession;
import io.sluice.server.broker.ClusterBus.KeptSubscription;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.MatchResult;
import io.sluice.server.broker.Session;
import io.sluice.server.broker.SessionId;
import io.sluice.server.broker.Subscription;
import io.sluice.server.broker.SubscriptionOptions;
import io.sluice.server.events.Logs;
import io.sluice.server.store.MessageCodec;
import org.slf4j.Logger;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Persistent sessions kept by the cluster, so a session resumes on whichever node its client reaches next, even
 * after the node that had it was killed (docs/cluster.md, "Persistent sessions"):
 * <ul>
 * <li>the KV bucket {@value #BUCKET} holds each session's record (its expiry, when it went offline, its
 * subscriptions), keyed by a hash of the session's id; every node follows it into memory, so a CONNECT learns at
 * once (no NATS round trip on the event loop) whether a session is present, and a publish finds the kept sessions
 * its topic matches in a {@link RouteTable} of their filters;</li>
 * <li>the stream {@value #STREAM} holds each session's queued messages on {@code sluice.session.<hash>} (work-queue
 * retention, bounded per session by {@code --max-queued-messages}); the publishing node puts a message there once
 * per matching session and answers its publisher once JetStream holds it;</li>
 * <li>the node the session is connected to reads its subject through a durable consumer of its own into the
 * session's queue, and acknowledges each message to JetStream only once the client acknowledged it: what a node
 * killed mid-stream had queued or in flight is still in the stream, and the next node's fresh consumer starts
 * with it, in order.</li>
 * </ul>
 * All NATS calls run on one thread of their own, in order; the consumers deliver on one dispatcher thread.
 */
final class ClusterSessions implements AutoCloseable {
    private static final Logger log = Logs.get(ClusterSessions.class);

    static final String BUCKET = "sluice-session-state";
    static final String STREAM = "SLUICE_SESSION";
    static final String SUBJECT = "sluice.session.";
    /**
     * 1: without inbound QoS 2 packet ids; 2: with them; 3: with the node that holds or last held it; 4: with a will
     * waiting for its delay (read all).
     */
    private static final int FORMAT = 4;
    /**
     * A message stays unacknowledged while its client holds it; JetStream must not hand it out again meanwhile
     * (a stuck client is closed long before this by --stuck-consumer-timeout).
     */
    private static final Duration ACK_WAIT = Duration.ofHours(1);
    /** Sending lanes a feed remembers the furthest place of (the most recently heard). */
    private static final int LANES_REMEMBERED = 64;
    /** How often each node looks for kept sessions whose expiry passed while offline. */
    private static final long SWEEP_MILLIS = 1000;
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private final Connection nats;
    /** This node's id, written into the records of the sessions connected here. */
    private final String node;
    private final JetStream js;
    private final JetStreamManagement jsm;
    private final KeyValue kv;
    private final Broker broker;
    private final int maxQueued;
    /** How long a feed waits for a place of a lane before giving it up (the node timeout: its sender is down). */
    private final long holdNanos;
    private final ScheduledExecutorService worker;
    private final Dispatcher dispatcher;
    /** Every kept session of the cluster, by hash, as the bucket says. */
    private final Map<String, Kept> mirror = new ConcurrentHashMap<>();
    /** The ordinary subscriptions of kept sessions: a stand-in "session" per hash. */
    private final RouteTable routes;
    /** Sessions connected here and fed from their subjects. */
    private final Map<String, Feed> feeds = new ConcurrentHashMap<>();
    /** The latest record of a session connected here not yet taken by a write on the worker. */
    private final Map<String, byte[]> pendingRecords = new ConcurrentHashMap<>();
    /** The revision this node last wrote per session it has connected; a stale writer's CAS fails. */
    private final Map<String, Long> written = new ConcurrentHashMap<>();
    private volatile boolean closed;
    /** Told of each other node a record shows a session connected to, so liveness follows nodes without routes. */
    private volatile java.util.function.Consumer<String> holderSeen = n -> { };
    /** For a node that is down, how long it has not been heard (ms); -1 for a node alive or unknown. */
    private volatile java.util.function.ToLongFunction<String> downFor = n -> -1;

    /**
     * A session's record: its id, what is kept of it, since when it is offline (0: connected somewhere), the node
     * it is connected to or was last ("" in records of an older format), and its will (null for none): offline,
     * one waiting for its delay, with when it is due; connected, the will its connection has, with its delay in ms
     * (due that long after the connection ends, which the others decide when its node dies).
     */
    record Kept(String key, KeptSession session, long disconnectedAtMillis, String node, Message will,
                long willAtMillis) {
        Kept(String key, KeptSession session, long disconnectedAtMillis, String node) {
            this(key, session, disconnectedAtMillis, node, null, 0);
        }

        boolean expired(long now) {
            long expiry = session.expirySeconds();
            return disconnectedAtMillis > 0 && expiry != Long.MAX_VALUE
                    && now - disconnectedAtMillis >= expiry * 1000;
        }

        boolean willDue(long now) {
            return will != null && disconnectedAtMillis > 0 && now >= willAtMillis;
        }

        /**
         * Offline without having said goodbye (its node died, last heard at {@code lastHeard}), counted as offline
         * since {@code since}, when the cluster found that out: its expiry runs from then, its will is due its delay
         * (or the expiry, if sooner) after the node was last heard.
         */
        Kept offlineSince(long since, long lastHeard) {
            if (will == null || disconnectedAtMillis != 0) {
                return new Kept(key, session, since, node, will, willAtMillis);
            }
            long expiry = session.expirySeconds() == Long.MAX_VALUE ? Long.MAX_VALUE : session.expirySeconds() * 1000;
            return new Kept(key, session, since, node, will, lastHeard + Math.min(willAtMillis, expiry));
        }

        Kept withoutWill() {
            return new Kept(key, session, disconnectedAtMillis, node);
        }
    }

    ClusterSessions(Connection nats, String node, Broker broker, int replicas, int maxQueued, long matchCacheSize,
                    long holdNanos) throws IOException, JetStreamApiException {
        this.nats = nats;
        this.holdNanos = holdNanos;
        this.node = node;
        this.broker = broker;
        this.js = nats.jetStream();
        this.jsm = nats.jetStreamManagement();
        this.maxQueued = maxQueued;
        this.routes = new RouteTable(matchCacheSize);
        // a session's queue is bounded as on one node by each sending node's count (KeptQueueBounds); the stream's
        // own bound per session is set well above it and never reached
        JetStreamSetup.ensureStream(jsm, STREAM, SUBJECT + "*", replicas, streamBound(maxQueued));
        this.queueBound = readQueueBound(streamBound(maxQueued));
        this.kv = JetStreamSetup.ensureBucket(nats, BUCKET, replicas);
        this.worker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sluice-cluster-sessions");
            t.setDaemon(true);
            return t;
        });
        this.dispatcher = nats.createDispatcher();
    }

    /** The bucket's subjects, for {@link NatsCluster}'s follower. */
    KeyValue bucket() {
        return kv;
    }

    void started() {
        worker.scheduleWithFixedDelay(this::sweep, SWEEP_MILLIS, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** A hash of the session's id: a subject token, consumer name and key of bounded length for any client id. */
    static String hash(SessionId id) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(id.key().getBytes(StandardCharsets.UTF_8));
            return B64.encodeToString(java.util.Arrays.copyOf(d, 24));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- the mirror of the bucket

    /**
     * What this node put into its view ahead of the bucket (its own writes, not yet echoed back), by hash;
     * {@link #DELETED} for a delete. Until the bucket says the same, what it says of this node's older writes must
     * not undo them: a session that subscribed and went offline at once would otherwise look, for a moment, as
     * before its subscription (and a publish in that moment would not be queued for it).
     */
    private final Map<String, byte[]> ahead = new ConcurrentHashMap<>();
    private static final byte[] DELETED = new byte[0];

    /**
     * A change the bucket reports (the follower, or a read of the bucket); null: deleted. Another node's write is
     * applied at once; one of this node's own is applied once the bucket has caught up with what this node put
     * into its view ahead of it.
     */
    synchronized void changed(String hash, byte[] value) {
        byte[] mine = ahead.get(hash);
        if (mine != null) {
            boolean same = value == null ? mine == DELETED : java.util.Arrays.equals(value, mine);
            if (same) {
                ahead.remove(hash, mine);
            } else if (value == null || decode(value).node().equals(node)) {
                return; // an older write of this node's, its latest still on the way
            } else {
                ahead.remove(hash, mine); // another node wrote it since: that is the session's record now
            }
        }
        view(hash, value);
    }

    /**
     * Put a record into the view (null: deleted). Only the filters that changed are touched in the route table: a
     * publish meanwhile still finds the others.
     */
    private synchronized void view(String hash, byte[] value) {
        Kept now = value == null ? null : decode(value);
        if (now != null && now.disconnectedAtMillis() == 0 && !now.node().isEmpty() && !now.node().equals(node)) {
            holderSeen.accept(now.node());
        }
        Kept before = now == null ? mirror.remove(hash) : mirror.put(hash, now);
        java.util.Set<String> old = filters(before);
        java.util.Set<String> fresh = filters(now);
        for (String f : fresh) {
            if (!old.contains(f)) {
                routes.add(hash, f);
            }
        }
        for (String f : old) {
            if (!fresh.contains(f)) {
                routes.remove(hash, f);
            }
        }
    }

    /**
     * What a publish matches the session by: its ordinary filters, and while it is offline its shared ones
     * ({@code $share/<group>/<filter>}), which a group with no member on any node falls back to.
     */
    private static java.util.Set<String> filters(Kept k) {
        if (k == null) {
            return java.util.Set.of();
        }
        java.util.Set<String> out = new java.util.HashSet<>();
        for (KeptSubscription s : k.session().subscriptions()) {
            if (s.shareGroup() != null) {
                // connected, it is a member of its groups in the trie of the node it is on
                if (k.disconnectedAtMillis() > 0) {
                    out.add("$share/" + s.shareGroup() + "/" + s.filter());
                }
            } else if (!s.filter().startsWith("$")) {
                // $ subscriptions are matched on the node the session is connected to ($SYS is each node's own)
                out.add(s.filter());
            }
        }
        return out;
    }

    KeptSession kept(SessionId id) {
        Kept k = mirror.get(hash(id));
        if (k != null && k.expired(System.currentTimeMillis())) {
            // expired but not swept yet: ended now, before the new session's record and consumer (same thread),
            // so none of its messages reach the new session
            expired(hash(id));
            return null;
        }
        return k == null ? null : k.session();
    }

    /**
     * The kept sessions a publish to {@code topic} matches: {@code session(i).clientId()} is the hash of one whose
     * ordinary filters match, {@code group(i)} a shared group with offline kept sessions as members.
     */
    MatchResult match(String topic) {
        return routes.match(topic);
    }

    /** The subject of a kept session's queue, from the hash a {@link #match} names it by. */
    static String subject(String hash) {
        return SUBJECT + hash;
    }

    /** The subjects of the kept sessions whose ordinary filters {@code match} (of {@link #match}) found. */
    static List<String> subjects(MatchResult match) {
        int n = match.sessionCount();
        if (n == 0) {
            return List.of();
        }
        List<String> subjects = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            subjects.add(SUBJECT + match.session(i).clientId());
        }
        return subjects;
    }

    /** The stream's bound per session as JetStream has it (the last node started set it). */
    private volatile int queueBound;

    /**
     * The stream's bound per session subject this node sets: twice the queue bound and a thousand more, room for every
     * sending node's share past what one node counted (see {@link KeptQueueBounds}). At the bound nats-server 2.9 on
     * a NATS cluster may acknowledge a publish it then does not keep (nats-server issue 4247): it must never be met.
     */
    static int streamBound(int maxQueued) {
        return (int) Math.min(Integer.MAX_VALUE, 2L * maxQueued + 1000);
    }

    /** What this node counts a session's queue to: its --max-queued-messages, at most half the stream's bound. */
    static int countedLimit(int maxQueued, int streamBound) {
        return Math.max(1, Math.min(maxQueued, streamBound / 2));
    }

    /**
     * The sends to one session this node lets through unsettled before it reads the queue's count again: half of what
     * the stream's bound leaves over the counted limit, split among the {@code senders} nodes that may send to it, so
     * that their shares together never bring a queue near the stream's bound.
     */
    static int share(int maxQueued, int streamBound, int senders) {
        return Math.max(1, (streamBound - countedLimit(maxQueued, streamBound)) / (2 * Math.max(1, senders)));
    }

    int queueBound() {
        return queueBound;
    }

    /** The stream's bound per session as JetStream has it now ({@code fallback} when it cannot be read). */
    int readQueueBound(int fallback) {
        try {
            long b = jsm.getStreamInfo(STREAM).getConfiguration().getMaxMsgsPerSubject();
            queueBound = b > 0 && b <= Integer.MAX_VALUE ? (int) b : fallback;
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            queueBound = fallback;
        }
        return queueBound;
    }

    /** How many messages JetStream holds in the queue of the session {@code subject} names (a JetStream request). */
    long count(String subject) throws IOException, JetStreamApiException {
        Long n = jsm.getStreamInfo(STREAM, io.nats.client.api.StreamInfoOptions.filterSubjects(subject))
                .getStreamState().getSubjectMap().get(subject);
        return n == null ? 0 : n;
    }

    /** Whether this node's view has the session {@code subject} names offline. */
    boolean offline(String subject) {
        Kept k = mirror.get(subject.substring(SUBJECT.length()));
        return k != null && k.disconnectedAtMillis() > 0;
    }

    /**
     * A message for a session's subject that JetStream refused because the session's queue is full: an offline
     * session drops it (as on one node, --offline-queue-full drop), a connected one holds its publisher.
     */
    boolean dropsWhenFull(String subject) {
        Kept k = mirror.get(subject.substring(SUBJECT.length()));
        return k != null && k.disconnectedAtMillis() > 0
                && broker.config().offlineQueuePolicy() == io.sluice.server.broker.OfflineQueuePolicy.DROP;
    }

    // ---- records

    /** A connected session's record, with the will its connection has (published by others if this node dies). */
    private byte[] encode(Session s, long disconnectedAtMillis) {
        io.sluice.server.broker.Will w = s.will();
        return w == null ? encode(s, disconnectedAtMillis, null, 0)
                : encode(s, disconnectedAtMillis, w.message(), Math.max(0, w.delaySeconds()) * 1000);
    }

    private byte[] encode(Session s, long disconnectedAtMillis, Message will, long willAtMillis) {
        List<KeptSubscription> subs = new ArrayList<>();
        for (Subscription sub : s.subscriptions()) {
            subs.add(new KeptSubscription(sub.filter(), sub.shareGroup(), sub.options()));
        }
        return encode(new Kept(s.key(), new KeptSession(s.expiryIntervalSeconds(), subs,
                java.util.Set.copyOf(s.inboundQos2())), disconnectedAtMillis, node, will, willAtMillis));
    }

    private static byte[] encode(Kept k) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(FORMAT);
            writeString(out, k.key());
            out.writeLong(k.session().expirySeconds());
            out.writeLong(k.disconnectedAtMillis());
            List<KeptSubscription> subs = k.session().subscriptions();
            out.writeInt(subs.size());
            for (KeptSubscription sub : subs) {
                writeString(out, sub.filter());
                writeString(out, sub.shareGroup() == null ? "" : sub.shareGroup());
                SubscriptionOptions o = sub.options();
                out.writeByte(o.qos());
                out.writeByte((o.noLocal() ? 1 : 0) | (o.retainAsPublished() ? 2 : 0));
                out.writeByte(o.retainHandling());
                out.writeInt(o.subscriptionId());
            }
            out.writeInt(k.session().inboundQos2().size());
            for (int id : k.session().inboundQos2()) {
                out.writeShort(id);
            }
            writeString(out, k.node());
            out.writeBoolean(k.will() != null);
            if (k.will() != null) {
                byte[] will = MessageCodec.encode(k.will());
                out.writeInt(will.length);
                out.write(will);
                out.writeLong(k.willAtMillis());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static Kept decode(byte[] value) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(value))) {
            int format = in.readByte();
            if (format < 1 || format > FORMAT) {
                throw new IllegalArgumentException("unknown session record format " + format);
            }
            String key = readString(in);
            long expiry = in.readLong();
            long disconnectedAt = in.readLong();
            int n = in.readInt();
            List<KeptSubscription> subs = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                String filter = readString(in);
                String group = readString(in);
                int qos = in.readByte();
                int flags = in.readByte();
                int rh = in.readByte();
                int id = in.readInt();
                subs.add(new KeptSubscription(filter, group.isEmpty() ? null : group,
                        new SubscriptionOptions(qos, (flags & 1) != 0, (flags & 2) != 0, rh, id)));
            }
            java.util.Set<Integer> qos2 = new java.util.HashSet<>();
            if (format >= 2) {
                for (int i = in.readInt(); i > 0; i--) {
                    qos2.add(in.readUnsignedShort());
                }
            }
            String holder = format >= 3 ? readString(in) : "";
            Message will = null;
            long willAt = 0;
            if (format >= 4 && in.readBoolean()) {
                byte[] w = new byte[in.readInt()];
                in.readFully(w);
                will = MessageCodec.decode(w);
                willAt = in.readLong();
            }
            return new Kept(key, new KeptSession(expiry, List.copyOf(subs), java.util.Set.copyOf(qos2)), disconnectedAt,
                    holder, will, willAt);
        } catch (IOException e) {
            throw new IllegalArgumentException("malformed session record", e);
        }
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readString(DataInputStream in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    // ---- a session connected here

    /**
     * Record the session (this node has it now) and feed its queue from its subject: a fresh consumer, so what a
     * previous holder was handed and never saw acknowledged comes first, in order.
     */
    void online(Session s) {
        String hash = hash(s.id());
        byte[] record = encode(s, 0);
        applyLocally(hash, record);
        worker.execute(() -> {
            // a connection that ended before its feed started gets none: the worker stops it later, and meanwhile it
            // would take the session's messages off to a session that is not here
            if (write(hash, record, null) && !feeds.containsKey(hash) && broker.session(s.id()) == s) {
                startFeed(hash, s);
            }
        });
    }

    /** Its subscriptions changed: write the record again (the feed reads the session's subscriptions as they are). */
    void subscriptionsChanged(Session s) {
        String hash = hash(s.id());
        byte[] record = encode(s, 0);
        applyLocally(hash, record);
        // a burst of changes (the packet ids of a pipelining QoS 2 publisher) is one write of the latest record: a
        // write already queued takes it, and what waits for it (afterWrites) is queued behind that write
        if (pendingRecords.put(hash, record) == null) {
            worker.execute(() -> {
                byte[] latest = pendingRecords.remove(hash);
                if (latest != null) {
                    write(hash, latest, written.get(hash));
                }
            });
        }
    }

    void onHolderSeen(java.util.function.Consumer<String> seen) {
        this.holderSeen = seen;
    }

    void downFor(java.util.function.ToLongFunction<String> silentMillis) {
        this.downFor = silentMillis;
    }

    /**
     * A session connected to a node that is down (not heard for the node timeout, {@code silentMillis} ago it was
     * last) is offline from now, so its expiry runs on the nodes that are left instead of waiting for the node or
     * the client to come back. Written once, by compare-and-set on its revision: whichever node writes it first,
     * the others (and a client that came back elsewhere meanwhile) make theirs fail. On the worker, from the sweep.
     *
     * <p>Offline from when the cluster found out, not from the node's last heartbeat: the connection ended somewhere
     * in between, and a finding that comes late (a loaded machine starves the thread that judges liveness, or this
     * worker) must not expire the session in the moment it is found offline, its queued messages deleted before any
     * node ever had it offline. It lives up to the node timeout longer than its client asked; its will, which the
     * client wants soon, is due its delay after the last heartbeat.
     */
    private void markOffline(String hash, String other, long silentMillis) {
        long now = System.currentTimeMillis();
        long lastHeard = Math.max(1, now - silentMillis);
        try {
            KeyValueEntry entry = kv.get(hash);
            if (entry == null || entry.getOperation() != KeyValueOperation.PUT) {
                return;
            }
            Kept k = decode(entry.getValue());
            if (!connectedTo(k, other)) {
                changed(hash, entry.getValue());
                return;
            }
            byte[] record = encode(k.offlineSince(now, lastHeard));
            kv.update(hash, record, entry.getRevision());
            written(hash, record);
            log.info("session {} was connected to node {}, which is down (last heard {} ms ago): offline from now, it "
                    + "expires {} s after this unless its client comes back", k.key(), other, silentMillis,
                    k.session().expirySeconds() == Long.MAX_VALUE ? "never" : k.session().expirySeconds());
        } catch (JetStreamApiException ex) {
            // another node wrote it first, or its client is back
        } catch (IOException | RuntimeException ex) {
            log.warn("cluster: a session of the down node {} could not be marked offline ({}); trying again in a "
                    + "second", other, ex.toString());
        }
    }

    private static boolean connectedTo(Kept k, String node) {
        return k.disconnectedAtMillis() == 0 && k.node().equals(node);
    }

    /** Run {@code then} after every record write asked for so far (the worker runs them in order). */
    void afterWrites(Runnable then) {
        try {
            worker.execute(then);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            then.run(); // stopping: nothing more is written
        }
    }

    /**
     * Offline now: stop feeding it; the record says since when, unless another node wrote it since. A will due at
     * once is published by this node only when that write wins: the record of a connected session holds its will, and
     * a node that found this one down (NATS away past the node timeout) marked the session offline and published the
     * will itself, which makes this node's compare-and-set fail.
     */
    void offline(Session s, long disconnectedAtMillis, Message will, long willAtMillis) {
        String hash = hash(s.id());
        boolean dueNow = will != null && willAtMillis <= disconnectedAtMillis;
        byte[] record = dueNow ? encode(s, disconnectedAtMillis, null, 0)
                : encode(s, disconnectedAtMillis, will, willAtMillis);
        // this node's view changes at once, as online() makes it: a publish made here right after the disconnect
        // already meets an offline session (its full queue drops instead of holding the publisher), and the feed
        // hands the session nothing more
        Feed f = feeds.get(hash);
        if (f != null && f.session == s) {
            f.stopped = true;
        }
        applyLocally(hash, record);
        worker.execute(() -> {
            stopFeed(hash, s);
            Long mine = written.remove(hash);
            if (!dueNow) {
                if (mine == null || !write(hash, record, mine)) {
                    reread(hash); // another node wrote it since (its client is there now): its record, not ours
                }
                return;
            }
            offlineWithWill(s, hash, record, mine, will);
        });
    }

    /**
     * On the worker: the offline record of a session whose will is due at once, written by compare-and-set on the
     * revision this node wrote last ({@code mine}); the will is published if it wins. NATS away: tried again every
     * 2 s, the will waiting (the node that finds this one down publishes it if this node never gets back).
     */
    private void offlineWithWill(Session s, String hash, byte[] record, Long mine, Message will) {
        if (mine == null) {
            // this connection's record never reached the cluster: no other node knows its will
            reread(hash);
            publishDueWill(s, will);
            return;
        }
        try {
            long revision = kv.update(hash, record, mine);
            written.put(hash, revision);
            publishDueWill(s, will);
        } catch (JetStreamApiException e) {
            reread(hash);
            log.info("session {}: its record was written by another node since (it found this node down while NATS "
                    + "was away, and published the will, or the client is there now): its will is not published here",
                    s.id());
        } catch (IOException | RuntimeException e) {
            if (closed) {
                return;
            }
            worker.schedule(() -> {
                if (written.containsKey(hash)) {
                    // connected here again meanwhile: the will of the connection that ended is still this node's
                    publishDueWill(s, will);
                } else {
                    offlineWithWill(s, hash, record, mine, will);
                }
            }, 2, TimeUnit.SECONDS);
        }
    }

    private void publishDueWill(Session s, Message will) {
        log.info("session {}: its connection ended without a DISCONNECT: its will is published", s.id());
        broker.publish(will, outcome -> { });
    }

    /** The record as this node's view has it, expired or not (never ends it, unlike {@link #kept}). */
    KeptSession recorded(SessionId id) {
        Kept k = mirror.get(hash(id));
        return k == null ? null : k.session();
    }

    /** Since when the node's view has the session offline: 0 while connected somewhere, -1 when it has none. */
    long offlineSince(SessionId id) {
        Kept k = mirror.get(hash(id));
        return k == null ? -1 : k.disconnectedAtMillis();
    }

    /** Whether the node's view of a kept session's record holds a will. */
    boolean recordsWill(SessionId id) {
        Kept k = mirror.get(hash(id));
        return k != null && k.will() != null;
    }

    /** The record as the bucket has it, into this node's view (a local change of ours that lost a race undone). */
    private void reread(String hash) {
        try {
            KeyValueEntry entry = kv.get(hash);
            ahead.remove(hash); // this node's write failed: what it put into its view ahead is not coming
            changed(hash, entry == null || entry.getOperation() != KeyValueOperation.PUT ? null : entry.getValue());
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            // NATS away: the follower reads the bucket again when it is back
        }
    }

    /** Another node has it now: stop feeding it here, write nothing. */
    void left(Session s) {
        String hash = hash(s.id());
        worker.execute(() -> {
            stopFeed(hash, s);
            written.remove(hash);
        });
    }

    /** Ended: delete its record, its consumer and its queued messages. */
    void ended(SessionId id) {
        String hash = hash(id);
        applyLocally(hash, null);
        worker.execute(() -> {
            stopFeed(hash, null);
            written.remove(hash);
            try {
                kv.delete(hash);
            } catch (IOException | JetStreamApiException | RuntimeException e) {
                log.warn("cluster: the ended session {} is still recorded ({}); it expires with its expiry interval",
                        id.clientId(), e.toString());
            }
            forgetMessages(hash);
        });
    }

    /**
     * Seen expired here before any sweep ended it: end it as the sweep does, but only the record that expired. Its
     * messages and consumer go first and the record last, by compare-and-set on the expired revision, so a node
     * that sees the record gone can start a new session of the same id without this node's cleanup reaching it;
     * a record written since (the client came back, or another node ended it) is left alone.
     */
    private void expired(String hash) {
        applyLocally(hash, null);
        worker.execute(() -> {
            stopFeed(hash, null);
            written.remove(hash);
            try {
                long before = nextSequence();
                KeyValueEntry entry = kv.get(hash);
                if (entry == null || entry.getOperation() != KeyValueOperation.PUT
                        || !decode(entry.getValue()).expired(System.currentTimeMillis())) {
                    ahead.remove(hash, DELETED); // nothing deleted: no echo of it is coming
                    return;
                }
                Kept k = decode(entry.getValue());
                forgetMessages(hash, expiryMoment(k), before);
                kv.delete(hash, entry.getRevision());
            } catch (JetStreamApiException e) {
                // written since: a new session of the id, or another node ended it first
            } catch (IOException | RuntimeException e) {
                log.warn("cluster: the expired session record {} is still there ({}); the sweep ends it", hash,
                        e.toString());
            }
        });
    }

    /** When an offline session's expiry passed: a consumer made after it belongs to a new session of the id. */
    private static long expiryMoment(Kept k) {
        return k.disconnectedAtMillis() + k.session().expirySeconds() * 1000;
    }

    /**
     * A write of this node's that the bucket already holds, into the view at once. Not kept {@link #ahead}: its echo
     * may have come already, and any older one that comes after it is followed by its own.
     */
    private synchronized void written(String hash, byte[] record) {
        ahead.remove(hash);
        view(hash, record);
    }

    /** This node's own change, before the bucket echoes it: a publish here matches the new filters at once. */
    private synchronized void applyLocally(String hash, byte[] record) {
        ahead.put(hash, record == null ? DELETED : record);
        view(hash, record);
    }

    /** Put the record ({@code expected} non-null: only over that revision); false when it could not be written. */
    private boolean write(String hash, byte[] record, Long expected) {
        try {
            long revision = expected == null ? kv.put(hash, record) : kv.update(hash, record, expected);
            written.put(hash, revision);
            return true;
        } catch (JetStreamApiException e) {
            return false; // another node wrote it since: that node has the session
        } catch (IOException | RuntimeException e) {
            log.warn("cluster: the session record of {} could not be written ({}); it resumes elsewhere with what was "
                    + "recorded before", hash, e.toString());
            return false;
        }
    }

    private void forgetMessages(String hash) {
        forgetMessages(hash, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    /**
     * The stream's next sequence now, read before an expired record is: purging below it leaves what is published
     * later, which is a new session's once another node ended the old one meanwhile (and this node's delete fails).
     */
    private long nextSequence() throws IOException, JetStreamApiException {
        return jsm.getStreamInfo(STREAM).getStreamState().getLastSequence() + 1;
    }

    /**
     * Its consumer (unless made after {@code madeBeforeMillis}: a new session's) and its queued messages (those
     * below the stream sequence {@code beforeSequence}).
     */
    private void forgetMessages(String hash, long madeBeforeMillis, long beforeSequence) {
        try {
            if (madeBeforeMillis == Long.MAX_VALUE
                    || jsm.getConsumerInfo(STREAM, durable(hash)).getCreationTime().toInstant().toEpochMilli()
                            < madeBeforeMillis) {
                jsm.deleteConsumer(STREAM, durable(hash));
            }
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            // none
        }
        try {
            jsm.purgeStream(STREAM, beforeSequence == Long.MAX_VALUE ? PurgeOptions.subject(SUBJECT + hash)
                    : PurgeOptions.builder().subject(SUBJECT + hash).sequence(beforeSequence).build());
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            log.warn("cluster: the queued messages of an ended session were not deleted ({})", e.toString());
        }
    }

    private static String durable(String hash) {
        return "s-" + hash;
    }

    /** One session's consumer on this node, and the messages waiting for room in its queue, in order. */
    private final class Feed {
        final String hash;
        final Session session;
        final ArrayDeque<Handed> waiting = new ArrayDeque<>();
        /**
         * Per sending lane, the furthest place this feed put into the queue. A message at or below it came before,
         * though JetStream may not count it as handed again: after NATS restarts, a consumer whose state had not
         * reached the disk hands out again what it had handed, and a send whose acknowledgement was lost with NATS,
         * sent once more, is stored again once the message was taken from the stream (a restarted server knows the
         * message ids of what its streams still hold, not of what was taken).
         */
        private final Map<String, Long> furthest = new java.util.LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
                return size() > LANES_REMEMBERED; // a sender's lane idle long enough is never used again
            }
        };
        /**
         * Each sending lane's messages by place, as a node's consumer has them ({@link LaneOrder}): what a send that
         * was stored late (JetStream refused it for a moment, or it was lost with NATS while jnats kept later ones for
         * the next connection) overtook waits for it. Held messages are unacknowledged, so at most one fewer than the
         * session's max-ack-pending, which leaves room for the one waited for.
         */
        private final LaneOrder<io.nats.client.Message> order = new LaneOrder<>(holdNanos, Math.max(0, maxQueued - 1),
                "for one persistent session: below --max-queued-messages; raise it");
        JetStreamSubscription sub;
        /**
         * The stream sequences of the messages this feed has and has not yet acknowledged (held, waiting for room, or in
         * the session's queue): a consumer made anew hands them again, and the feed passes over them.
         */
        final java.util.Set<Long> inHand = ConcurrentHashMap.newKeySet();
        /** The stream sequence up to which the session's previous consumer handed messages out (0: none). */
        volatile long handedUpTo;
        boolean pumping;
        volatile boolean stopped;

        Feed(String hash, Session session) {
            this.hash = hash;
            this.session = session;
        }

        void arrived(io.nats.client.Message msg) {
            if (msg.isJetStream() && !inHand.add(msg.metaData().streamSequence())) {
                // handed again (a consumer made anew when NATS came back) while this feed has it: its first copy is
                // the one acknowledged, by stream sequence, when the client acknowledges it
                return;
            }
            synchronized (this) {
                Headers h = msg.getHeaders();
                order.arrived(h == null ? null : h.getFirst(SendLanes.ORDER_HEADER), msg, System.nanoTime(),
                        this::inOrder);
                if (pumping || waiting.isEmpty()) {
                    return;
                }
                pumping = true;
            }
            pump();
        }

        /** On the sweep: a gap waited for past the hold is given up, and what it held back goes into the queue. */
        void expire(long nowNanos) {
            synchronized (this) {
                order.expire(nowNanos, this::inOrder);
                if (pumping || waiting.isEmpty()) {
                    return;
                }
                pumping = true;
            }
            pump();
        }

        private void inOrder(io.nats.client.Message msg) {
            waiting.addLast(new Handed(msg, handedBefore(msg)));
        }

        /**
         * Whether the session was handed the message before (a repeat, delivered with DUP): JetStream says so, the
         * session's previous consumer had handed it out (its previous connection, here or on a node that died), or its
         * place in its sending lane is not beyond the furthest one handed (which a message delivered after its gap was
         * given up also flags, harmlessly). Under the feed's lock, in lane order.
         */
        private boolean handedBefore(io.nats.client.Message msg) {
            boolean again = msg.isJetStream() && (msg.metaData().deliveredCount() > 1
                    || msg.metaData().streamSequence() <= handedUpTo);
            Headers h = msg.getHeaders();
            String order = h == null ? null : h.getFirst(SendLanes.ORDER_HEADER);
            if (order == null) {
                return again;
            }
            String[] f = order.split(" ");
            if (f.length < 3) {
                return again;
            }
            try {
                long last = Long.parseLong(f[f.length == 4 ? 3 : 1]);
                Long before = furthest.put(f[0], last);
                if (before != null && before >= last) {
                    furthest.put(f[0], before);
                    return true;
                }
            } catch (NumberFormatException e) {
                // not a place: nothing to compare
            }
            return again;
        }

        /** Into the queue in order; a full queue parks the rest until it has room (at most max-ack-pending). */
        void pump() {
            while (true) {
                Handed handed;
                synchronized (this) {
                    handed = waiting.peekFirst();
                    if (handed == null || stopped) {
                        pumping = false;
                        return;
                    }
                }
                io.nats.client.Message msg = handed.msg();
                Message m;
                try {
                    m = MessageCodec.decode(msg.getData());
                } catch (RuntimeException e) {
                    log.warn("cluster: dropping a malformed message of session {} ({})", session.clientId(), e.toString());
                    msg.term();
                    done(msg);
                    synchronized (this) {
                        waiting.pollFirst();
                    }
                    continue;
                }
                // a message a shared group gave the session while it was offline names the group
                if (!broker.deliverKept(session, m, NatsCluster.servedGroups(msg), handed.again(), () -> {
                    msg.ack();
                    done(msg);
                }, this::pump)) {
                    return; // parked; pump() runs again once the queue has room
                }
                synchronized (this) {
                    waiting.pollFirst();
                }
            }
        }

        /** The feed no longer has {@code msg}: acknowledged (or ended) to JetStream. */
        private void done(io.nats.client.Message msg) {
            if (msg.isJetStream()) {
                inHand.remove(msg.metaData().streamSequence());
            }
        }

        /** Its consumer, made anew: what it hands that this feed already has is passed over ({@link #inHand}). */
        void subscribe() throws IOException, JetStreamApiException {
            String durable = durable(hash);
            try {
                // what the previous consumer handed out (to this session's previous connection, on any node, or to this
                // one before NATS went away): the fresh one counts its deliveries from one, so the feed flags these as
                // repeats itself
                handedUpTo = Math.max(handedUpTo,
                        jsm.getConsumerInfo(STREAM, durable).getDelivered().getStreamSequence());
                // a fresh consumer: on a work-queue stream it starts from every message not yet acknowledged, which
                // is exactly what the session still has to get (a previous holder's in-flight ones first)
                jsm.deleteConsumer(STREAM, durable);
            } catch (JetStreamApiException e) {
                // none yet
            }
            ConsumerConfiguration config = ConsumerConfiguration.builder()
                    .durable(durable)
                    .ackPolicy(AckPolicy.Explicit)
                    .ackWait(ACK_WAIT)
                    .maxAckPending(maxQueued)
                    .build();
            // jnats subscribes to the consumer's deliver subject before it creates the consumer: a push consumer
            // created first would push into a subject nobody listens to yet, and what it pushed there would only
            // come again after the ack wait
            sub = js.subscribe(SUBJECT + hash, dispatcher, this::arrived, false,
                    PushSubscribeOptions.builder().stream(STREAM).configuration(config).build());
        }
    }

    /** A message JetStream handed a feed, and whether it was handed it before. */
    private record Handed(io.nats.client.Message msg, boolean again) {
    }

    private void startFeed(String hash, Session s) {
        Feed feed = new Feed(hash, s);
        try {
            feeds.put(hash, feed);
            feed.subscribe();
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            feeds.remove(hash, feed);
            log.warn("cluster: client {} is connected but its kept messages cannot be read from JetStream ({}); they "
                    + "are delivered when it reconnects", s.clientId(), e.toString());
        }
    }

    /**
     * NATS is back: every feed's consumer is made anew. A message JetStream pushed to a feed in the moment NATS went
     * away, and that never arrived, counts as handed out: the old consumer would hand it again only after the ack wait
     * (an hour), while the feed held what follows it in its lane. A fresh consumer on a work-queue stream starts from
     * every message not yet acknowledged, so it comes at once; what the feed already has is passed over by stream
     * sequence, and acknowledged when its client acknowledges it.
     */
    void natsBack() {
        for (Feed f : feeds.values()) {
            worker.execute(() -> refeed(f));
        }
    }

    /** On the worker: {@code f}'s consumer made anew, tried again every 2 s while JetStream does not answer. */
    private void refeed(Feed f) {
        if (closed || f.stopped || feeds.get(f.hash) != f) {
            return;
        }
        try {
            if (f.sub != null) {
                try {
                    dispatcher.unsubscribe(f.sub);
                } catch (RuntimeException e) {
                    // gone with the connection already
                }
            }
            f.subscribe();
            log.info("client {}: its kept messages are read through a consumer made anew now that NATS is back",
                    f.session.clientId());
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            if (!closed) {
                worker.schedule(() -> refeed(f), 2, TimeUnit.SECONDS);
            }
        }
    }

    /** Stop the feed of that session ({@code s} null: whichever session it is). */
    private void stopFeed(String hash, Session s) {
        Feed f = feeds.get(hash);
        if (f == null || (s != null && f.session != s)) {
            return;
        }
        feeds.remove(hash, f);
        f.stopped = true;
        if (f.sub != null) {
            try {
                dispatcher.unsubscribe(f.sub);
            } catch (RuntimeException e) {
                // NATS away: the next holder deletes the consumer anyway
            }
        }
    }

    /** Any node ends kept sessions whose expiry passed offline (a compare-and-set delete: one of them does). */
    private void sweep() {
        if (closed) {
            return;
        }
        long nowNanos = System.nanoTime();
        feeds.values().forEach(f -> f.expire(nowNanos));
        long now = System.currentTimeMillis();
        for (Map.Entry<String, Kept> e : mirror.entrySet()) {
            Kept seen = e.getValue();
            if (seen.disconnectedAtMillis() == 0 && !seen.node().isEmpty() && !seen.node().equals(node)) {
                long silent = downFor.applyAsLong(seen.node());
                if (silent >= 0) {
                    markOffline(e.getKey(), seen.node(), silent);
                }
                continue;
            }
            if (!seen.expired(now) && !seen.willDue(now)) {
                continue;
            }
            String hash = e.getKey();
            try {
                long before = seen.expired(now) ? nextSequence() : Long.MAX_VALUE;
                KeyValueEntry entry = kv.get(hash);
                if (entry == null || entry.getOperation() != KeyValueOperation.PUT) {
                    changed(hash, null);
                    continue;
                }
                Kept k = decode(entry.getValue());
                if (!k.expired(now)) {
                    if (k.willDue(now)) {
                        // the compare-and-set is the claim: one node publishes it, and none once the client is back
                        byte[] record = encode(k.withoutWill());
                        kv.update(hash, record, entry.getRevision());
                        written(hash, record);
                        publishWill(k);
                    }
                    continue;
                }
                // messages and consumer first, the record last (compare-and-set): a node that sees the record gone
                // may start a new session of the id at once, and nothing of this cleanup may reach it
                if (before == Long.MAX_VALUE) {
                    continue; // expired since this look began: the next sweep ends it
                }
                forgetMessages(hash, expiryMoment(k), before);
                kv.delete(hash, entry.getRevision());
                log.info("session {} expired after {} s offline", k.key(), k.session().expirySeconds());
                publishWill(k); // the session ended, which is when a will goes out at the latest
                written(hash, null); // only now: a node's view without the session means its queue is gone too
            } catch (JetStreamApiException ex) {
                // it came back, or another node ended it first
            } catch (IOException | RuntimeException ex) {
                return; // NATS away: next time
            }
        }
    }

    private void publishWill(Kept k) {
        if (k.will() != null) {
            log.info("session {}: its will is published, due {} ms after its connection ended", k.key(),
                    k.willAtMillis() - k.disconnectedAtMillis());
            try {
                broker.publish(k.will(), outcome -> { });
            } catch (RuntimeException e) {
                log.error("cluster: the will of session {} was claimed but could not be published", k.key(), e);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        worker.shutdown();
        try {
            worker.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
