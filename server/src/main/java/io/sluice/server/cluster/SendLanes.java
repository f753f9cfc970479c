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
 * (JetStream's bound still refuses it if the node really is full), whose report then frees the lane; a lane whose node
 * is down is no longer held to the window (JetStream's bound and the node timeout decide, as without one).
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
    private final AtomicLong heldForRoom = new AtomicLong();
    private final AtomicLong pastWindow = new AtomicLong();
    private volatile boolean closed;

    /**
     * @param publish  JetStream's asynchronous publish
     * @param timer    runs backoffs (one thread)
     * @param judge    decides what becomes of a send JetStream did not take
     * @param taken    told once per send JetStream took
     * @param prefix   this node's life ({@code <node>-<run>}), which lane names start with
     * @param attemptMillis how long an attempt waits for JetStream's acknowledgement
     * @param ceiling  the most sends a lane has in flight after it stopped, until {@value #OPEN} in a row are taken
     * @param credit   the window of a flow-controlled lane: sends gone out and not reported done (0: no window)
     * @param room     which lanes are flow-controlled
     */
    SendLanes(Function<NatsMessage, CompletableFuture<PublishAck>> publish, ScheduledExecutorService timer, Judge judge,
              Runnable taken, String prefix, long attemptMillis, int ceiling, int credit, Room room) {
        this.ceiling = Math.max(1, ceiling);
        this.credit = Math.max(0, credit);
        this.room = room;
        this.publish = publish;
        this.timer = timer;
        this.judge = judge;
        this.taken = taken;
        this.prefix = prefix;
        this.attemptMillis = attemptMillis;
        timer.scheduleWithFixedDelay(this::forgetIdle, 1, 1, TimeUnit.MINUTES);
        if (this.credit > 0) {
            timer.scheduleWithFixedDelay(this::checkHeld, STALL_MILLIS / 4, STALL_MILLIS / 4, TimeUnit.MILLISECONDS);
        }
    }

    /** One lane's sends not yet taken (nor given up), in the order they were made. */
    private static final class Lane {
        final String subject;
        final String name;
        final ArrayDeque<Send> pending = new ArrayDeque<>();
        /** Sends not gone out since the lane last stopped, in order (some may be done meanwhile). */
        ArrayDeque<Send> waiting = new ArrayDeque<>();
        /** Sends gone out since the lane last stopped and not answered yet. */
        int inFlight;
        /** How many may be in flight (Integer.MAX_VALUE: any number). */
        int window = Integer.MAX_VALUE;
        long nextPlace = 1;
        /** A send was not taken: nothing new goes out until {@link #probe} is taken. */
        boolean stopped;
        /** The send that went out alone while stopped (null: one is due after the backoff). */
        Send probe;
        int failures;
        /** Sends taken in a row since the lane last stopped. */
        int streak;
        long usedNanos = System.nanoTime();
        boolean forgotten;
        /** Held to the window (another node's subject). */
        final boolean credited;
        /** Not held to it for now: its node is down (set back by the node's next report). */
        boolean creditOff;
        /** The highest place the receiving node reported done. */
        long done;
        /** Sends gone out, not given up, above {@link #done}: what counts against the window. */
        int owed;
        /** Those sends, in place order (some may have been given up since). */
        final ArrayDeque<Send> owedSends = new ArrayDeque<>();
        /** Since when the lane waits for room (0: it does not), or since its last send past the window. */
        long heldNanos;
        /** Bumped to cancel a probe scheduled after a backoff (a report resumed the lane earlier). */
        long wakeGen;

        Lane(String subject, String name, boolean credited) {
            this.subject = subject;
            this.name = name;
            this.credited = credited;
        }
    }

    private static final class Send {
        final Waiter waiter;
        final String msgId;
        final String groups;
        final byte[] body;
        final long place;
        /** The attempt whose failure counts; an older attempt's failure is ignored. */
        int attempt;
        boolean done;
        /** Counted in its lane's {@code inFlight}. */
        boolean out;
        /** Counted in its lane's {@code owed}. */
        boolean owed;

        Send(Waiter waiter, String msgId, String groups, byte[] body, long place) {
            this.waiter = waiter;
            this.msgId = msgId;
            this.groups = groups;
            this.body = body;
            this.place = place;
        }
    }

    /**
     * Send {@code body} to {@code subject} behind every earlier send to it; {@code waiter} is told once JetStream took
     * it or it was given up. {@code groups}: the shared groups the receiving node serves for it (null: none).
     */
    void send(String subject, String msgId, String groups, byte[] body, Waiter waiter) {
        while (true) {
            Lane lane = lanes.computeIfAbsent(subject, s -> {
                Lane l = new Lane(s, prefix + "-" + laneNumbers.incrementAndGet(),
                        credit > 0 && room != null && room.flowControlled(s));
                byName.put(l.name, l);
                return l;
            });
            synchronized (lane) {
                if (lane.forgotten) {
                    continue; // forgotten meanwhile: a fresh lane is made
                }
                Send s = new Send(waiter, msgId, groups, body, lane.nextPlace++);
                lane.pending.addLast(s);
                lane.waiting.addLast(s);
                lane.usedNanos = System.nanoTime();
                pump(lane);
                return;
            }
        }
    }

    /** Under the lane's lock: what waits goes out, in order, as far as the windows allow. */
    private void pump(Lane lane) {
        while (!lane.stopped && lane.inFlight < lane.window && !lane.waiting.isEmpty()) {
            Send s = lane.waiting.peekFirst();
            if (!s.done && needsRoom(lane, s) && lane.owed >= credit) {
                if (lane.heldNanos == 0) {
                    lane.heldNanos = System.nanoTime();
                    heldForRoom.incrementAndGet();
                }
                return; // the receiving node's next report lets it go
            }
            lane.waiting.pollFirst();
            if (!s.done) {
                transmit(lane, s);
            }
        }
        lane.heldNanos = 0;
    }

    /** Whether {@code s} going out would count against its lane's window (it is not counted yet). */
    private static boolean needsRoom(Lane lane, Send s) {
        return lane.credited && !lane.creditOff && !s.owed && s.place > lane.done;
    }

    /** Under the lane's lock, so sends go out in lane order. */
    private void transmit(Lane lane, Send s) {
        if (closed) {
            return; // never answered: the publisher sends it again after reconnecting
        }
        if (!s.out) {
            s.out = true;
            lane.inFlight++;
        }
        if (lane.credited && !s.owed && s.place > lane.done) {
            s.owed = true;
            lane.owed++;
            lane.owedSends.addLast(s); // first goes out in place order: the deque stays sorted
        }
        int attempt = ++s.attempt;
        Headers headers = new Headers();
        headers.put("Nats-Msg-Id", s.msgId);
        headers.put(ORDER_HEADER, lane.name + " " + s.place + " " + lane.pending.peekFirst().place);
        if (s.groups != null) {
            headers.put(GROUPS_HEADER, s.groups);
        }
        NatsMessage msg = NatsMessage.builder().subject(lane.subject).headers(headers).data(s.body).build();
        CompletableFuture<PublishAck> ack;
        try {
            ack = publish.apply(msg).orTimeout(attemptMillis, TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            ack = CompletableFuture.failedFuture(e);
        }
        ack.whenComplete((a, err) -> {
            if (Thread.holdsLock(lane)) {
                // completed within this call: handled once the lane is let go, not in the middle of a resend
                timer.execute(() -> completed(lane, s, attempt, err));
            } else {
                completed(lane, s, attempt, err);
            }
        });
    }

    private void completed(Lane lane, Send s, int attempt, Throwable err) {
        List<Runnable> after = new ArrayList<>(1);
        synchronized (lane) {
            if (err == null) {
                if (!s.done) {
                    s.done = true;
                    after.add(taken);
                    after.add(s.waiter::sent);
                }
                boolean current = answered(lane, s);
                dropDone(lane);
                if (lane.stopped && lane.probe == s) {
                    lane.stopped = false;
                    lane.probe = null;
                    lane.window = Math.min(2, ceiling);
                } else if (current && !lane.stopped && lane.window != Integer.MAX_VALUE) {
                    // only what went out since the stop opens the window: a late answer from before says nothing
                    lane.window = ++lane.streak >= OPEN ? Integer.MAX_VALUE : Math.min(lane.window + 1, ceiling);
                }
                pump(lane);
            } else if (!s.done && attempt == s.attempt) {
                answered(lane, s);
                failed(lane, s, err, after);
            }
            // else: an older attempt of a send that went out again, or one already taken
        }
        for (Runnable r : after) {
            r.run();
        }
    }

    /** {@code s} is answered; true if it went out since the lane last stopped. */
    private static boolean answered(Lane lane, Send s) {
        if (s.out) {
            s.out = false;
            lane.inFlight--;
            return true;
        }
        return false;
    }

    /** Under the lane's lock: the latest attempt of {@code s} was not taken. */
    private void failed(Lane lane, Send s, Throwable err, List<Runnable> after) {
        Verdict v = judge.judge(lane.subject, s.waiter, err);
        switch (v) {
            case SKIP, REFUSE -> {
                s.done = true;
                unowe(lane, s);
                after.add(v == Verdict.SKIP ? s.waiter::sent : s.waiter::refused);
                dropDone(lane);
                if (lane.probe == s) {
                    lane.probe = null;
                    long gen = ++lane.wakeGen;
                    timer.execute(() -> probe(lane, gen)); // the next one goes out alone now
                } else {
                    pump(lane);
                }
            }
            case SKIP_LANE -> {
                for (Send p : lane.pending) {
                    if (!p.done) {
                        p.done = true;
                        after.add(p.waiter::sent);
                    }
                }
                lane.pending.clear();
                lane.waiting.clear();
                lane.owedSends.clear();
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
                } else if (lane.probe == s) {
                    lane.probe = null;
                    later(lane);
                }
                // else: one that was in flight behind the stop: it goes out again when the lane resumes
            }
        }
    }

    /**
     * Nothing more goes out: every send not yet taken, those in flight included, waits to go out again in order
     * (an answer to one in flight still counts if it comes).
     */
    private static void stop(Lane lane) {
        lane.stopped = true;
        lane.probe = null;
        lane.failures = 0;
        lane.streak = 0;
        lane.window = 1;
        lane.inFlight = 0;
        ArrayDeque<Send> again = new ArrayDeque<>(lane.pending.size());
        for (Send p : lane.pending) {
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

    /** The oldest send not yet taken goes out alone, unless a report sent it out already ({@code gen} is old). */
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
            lane.stopped = false;
            lane.probe = null;
            return;
        }
        Send head = lane.pending.peekFirst();
        while (lane.waiting.peekFirst() != null && lane.waiting.peekFirst().done) {
            lane.waiting.pollFirst();
        }
        if (lane.waiting.peekFirst() == head) {
            lane.waiting.pollFirst();
        }
        lane.probe = head;
        transmit(lane, head);
    }

    /** Under the lane's lock: a send given up no longer counts against the window. */
    private static void unowe(Lane lane, Send s) {
        if (s.owed) {
            s.owed = false;
            lane.owed--;
        }
    }

    /**
     * The receiving node has done every send of lane {@code name} up to {@code place} it got (reported on core NATS):
     * room for as many more. A lane stopped by a refusal tries again at once instead of after its backoff.
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
                while (!lane.owedSends.isEmpty() && lane.owedSends.peekFirst().place <= place) {
                    unowe(lane, lane.owedSends.pollFirst());
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
     * Every quarter of {@value #STALL_MILLIS} ms: a lane held for room whose node is down is let go (JetStream's bound
     * decides); one held that long without a report sends its next send past the window; sends held past their
     * publishers' deadlines are refused.
     */
    private void checkHeld() {
        long now = System.nanoTime();
        long nowMillis = System.currentTimeMillis();
        for (Lane lane : byName.values()) {
            if (!lane.credited) {
                continue;
            }
            List<Runnable> after = new ArrayList<>(0);
            synchronized (lane) {
                if (lane.heldNanos == 0 || lane.stopped) {
                    continue;
                }
                if (!room.alive(lane.subject)) {
                    lane.creditOff = true;
                    pump(lane);
                    continue;
                }
                for (Send s : lane.waiting) {
                    if (!s.done && !s.owed && room.expired(lane.subject, s.waiter, nowMillis)) {
                        s.done = true;
                        after.add(s.waiter::refused);
                    }
                }
                dropDone(lane);
                if (now - lane.heldNanos >= TimeUnit.MILLISECONDS.toNanos(STALL_MILLIS)) {
                    Send next = null;
                    while (!lane.waiting.isEmpty() && (next = lane.waiting.pollFirst()).done) {
                        next = null;
                    }
                    if (next != null) {
                        pastWindow.incrementAndGet();
                        transmit(lane, next);
                    }
                    lane.heldNanos = now;
                }
                pump(lane);
            }
            for (Runnable r : after) {
                r.run();
            }
        }
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
                if (lane.pending.isEmpty() && !lane.stopped && now - lane.usedNanos > IDLE_NANOS) {
                    lane.forgotten = true;
                    it.remove();
                    byName.remove(lane.name);
                }
            }
        }
    }

    /** Sends not yet taken by JetStream nor given up, over every lane. */
    int pending() {
        int n = 0;
        for (Lane lane : lanes.values()) {
            synchronized (lane) {
                n += lane.pending.size();
            }
        }
        return n;
    }

    void close() {
        closed = true;
    }
}
