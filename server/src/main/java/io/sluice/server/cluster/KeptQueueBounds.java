package io.sluice.server.cluster;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

/**
 * A kept session's queue bound ({@code --max-queued-messages}), counted by each node that sends to it, so that the
 * stream's own per-subject bound is never what stops a message. On a NATS cluster nats-server 2.9 may acknowledge a
 * publish to a work-queue stream at a per-subject bound with discard-new and then not store it (nats-server issue
 * 4247): a session's queue must never reach it. Every node may send to a session, and an offline one has no node to
 * report room, so each node counts for itself:
 * <ul>
 * <li>{@code known}: what JetStream held on the session's subject when this node last read it (stream info filtered
 * to the subject, one JetStream request), and {@code unsettled}: the sends this node let through that JetStream had
 * not answered when that read was asked for, plus every one since. The session holds at most {@code known +
 * unsettled} of this node's view, so a send goes through only while that is under the limit;</li>
 * <li>other nodes' sends since the read are not in that view, so each node also lets through at most {@code share}
 * unsettled sends before it reads again (and reads ahead at half of it). Whatever the nodes do, the subject then holds
 * at most the limit plus each node's share: the stream's bound is set well above that, and each node's share is
 * taken from what that bound leaves over the limit, halved, split among the nodes that may send.</li>
 * </ul>
 * A send that would meet the limit goes as a full queue's does on one node ({@link Policy}): dropped for that session
 * alone, refused to its publisher, or held (a connected session, which makes room as its client acknowledges; held
 * sends are read for again with a backoff). Sends to one subject go out in the order they came: while one waits
 * (for a read, or held at a full queue) the later ones wait behind it. No event loop waits: {@link #send} only
 * queues, and the reads run on a thread of their own.
 */
final class KeptQueueBounds {
    /** What a send that meets the full queue does now. */
    enum Full {
        /** Dropped for that session alone (its publisher answered as if it went): an offline session, drop policy. */
        DROP,
        /** Refused to its publisher (MQTT 5 0x97). */
        REFUSE,
        /** Held, ahead of every later send to the subject, until a read finds room. */
        HOLD
    }

    /** One send to a kept session's subject. */
    static final class Send {
        /** A QoS 0 message: never waits long, dropped instead. */
        final boolean qos0;
        /** Its publisher can be told it was not taken (MQTT 5 0x97), and when it waited long enough for that. */
        final boolean canRefuse;
        final long deadlineMillis;
        /** The only taker of its message (a shared group's, no member on any node but this offline session). */
        final boolean onlyTaker;
        /**
         * Sends it, under the subject's lock (so sends reach the lanes in order): it must not block, and runs its
         * argument once JetStream answered (took it, or it was given up).
         */
        final Consumer<Runnable> out;
        /** Tells its publisher that it was dropped for the session (as if it went). */
        final Runnable dropped;
        /** Tells its publisher that it was refused. */
        final Runnable refused;
        /** Since when it meets a full queue (0: it has not). */
        long fullSinceMillis;
        /** When it came: a read asked for since then is fresh enough to drop or refuse it by. */
        final long cameNanos = System.nanoTime();

        Send(boolean qos0, boolean canRefuse, long deadlineMillis, boolean onlyTaker, Consumer<Runnable> out,
             Runnable dropped, Runnable refused) {
            this.qos0 = qos0;
            this.canRefuse = canRefuse;
            this.deadlineMillis = deadlineMillis;
            this.onlyTaker = onlyTaker;
            this.out = out;
            this.dropped = dropped;
            this.refused = refused;
        }
    }

    interface Policy {
        /**
         * What {@code s}, meeting the full queue of {@code subject} (since {@code s.fullSinceMillis}), does now; also
         * asked of a send held for a read past its publisher's deadline ({@code full} false), which only
         * {@link Full#REFUSE} or {@link Full#HOLD} answer.
         */
        Full decide(String subject, Send s, boolean full, long nowMillis);
    }

    interface Counter {
        /** How many messages JetStream holds on {@code subject} now (blocking, on the bounds' own thread). */
        long count(String subject) throws Exception;
    }

    /** QoS 0 sends that may wait behind a read per subject; more are dropped. */
    static final int QOS0_WAITING = 1024;
    /** A subject with nothing waiting or unsettled and no send for this long is forgotten. */
    private static final long IDLE_NANOS = TimeUnit.MINUTES.toNanos(1);
    /** A read that finds the queue full counts for a decision to drop or refuse only this long. */
    static final long FRESH_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final Counter counter;
    private final ScheduledExecutorService thread;
    private final IntSupplier limit;
    private final IntSupplier share;
    private final Policy policy;
    private final Map<String, Queue> queues = new ConcurrentHashMap<>();
    private final AtomicLong reads = new AtomicLong();
    private final AtomicLong full = new AtomicLong();
    private volatile boolean closed;

    /**
     * @param counter reads JetStream's count of a subject
     * @param thread  runs the reads and their backoffs (one thread)
     * @param limit   the queue bound this node counts to (at most half the stream's bound)
     * @param share   the unsettled sends this node lets through before it reads again
     * @param policy  what a send meeting a full queue does
     */
    KeptQueueBounds(Counter counter, ScheduledExecutorService thread, IntSupplier limit, IntSupplier share,
                    Policy policy) {
        this.counter = counter;
        this.thread = thread;
        this.limit = limit;
        this.share = share;
        this.policy = policy;
        thread.scheduleWithFixedDelay(this::forgetIdle, 1, 1, TimeUnit.MINUTES);
    }

    /** This node's count of one subject, and the sends waiting for it, in order. */
    private static final class Queue {
        final String subject;
        /** What JetStream held at the last read (-1: none yet). */
        long known = -1;
        /** Sends let through, ever. */
        long admitted;
        /** Sends JetStream answered, ever. */
        long answered;
        /** {@link #answered} when the last read was asked for: every send answered before it is in {@link #known}. */
        long answeredAtAsk;
        /** When the last read that came back was asked for. */
        long readAskedNanos;
        boolean reading;
        /** A read is due once the next send is answered (the head waits for sends in flight). */
        boolean readOnAnswer;
        /** A read after a backoff is scheduled. */
        boolean readScheduled;
        int backoffs;
        final ArrayDeque<Send> waiting = new ArrayDeque<>();
        int waitingQos0;
        long usedNanos = System.nanoTime();

        Queue(String subject) {
            this.subject = subject;
        }

        long unsettled() {
            return admitted - answeredAtAsk;
        }
    }

    /** Send {@code s} to {@code subject} once this node's count lets it, behind every earlier send to it. */
    void send(String subject, Send s) {
        List<Runnable> after = new ArrayList<>(1);
        while (true) {
            Queue q = queues.computeIfAbsent(subject, Queue::new);
            synchronized (q) {
                if (queues.get(subject) != q) {
                    continue; // forgotten meanwhile
                }
                q.usedNanos = System.nanoTime();
                if (s.qos0 && q.waitingQos0 >= QOS0_WAITING) {
                    after.add(s.dropped); // QoS 0 may be lost: it does not pile up behind a read
                } else {
                    q.waiting.addLast(s);
                    q.waitingQos0 += s.qos0 ? 1 : 0;
                    drain(q, System.nanoTime(), after);
                }
            }
            break;
        }
        after.forEach(Runnable::run);
    }

    /** Under the queue's lock: what waits goes out (or is dropped, refused) in order, as far as the count lets it. */
    private void drain(Queue q, long nowNanos, List<Runnable> after) {
        int most = Math.max(1, limit.getAsInt());
        int each = Math.max(1, share.getAsInt());
        while (!q.waiting.isEmpty()) {
            Send s = q.waiting.peekFirst();
            long unsettled = q.unsettled();
            if (q.known >= 0 && q.known + unsettled < most && unsettled < each) {
                take(q);
                q.admitted++;
                // under the lock: sends to one subject reach the lanes in the order they came, whichever thread drains
                // (the publisher's, or the reads'); a lane never calls its waiters back from within a send
                s.out.accept(() -> answered(q));
                continue;
            }
            long nowMillis = System.currentTimeMillis();
            boolean fullByCount = q.known >= 0 && q.known + unsettled >= most;
            // A read counts what JetStream stored, and a send stored but not yet answered is in it and in the
            // unsettled too: only JetStream's own count at the limit says the queue is full. Short of it, the count
            // may be sends in flight counted twice, so nothing is dropped or refused by it: their answers and a
            // new read settle it first.
            boolean fullAtRead = q.known >= most;
            if (fullByCount && !fullAtRead) {
                if (q.answered > q.answeredAtAsk) {
                    read(q);
                } else {
                    q.readOnAnswer = true;
                }
                return;
            }
            if (fullAtRead && (q.readAskedNanos - s.cameNanos >= 0 || nowNanos - q.readAskedNanos <= FRESH_NANOS)) {
                if (s.fullSinceMillis == 0) {
                    s.fullSinceMillis = nowMillis;
                    full.incrementAndGet();
                }
                Full what = s.qos0 ? Full.DROP : policy.decide(q.subject, s, true, nowMillis);
                if (what != Full.HOLD) {
                    take(q);
                    after.add(what == Full.DROP ? s.dropped : s.refused);
                    continue;
                }
                // held: read again after a backoff (a connected session makes room as its client acknowledges)
                later(q);
                return;
            }
            if (!s.qos0 && policy.decide(q.subject, s, false, nowMillis) == Full.REFUSE) {
                take(q); // waited for a read past its publisher's deadline (NATS away)
                after.add(s.refused);
                continue;
            }
            if (fullByCount || q.known < 0 || q.answered > q.answeredAtAsk) {
                read(q);
            } else {
                q.readOnAnswer = true; // past the share, all of it in flight: the next answer reads again
            }
            return;
        }
        q.backoffs = 0;
    }

    private static void take(Queue q) {
        Send s = q.waiting.pollFirst();
        if (s != null && s.qos0) {
            q.waitingQos0--;
        }
    }

    /** JetStream answered a send this node let through. */
    private void answered(Queue q) {
        synchronized (q) {
            q.answered++;
            int half = (Math.max(1, share.getAsInt()) + 1) / 2;
            if (q.readOnAnswer || (q.answered - q.answeredAtAsk >= half && q.unsettled() >= half)) {
                // read ahead once a read would settle half a share: the next sends need not wait for it
                q.readOnAnswer = false;
                read(q);
            }
        }
    }

    /** Under the queue's lock: a read of the subject's count, now (unless one is on its way). */
    private void read(Queue q) {
        if (q.reading || closed) {
            return;
        }
        q.reading = true;
        try {
            thread.execute(() -> readNow(q));
        } catch (RejectedExecutionException e) {
            q.reading = false; // closing
        }
    }

    /** Under the queue's lock: a read after a backoff (20 ms doubling to 1 s). */
    private void later(Queue q) {
        if (q.readScheduled || closed) {
            return;
        }
        q.readScheduled = true;
        long delay = Math.min(1000, 20L << Math.min(q.backoffs++, 6));
        try {
            thread.schedule(() -> {
                synchronized (q) {
                    q.readScheduled = false;
                    read(q);
                }
            }, delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            q.readScheduled = false;
        }
    }

    /** On the bounds' thread. */
    private void readNow(Queue q) {
        long asked;
        long askedNanos = System.nanoTime();
        synchronized (q) {
            asked = q.answered;
        }
        long count;
        try {
            count = counter.count(q.subject);
            reads.incrementAndGet();
        } catch (Exception e) {
            List<Runnable> after = new ArrayList<>(0);
            synchronized (q) {
                q.reading = false;
                // NATS away (or JetStream electing a leader): what waits stays in order; a publisher that can be
                // told is refused once its deadline passes
                drainWithoutRead(q, after);
                if (!q.waiting.isEmpty()) {
                    later(q);
                }
            }
            after.forEach(Runnable::run);
            return;
        }
        List<Runnable> after = new ArrayList<>(1);
        synchronized (q) {
            q.reading = false;
            q.known = count;
            q.answeredAtAsk = Math.max(q.answeredAtAsk, asked);
            q.readAskedNanos = askedNanos;
            drain(q, System.nanoTime(), after);
        }
        after.forEach(Runnable::run);
    }

    /** Under the queue's lock, no read to go by: only what waited past its deadline is refused. */
    private void drainWithoutRead(Queue q, List<Runnable> after) {
        long nowMillis = System.currentTimeMillis();
        while (!q.waiting.isEmpty()) {
            Send s = q.waiting.peekFirst();
            if (s.qos0 || policy.decide(q.subject, s, false, nowMillis) != Full.REFUSE) {
                return;
            }
            take(q);
            after.add(s.refused);
        }
    }

    private void forgetIdle() {
        long now = System.nanoTime();
        for (Iterator<Queue> it = queues.values().iterator(); it.hasNext(); ) {
            Queue q = it.next();
            synchronized (q) {
                if (q.waiting.isEmpty() && q.answered == q.admitted && !q.reading && !q.readScheduled
                        && now - q.usedNanos > IDLE_NANOS) {
                    it.remove();
                }
            }
        }
    }

    /** JetStream reads of a subject's count made so far. */
    long reads() {
        return reads.get();
    }

    /** Sends that met a full queue (dropped, refused or held). */
    long full() {
        return full.get();
    }

    /** Sends waiting for a read or for room, over every subject. */
    int waiting() {
        int n = 0;
        for (Queue q : queues.values()) {
            synchronized (q) {
                n += q.waiting.size();
            }
        }
        return n;
    }

    void close() {
        closed = true;
    }
}
