package io.sluice.server.cluster;

import io.nats.client.api.PublishAck;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * This node's QoS 1/2 sends to JetStream, one lane per subject (another node's, or a kept session's), each in the
 * order its sends were made. MQTT keeps one publisher's messages to a topic in order (3.1.1 and 5, section 4.6), and
 * sends are pipelined: a send JetStream refuses for a moment must not be overtaken by later ones to the same subject.
 *
 * <p>While JetStream takes everything, a lane pipelines: each send goes out at once. The first send JetStream does not
 * take (refused, or its acknowledgement does not come) stops the lane: nothing more goes out. After a backoff the
 * oldest send not yet taken goes out alone, again and again until JetStream takes it or it is given up (its node is
 * down, its publisher's deadline passed); then every send not yet taken, those that were in flight behind it
 * included, goes out again in order, two at a time at first and one more with each one taken, up to a ceiling (a
 * quarter of what JetStream keeps per subject), until {@value #OPEN} in a row are taken: a subject that is still
 * nearly full is not flooded again, and what can overtake a refused send stays few. A send that goes out twice carries the same
 * {@code Nats-Msg-Id}, so JetStream stores it once.
 *
 * <p>A send already in flight behind a refused one can still be stored before it: JetStream refused the first and, a
 * moment later, had room for the next. No send can take that back, so each message says where it stands (header
 * {@value #ORDER_HEADER}: the lane, its place in the lane, and the oldest place not yet taken when it went out) and the
 * receiving node puts what overtook back behind what it overtook ({@link LaneOrder}).
 *
 * <p><b>Room.</b> A lane to another node's subject is held to a window: at most {@code credit} of its sends gone out
 * and not yet reported done by that node (in its local queues, acknowledged to JetStream). The receiving node reports
 * the highest place of each lane it has done on core NATS ({@link #room}), and a lane held for room goes on the moment
 * the report comes. So the stream never holds much more for a node than the windows of the nodes sending to it, a slow
 * node holds its publishers without JetStream refusing anything, and what waits between nodes (and so the latency) is
 * one window, not the stream's whole bound. A report lost on the way is made good by the next (each says the highest
 * place done); if none comes for {@value #STALL_MILLIS} ms while a lane is held, one send goes out past the window
 * (JetStream's bound still refuses it if the node really is full), whose report then frees the lane. A lane whose node
 * is down gives up what it holds for room (answered as sent: publishers go on without that node), so JetStream never
 * holds more than the windows for a dead node; a lane whose node does not report room (an older version) is no longer
 * held to the window (JetStream's bound decides, as without one).
 *
 * <p><b>Packing.</b> A lane to another node has at most {@code batchesInFlight} JetStream messages unanswered; what is
 * sent meanwhile waits and goes out packed, up to {@code batch} messages in one JetStream message ({@link LaneBatch}),
 * which JetStream stores, replicates, hands over and is acknowledged for once: the cost per message of a JetStream
 * message (a stream write, its acknowledgement, a delivery and its acknowledgement) is shared by the batch, and an
 * idle lane still sends each message at once. What goes out as one JetStream message (a unit) is sealed when it is
 * made: every attempt carries the same messages under the same {@code Nats-Msg-Id} (its first message's), so a batch
 * sent again is stored once; the stopping, probing and windows above count units in flight and messages against the
 * window, and each publisher is answered once the unit holding its message is taken. A unit covers a range of places,
 * the places of messages given up before it was made included, so units tile their lane without gaps. A kept
 * session's lane never packs: its consumer acknowledges each message when its client does.
 */
final class SendLanes {
    /** {@code <lane> <place> <oldest place not yet taken>}; a lane is named once per node life and subject. */
    static final String ORDER_HEADER = "Sluice-Order";
    static final String GROUPS_HEADER = "Sluice-Groups";
    /** An empty lane idle this long is forgotten (one per kept session may exist). */
    private static final long IDLE_NANOS = TimeUnit.MINUTES.toNanos(1);
    /** After this many sends in a row taken since it stopped, a lane is no longer held to a window. */
    private static final int OPEN = 256;
    /** A lane held for room this long without a report sends one past its window (a report may have been lost). */
    static final long STALL_MILLIS = 1_000;

    /**
     * The node that sends lane {@code name} ({@code <node>-<life>-<number>}; a node id may hold {@code -}, a life and a
     * number do not), null if the name is not a lane's.
     */
    static String senderOf(String name) {
        int last = name.lastIndexOf('-');
        int life = last <= 0 ? -1 : name.lastIndexOf('-', last - 1);
        return life <= 0 ? null : name.substring(0, life);
    }

    /** Who waits for a send: told once, when JetStream took it or it was given up. */
    interface Waiter {
        void sent();

        void refused();
    }

    /** What becomes of a send JetStream did not take. */
    enum Verdict {
        /** Send it again, after a backoff, before anything later in its lane. */
        RETRY,
        /** Given up as if sent (an offline session's full queue drops it). */
        SKIP,
        /** Given up and refused to its publisher (its deadline passed). */
        REFUSE,
        /** Every send of the lane given up as if sent (the node it goes to is down). */
        SKIP_LANE
    }

    interface Judge {
        Verdict judge(String subject, Waiter waiter, Throwable why);
    }

    /** Which lanes wait for the receiving node's room, and whether that node is there to report it. */
    interface Room {
        /** Sends to {@code subject} are held to the window (another node's subject; not a kept session's). */
        boolean flowControlled(String subject);

        /** The node behind a flow-controlled {@code subject} is alive now (false: no report will come). */
        boolean alive(String subject);

        /**
         * The node behind a flow-controlled {@code subject} is down (not heard for the node timeout): what its lane holds
         * for room and never sent is given up for it, as sent.
         */
        default boolean down(String subject) {
            return false;
        }

        /** Whether a send to {@code subject} held for room waited past its publisher's deadline (it is then refused). */
        boolean expired(String subject, Waiter waiter, long nowMillis);
    }

    private final Function<NatsMessage, CompletableFuture<PublishAck>> publish;
    private final ScheduledExecutorService timer;
    private final Judge judge;
    private final Runnable taken;
    private final String prefix;
    private final long attemptMillis;
    private final int ceiling;
    private final AtomicLong laneNumbers = new AtomicLong();
    private final Map<String, Lane> lanes = new ConcurrentHashMap<>();
    /** The same lanes by name, for the receiving nodes' reports. */
    private final Map<String, Lane> byName = new ConcurrentHashMap<>();
    /** The window of a flow-controlled lane (0: none); changed at run time by {@link #credit(int)}. */
    private volatile int credit;
    private final Room room;
    /** The most messages packed into one JetStream message on a lane to another node (1: none packed). */
    private final int batch;
    /** The most bytes of messages packed into one (a message larger goes alone). */
    private final int batchBytes;
    /** The most JetStream messages a packing lane has in flight: what waits meanwhile goes out packed. */
    private final int batchesInFlight;
    private final AtomicLong heldForRoom = new AtomicLong();
    private final AtomicLong pastWindow = new AtomicLong();
    private final AtomicLong gaveUpForDown = new AtomicLong();
    private final AtomicLong units = new AtomicLong();
    private final AtomicLong packed = new AtomicLong();
    private volatile boolean closed;

    /** A lane of single messages, none packed (see the full constructor). */
    SendLanes(Function<NatsMessage, CompletableFuture<PublishAck>> publish, ScheduledExecutorService timer, Judge judge,
              Runnable taken, String prefix, long attemptMillis, int ceiling, int credit, Room room) {
        this(publish, timer, judge, taken, prefix, attemptMillis, ceiling, credit, room, 1, Integer.MAX_VALUE,
                Integer.MAX_VALUE);
    }

    /**
     * @param publish  JetStream's asynchronous publish
     * @param timer    runs backoffs (one thread)
     * @param judge    decides what becomes of a send JetStream did not take
     * @param taken    told once per message JetStream took
     * @param prefix   this node's life ({@code <node>-<run>}), which lane names start with
     * @param attemptMillis how long an attempt waits for JetStream's acknowledgement
     * @param ceiling  the most sends a lane has in flight after it stopped, until {@value #OPEN} in a row are taken
     * @param credit   the window of a flow-controlled lane: messages gone out and not reported done (0: no window)
     * @param room     which lanes are flow-controlled (those lanes pack)
     * @param batch    the most messages in one JetStream message on a flow-controlled lane (1: none packed)
     * @param batchBytes the most bytes of messages in one
     * @param batchesInFlight the most JetStream messages such a lane has in flight (unanswered)
     */
    SendLanes(Function<NatsMessage, CompletableFuture<PublishAck>> publish, ScheduledExecutorService timer, Judge judge,
              Runnable taken, String prefix, long attemptMillis, int ceiling, int credit, Room room, int batch,
              int batchBytes, int batchesInFlight) {
        this.ceiling = Math.max(1, ceiling);
        this.credit = Math.max(0, credit);
        this.room = room;
        this.publish = publish;
        this.timer = timer;
        this.judge = judge;
        this.taken = taken;
        this.prefix = prefix;
        this.attemptMillis = attemptMillis;
        this.batch = Math.max(1, batch); // a batch also never holds more than the window has room for (see make)
        this.batchBytes = Math.max(1, batchBytes);
        this.batchesInFlight = Math.max(1, batchesInFlight);
        timer.scheduleWithFixedDelay(this::forgetIdle, 1, 1, TimeUnit.MINUTES);
        timer.scheduleWithFixedDelay(this::checkHeld, STALL_MILLIS / 4, STALL_MILLIS / 4, TimeUnit.MILLISECONDS);
    }

    /** One lane's messages not yet taken (nor given up), in the order they were made. */
    private static final class Lane {
        final String subject;
        final String name;
        /** Messages not yet in a unit (never gone out), in order. */
        final ArrayDeque<Msg> queued = new ArrayDeque<>();
        /** Units gone out at least once and not yet taken nor given up, in order. */
        final ArrayDeque<Unit> pending = new ArrayDeque<>();
        /** Units to go out again since the lane last stopped, in order (some may be done meanwhile). */
        ArrayDeque<Unit> waiting = new ArrayDeque<>();
        /** Units gone out since the lane last stopped and not answered yet. */
        int inFlight;
        /** How many may be in flight (Integer.MAX_VALUE: any number). */
        int window = Integer.MAX_VALUE;
        long nextPlace = 1;
        /** The last place a unit covers so far: the next unit starts right after it, so units tile the lane. */
        long covered;
        /** A unit was not taken: nothing new goes out until {@link #probe} is taken. */
        boolean stopped;
        /** The unit that went out alone while stopped (null: one is due after the backoff). */
        Unit probe;
        int failures;
        /** Units taken in a row since the lane last stopped. */
        int streak;
        long usedNanos = System.nanoTime();
        boolean forgotten;
        /** Held to the window (another node's subject). */
        final boolean credited;
        /** Packs what waits into one JetStream message (another node's subject). */
        final boolean packs;
        /** Not held to it for now: its node reports no room (set back by the node's next report). */
        boolean creditOff;
        /** The highest place the receiving node reported done. */
        long done;
        /** Messages gone out, not given up, above {@link #done}: what counts against the window. */
        int owed;
        /** The units of those messages, in place order (some may have been given up since). */
        final ArrayDeque<Unit> owedUnits = new ArrayDeque<>();
        /** Since when the lane waits for room (0: it does not), or since its last send past the window. */
        long heldNanos;
        /** Bumped to cancel a probe scheduled after a backoff (a report resumed the lane earlier). */
        long wakeGen;

        Lane(String subject, String name, boolean credited, boolean packs) {
            this.subject = subject;
            this.name = name;
            this.credited = credited;
            this.packs = packs;
        }
    }

    /** One message of a lane. */
    private static final class Msg {
        final Waiter waiter;
        final String msgId;
        final String groups;
        final byte[] body;
        final long place;
        /** Given up before it went out (its publisher's deadline passed while it waited for room). */
        boolean done;

        Msg(Waiter waiter, String msgId, String groups, byte[] body, long place) {
            this.waiter = waiter;
            this.msgId = msgId;
            this.groups = groups;
            this.body = body;
            this.place = place;
        }
    }

    /**
     * What goes out as one JetStream message: one message, or several of a lane packed. Sealed once made: every
     * attempt sends the same messages under the same {@code Nats-Msg-Id} (its first message's), so JetStream stores a
     * unit sent again once. It covers places {@code first..last} (the places of messages given up before it was made
     * included), and units tile their lane.
     */
    private static final class Unit {
        final Msg[] members;
        final long first;
        final long last;
        final String msgId;
        final byte[] data;
        /** The attempt whose failure counts; an older attempt's failure is ignored. */
        int attempt;
        boolean done;
        /** Counted in its lane's {@code inFlight}. */
        boolean out;
        /** Counted in its lane's {@code owed}. */
        boolean owed;

        Unit(Msg[] members, long first) {
            this.members = members;
            this.first = first;
            this.last = members[members.length - 1].place;
            this.msgId = members[0].msgId;
            if (members.length == 1) {
                this.data = members[0].body;
            } else {
                List<LaneBatch.Entry> entries = new ArrayList<>(members.length);
                for (Msg m : members) {
                    entries.add(new LaneBatch.Entry(m.groups, m.body));
                }
                this.data = LaneBatch.pack(entries);
            }
        }

        /** The publisher that waits longest to be refused: a unit is refused only once all of its are due. */
        Waiter youngest() {
            return members[members.length - 1].waiter;
        }
    }

    /**
     * Send {@code body} to {@code subject} behind every earlier send to it; {@code waiter} is told once JetStream took
     * it or it was given up. {@code groups}: the shared groups the receiving node serves for it (null: none).
     */
    void send(String subject, String msgId, String groups, byte[] body, Waiter waiter) {
        while (true) {
            Lane lane = lanes.computeIfAbsent(subject, s -> {
                boolean controlled = room != null && room.flowControlled(s);
                Lane l = new Lane(s, prefix + "-" + laneNumbers.incrementAndGet(), credit > 0 && controlled,
                        controlled && batch > 1);
                byName.put(l.name, l);
                return l;
            });
            synchronized (lane) {
                if (lane.forgotten) {
                    continue; // forgotten meanwhile: a fresh lane is made
                }
                lane.queued.addLast(new Msg(waiter, msgId, groups, body, lane.nextPlace++));
                lane.usedNanos = System.nanoTime();
                pump(lane);
                return;
            }
        }
    }

    /** Under the lane's lock: what waits goes out, in order, as far as the windows allow. */
    private void pump(Lane lane) {
        int most = lane.packs ? Math.min(lane.window, batchesInFlight) : lane.window;
        while (!lane.stopped && lane.inFlight < most) {
            if (!lane.waiting.isEmpty()) {
                Unit u = lane.waiting.peekFirst();
                if (!u.done && needsRoom(lane, u) && lane.owed > 0 && lane.owed + u.members.length > credit) {
                    held(lane);
                    return; // the receiving node's next report lets it go
                }
                lane.waiting.pollFirst();
                if (!u.done) {
                    transmit(lane, u);
                }
                continue;
            }
            int free = lane.credited && !lane.creditOff ? credit - lane.owed : Integer.MAX_VALUE;
            if (free <= 0 && hasQueued(lane)) {
                held(lane);
                return;
            }
            Unit u = make(lane, free);
            if (u == null) {
                break;
            }
            transmit(lane, u);
        }
        lane.heldNanos = 0;
    }

    private void held(Lane lane) {
        if (lane.heldNanos == 0) {
            lane.heldNanos = System.nanoTime();
            heldForRoom.incrementAndGet();
        }
    }

    private static boolean hasQueued(Lane lane) {
        while (!lane.queued.isEmpty() && lane.queued.peekFirst().done) {
            lane.queued.pollFirst();
        }
        return !lane.queued.isEmpty();
    }

    /**
     * Under the lane's lock: the next unit from what is queued, at most {@code free} messages (at least one), packed
     * on a packing lane; it joins the lane's pending units. Null when nothing is queued.
     */
    private Unit make(Lane lane, int free) {
        if (!hasQueued(lane)) {
            return null;
        }
        int most = lane.packs ? Math.max(1, Math.min(batch, free)) : 1;
        List<Msg> members = new ArrayList<>(Math.min(most, lane.queued.size()));
        long bytes = 0;
        while (members.size() < most && !lane.queued.isEmpty()) {
            Msg m = lane.queued.peekFirst();
            if (m.done) {
                lane.queued.pollFirst();
                continue;
            }
            long size = m.body.length + LaneBatch.overhead(m.groups);
            boolean alone = m.groups != null && m.groups.length() > 20_000; // past a batch entry's groups length
            if (!members.isEmpty() && (bytes + size > batchBytes || alone)) {
                break;
            }
            members.add(lane.queued.pollFirst());
            bytes += size;
            if (alone) {
                break;
            }
        }
        Unit u = new Unit(members.toArray(new Msg[0]), lane.covered + 1);
        lane.covered = u.last;
        lane.pending.addLast(u);
        units.incrementAndGet();
        if (members.size() > 1) {
            packed.addAndGet(members.size());
        }
        return u;
    }

    /** Whether {@code u} going out would count against its lane's window (it is not counted yet). */
    private static boolean needsRoom(Lane lane, Unit u) {
        return lane.credited && !lane.creditOff && !u.owed && u.last > lane.done;
    }

    /** Under the lane's lock, so units go out in lane order. */
    private void transmit(Lane lane, Unit u) {
        if (closed) {
            return; // never answered: the publisher sends it again after reconnecting
        }
        if (!u.out) {
            u.out = true;
            lane.inFlight++;
        }
        if (lane.credited && !u.owed && u.last > lane.done) {
            u.owed = true;
            lane.owed += u.members.length;
            lane.owedUnits.addLast(u); // first goes out in place order: the deque stays sorted
        }
        int attempt = ++u.attempt;
        Headers headers = new Headers();
        headers.put("Nats-Msg-Id", u.msgId);
        long oldest = lane.pending.peekFirst().first;
        headers.put(ORDER_HEADER, u.first == u.last ? lane.name + " " + u.first + " " + oldest
                : lane.name + " " + u.first + " " + oldest + " " + u.last);
        if (u.members.length > 1) {
            headers.put(LaneBatch.HEADER, Integer.toString(u.members.length));
        } else if (u.members[0].groups != null) {
            headers.put(GROUPS_HEADER, u.members[0].groups);
        }
        NatsMessage msg = NatsMessage.builder().subject(lane.subject).headers(headers).data(u.data).build();
        CompletableFuture<PublishAck> ack;
        try {
            ack = publish.apply(msg).orTimeout(attemptMillis, TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            ack = CompletableFuture.failedFuture(e);
        }
        ack.whenComplete((a, err) -> {
            if (Thread.holdsLock(lane)) {
                // completed within this call: handled once the lane is let go, not in the middle of a resend
                timer.execute(() -> completed(lane, u, attempt, err));
            } else {
                completed(lane, u, attempt, err);
            }
        });
    }

    private void completed(Lane lane, Unit u, int attempt, Throwable err) {
        List<Runnable> after = new ArrayList<>(1);
        synchronized (lane) {
            if (err == null) {
                if (!u.done) {
                    u.done = true;
                    for (Msg m : u.members) {
                        after.add(taken);
                        after.add(m.waiter::sent);
                    }
                }
                boolean current = answered(lane, u);
                dropDone(lane);
                if (lane.stopped && lane.probe == u) {
                    lane.stopped = false;
                    lane.probe = null;
                    lane.window = Math.min(2, ceiling);
                } else if (current && !lane.stopped && lane.window != Integer.MAX_VALUE) {
                    // only what went out since the stop opens the window: a late answer from before says nothing
                    lane.window = ++lane.streak >= OPEN ? Integer.MAX_VALUE : Math.min(lane.window + 1, ceiling);
                }
                pump(lane);
            } else if (!u.done && attempt == u.attempt) {
                answered(lane, u);
                failed(lane, u, err, after);
            }
            // else: an older attempt of a unit that went out again, or one already taken
        }
        for (Runnable r : after) {
            r.run();
        }
    }

    /** {@code u} is answered; true if it went out since the lane last stopped. */
    private static boolean answered(Lane lane, Unit u) {
        if (u.out) {
            u.out = false;
            lane.inFlight--;
            return true;
        }
        return false;
    }

    /** Under the lane's lock: the latest attempt of {@code u} was not taken. */
    private void failed(Lane lane, Unit u, Throwable err, List<Runnable> after) {
        Verdict v = judge.judge(lane.subject, u.youngest(), err);
        switch (v) {
            case SKIP, REFUSE -> {
                u.done = true;
                unowe(lane, u);
                for (Msg m : u.members) {
                    after.add(v == Verdict.SKIP ? m.waiter::sent : m.waiter::refused);
                }
                dropDone(lane);
                if (lane.probe == u) {
                    lane.probe = null;
                    long gen = ++lane.wakeGen;
                    timer.execute(() -> probe(lane, gen)); // the next one goes out alone now
                } else {
                    pump(lane);
                }
            }
            case SKIP_LANE -> {
                for (Unit p : lane.pending) {
                    if (!p.done) {
                        p.done = true;
                        for (Msg m : p.members) {
                            after.add(m.waiter::sent);
                        }
                    }
                }
                for (Msg m : lane.queued) {
                    if (!m.done) {
                        m.done = true;
                        after.add(m.waiter::sent);
                    }
                }
                lane.queued.clear();
                lane.covered = lane.nextPlace - 1;
                lane.pending.clear();
                lane.waiting.clear();
                lane.owedUnits.clear();
                lane.owed = 0;
                lane.heldNanos = 0;
                lane.inFlight = 0;
                lane.stopped = false;
                lane.probe = null;
                lane.window = Integer.MAX_VALUE;
            }
            case RETRY -> {
                if (!lane.stopped) {
                    stop(lane);
                    later(lane);
                } else if (lane.probe == u) {
                    lane.probe = null;
                    later(lane);
                }
                // else: one that was in flight behind the stop: it goes out again when the lane resumes
            }
        }
    }

    /**
     * Nothing more goes out: every unit not yet taken, those in flight included, waits to go out again in order
     * (an answer to one in flight still counts if it comes). What is queued behind them stays queued.
     */
    private static void stop(Lane lane) {
        lane.stopped = true;
        lane.probe = null;
        lane.failures = 0;
        lane.streak = 0;
        lane.window = 1;
        lane.inFlight = 0;
        ArrayDeque<Unit> again = new ArrayDeque<>(lane.pending.size());
        for (Unit p : lane.pending) {
            p.out = false;
            if (!p.done) {
                again.addLast(p);
            }
        }
        lane.waiting = again;
    }

    private void later(Lane lane) {
        long delay = Math.min(1000, 20L << Math.min(lane.failures++, 6));
        if (!closed) {
            long gen = ++lane.wakeGen;
            timer.schedule(() -> probe(lane, gen), delay, TimeUnit.MILLISECONDS);
        }
    }

    /** The oldest unit not yet taken goes out alone, unless a report sent it out already ({@code gen} is old). */
    private void probe(Lane lane, long gen) {
        synchronized (lane) {
            if (gen != lane.wakeGen || lane.probe != null) {
                return;
            }
            probeNow(lane);
        }
    }

    /** Under the lane's lock. */
    private void probeNow(Lane lane) {
        dropDone(lane);
        if (lane.pending.isEmpty()) {
            // everything that went out is answered: what is queued goes out as after a stop, a few at first
            lane.stopped = false;
            lane.probe = null;
            pump(lane);
            return;
        }
        Unit head = lane.pending.peekFirst();
        while (lane.waiting.peekFirst() != null && lane.waiting.peekFirst().done) {
            lane.waiting.pollFirst();
        }
        if (lane.waiting.peekFirst() == head) {
            lane.waiting.pollFirst();
        }
        lane.probe = head;
        transmit(lane, head);
    }

    /** Under the lane's lock: a unit given up no longer counts against the window. */
    private static void unowe(Lane lane, Unit u) {
        if (u.owed) {
            u.owed = false;
            lane.owed -= u.members.length;
        }
    }

    /**
     * The receiving node has done every message of lane {@code name} up to {@code place} it got (reported on core
     * NATS): room for as many more. A lane stopped by a refusal tries again at once instead of after its backoff.
     */
    void room(String name, long place) {
        Lane lane = byName.get(name);
        if (lane == null) {
            return; // forgotten, or another life's
        }
        synchronized (lane) {
            lane.creditOff = false;
            if (place > lane.done) {
                lane.done = place;
                while (!lane.owedUnits.isEmpty() && lane.owedUnits.peekFirst().last <= place) {
                    unowe(lane, lane.owedUnits.pollFirst());
                }
            }
            lane.heldNanos = lane.heldNanos == 0 ? 0 : System.nanoTime();
            if (lane.stopped) {
                if (lane.probe == null) {
                    lane.wakeGen++; // the backoff's probe is not needed any more
                    probeNow(lane);
                }
            } else {
                pump(lane);
            }
        }
    }

    /**
     * Every quarter of {@value #STALL_MILLIS} ms: messages that never went out and waited past their publishers'
     * deadlines (held for room, behind a lane stopped by JetStream, or behind its batches in flight) are refused; a lane held for room whose
     * node is down gives up what it holds (as sent), one whose node reports no room is let go (JetStream's bound
     * decides); one held that long without a report sends its next message
     * past the window.
     */
    private void checkHeld() {
        long now = System.nanoTime();
        long nowMillis = System.currentTimeMillis();
        for (Lane lane : byName.values()) {
            List<Runnable> after = new ArrayList<>(0);
            synchronized (lane) {
                if (room != null && !lane.queued.isEmpty()) {
                    for (Iterator<Msg> it = lane.queued.iterator(); it.hasNext(); ) {
                        Msg m = it.next();
                        if (!m.done && room.expired(lane.subject, m.waiter, nowMillis)) {
                            m.done = true;
                            it.remove(); // its place is covered by the next unit made
                            after.add(m.waiter::refused);
                        }
                    }
                }
                if (lane.credited && lane.heldNanos != 0 && !lane.stopped) {
                    checkHeld(lane, now, nowMillis, after);
                }
            }
            for (Runnable r : after) {
                r.run();
            }
        }
    }

    /** Under the lane's lock: a lane held for room. */
    private void checkHeld(Lane lane, long now, long nowMillis, List<Runnable> after) {
        if (room.down(lane.subject)) {
            // Its node is down: what never went out is given up for it (its publishers go on without it, as when
            // JetStream refuses a down node's send), not let into JetStream past the window. So a dead node's share of
            // the stream stays within the windows and never reaches its bound, where nats-server 2.9 on a NATS cluster
            // may acknowledge a publish it then does not keep (or drop one it had kept for the node).
            for (Msg m : lane.queued) {
                if (!m.done) {
                    m.done = true;
                    after.add(m.waiter::sent);
                    gaveUpForDown.incrementAndGet();
                }
            }
            lane.queued.clear(); // their places are covered by the next unit made
            lane.heldNanos = 0;
            return;
        }
        if (!room.alive(lane.subject)) {
            lane.creditOff = true;
            pump(lane);
            return;
        }
        for (Unit u : lane.waiting) {
            if (!u.done && !u.owed && room.expired(lane.subject, u.youngest(), nowMillis)) {
                u.done = true;
                for (Msg m : u.members) {
                    after.add(m.waiter::refused);
                }
            }
        }
        dropDone(lane);
        if (now - lane.heldNanos >= TimeUnit.MILLISECONDS.toNanos(STALL_MILLIS)) {
            Unit next = null;
            while (!lane.waiting.isEmpty() && (next = lane.waiting.pollFirst()).done) {
                next = null;
            }
            if (next == null) {
                next = make(lane, 1);
            }
            if (next != null) {
                pastWindow.incrementAndGet();
                transmit(lane, next);
            }
            lane.heldNanos = now;
        }
        pump(lane);
    }

    /**
     * A new window for every flow-controlled lane (at least 1; ignored when the lanes were made without one): a
     * smaller one holds lanes until enough of what they owe is reported done, a larger one lets them go on at the
     * next report or check.
     */
    void credit(int window) {
        if (credit > 0) {
            credit = Math.max(1, window);
        }
    }

    int credit() {
        return credit;
    }

    /** Times a lane began to wait for room, and sends that went out past the window (no report came). */
    long heldForRoom() {
        return heldForRoom.get();
    }

    long pastWindow() {
        return pastWindow.get();
    }

    /** Messages held for a node's room and given up because that node is down (never sent to it). */
    long gaveUpForDown() {
        return gaveUpForDown.get();
    }

    /** JetStream messages made (a message alone, or several packed), and the messages that went in packed ones. */
    long units() {
        return units.get();
    }

    long packed() {
        return packed.get();
    }

    private static void dropDone(Lane lane) {
        while (!lane.pending.isEmpty() && lane.pending.peekFirst().done) {
            lane.pending.pollFirst();
        }
    }

    private void forgetIdle() {
        long now = System.nanoTime();
        for (Iterator<Lane> it = lanes.values().iterator(); it.hasNext(); ) {
            Lane lane = it.next();
            synchronized (lane) {
                if (lane.pending.isEmpty() && !hasQueued(lane) && !lane.stopped && now - lane.usedNanos > IDLE_NANOS) {
                    lane.forgotten = true;
                    it.remove();
                    byName.remove(lane.name);
                }
            }
        }
    }

    /** Messages not yet taken by JetStream nor given up, over every lane. */
    int pending() {
        int n = 0;
        for (Lane lane : lanes.values()) {
            synchronized (lane) {
                for (Unit u : lane.pending) {
                    n += u.done ? 0 : u.members.length;
                }
                for (Msg m : lane.queued) {
                    n += m.done ? 0 : 1;
                }
            }
        }
        return n;
    }

    void close() {
        closed = true;
    }
}
