package io.sluice.server.broker;

import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.concurrent.FastThreadLocal;
import io.sluice.server.events.HandledMessages;
import io.sluice.server.events.HeldWork;

import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;

/**
 * One session's outbound side: the bounded queue of QoS 1/2 messages waiting for the in-flight window, the
 * window itself (sent, not yet acknowledged), and the bounded QoS 0 buffer with its drop policy.
 *
 * <p>Publishers on any thread {@link #offer} into it; everything else runs on the session's connection
 * executor. A full QoS 1/2 queue answers {@link Offer#FULL} instead of growing; the publisher then
 * {@linkplain #awaitRoom waits for room}, which is how a slow subscriber's pressure reaches its publishers.
 * The lock is this queue's own: publishers to other sessions never meet it.
 *
 * <p><b>Two bounds.</b> An offline session queues up to {@code --max-queued-messages}: that is what it may miss
 * while away. A connected one holds its publishers much sooner, at a few of its in-flight windows
 * ({@link QueueLimits#liveBound}): its window already keeps it busy, and every message queued beyond what covers
 * a held publisher's resumption only waits longer (by Little's law, a full 1,000-message queue is 1,000
 * messages' worth of latency for every message that passes it). The waiting publishers are woken when the
 * queue is half empty, not at the first free slot, so each wake-up (a hop to the publisher's event loop and a
 * read) moves a batch, as a channel's low-water mark does. Messages that no publisher waits for (retained
 * messages sent on a subscribe) are held to the offline bound ({@link #offerBacklog}).
 */
public final class SubscriberQueue {
    public enum Offer { ACCEPTED, FULL }

    private static final int DRAIN_BATCH = 64;
    /**
     * Deliveries one drain hands over at most before it yields the event loop to the connection's neighbours (it
     * stops sooner when the channel turns unwritable, at its high-water mark).
     */
    private static final int DRAIN_MAX = 1024;
    /**
     * While the connection takes everything it is given, QoS 0 messages wait only for the next drain on its event
     * loop, not for the subscriber: they are not dropped at the bound, but at this multiple of it, which caps what
     * a burst from publishers on other event loops can pile up before that drain runs.
     */
    static final int HANDOFF_FACTOR = 16;

    private final QueueLimits limits;
    private final BrokerStats stats;

    // Every connected client has a queue and most sit idle: each collection is made by the first message that
    // needs it (null until then, read through the size helpers below) and kept from then on, so an idle
    // connection carries none of them (about 300 bytes when made at their smallest), and a busy one does not
    // make them again between messages.
    private ArrayDeque<Delivery> reliable;
    private long reliableBytes;
    private ArrayDeque<Delivery> qos0;
    private LinkedHashMap<String, Delivery> conflated;
    // keyed by packet id without boxing; send order (for resends) is each delivery's sequence number
    private IntObjectHashMap<Delivery> inflight;
    private long sendSequence;
    /** Deliveries given a packet id by drains so far (journaled sessions): tells a drain it must wait. */
    private long assignedInDrain;
    private int window;
    private int nextPacketId = 1;
    private List<Runnable> roomWaiters;
    private DeliverySink sink;
    private boolean drainScheduled;
    /** The sink a drain is running for, on its executor: a drain called from inside it (its flush) returns. */
    private volatile DeliverySink drainingFor;
    private static final AtomicReferenceFieldUpdater<SubscriberQueue, DeliverySink> DRAINING_FOR =
            AtomicReferenceFieldUpdater.newUpdater(SubscriberQueue.class, DeliverySink.class, "drainingFor");
    /** Each event loop's list for the batch a drain hands over; see {@link #loopBatch}. */
    private static final FastThreadLocal<ArrayList<Delivery>> BATCHES = new FastThreadLocal<>() {
        @Override
        protected ArrayList<Delivery> initialValue() {
            return new ArrayList<>(DRAIN_BATCH);
        }
    };
    /**
     * The subscriber cannot keep up: the last drain found its connection unwritable (or there is none). Only then
     * does the QoS 0 bound drop messages; see {@link #HANDOFF_FACTOR}.
     */
    private boolean behind = true;
    private long lastProgressNanos = System.nanoTime();
    /** Messages not queued for this session because it was offline and full, since it last came back. */
    private long overflowSinceReturn;
    private long overflowTotal;
    /** An overflow episode is going on: it began with a log line and ends when the session comes back. */
    private boolean overflowing;
    /** Set while the session's queue must survive the process; every change is recorded under this lock. */
    private volatile SessionJournal journal;

    SubscriberQueue(QueueLimits limits, BrokerStats stats) {
        this.limits = limits;
        this.stats = stats;
        this.window = limits.defaultWindow();
    }

    private ArrayDeque<Delivery> reliable() {
        if (reliable == null) {
            reliable = new ArrayDeque<>(1);
        }
        return reliable;
    }

    private ArrayDeque<Delivery> qos0() {
        if (qos0 == null) {
            qos0 = new ArrayDeque<>(1);
        }
        return qos0;
    }

    private LinkedHashMap<String, Delivery> conflated() {
        if (conflated == null) {
            conflated = new LinkedHashMap<>();
        }
        return conflated;
    }

    private IntObjectHashMap<Delivery> inflight() {
        if (inflight == null) {
            inflight = new IntObjectHashMap<>(2);
        }
        return inflight;
    }

    private int reliableSize() {
        return reliable == null ? 0 : reliable.size();
    }

    private int qos0Size() {
        return qos0 == null ? 0 : qos0.size();
    }

    private int conflatedSize() {
        return conflated == null ? 0 : conflated.size();
    }

    private int inflightSize() {
        return inflight == null ? 0 : inflight.size();
    }

    /** Queue a delivery; QoS 0 always fits (by dropping per policy), QoS 1/2 may be refused as FULL. */
    public Offer offer(Delivery d, boolean conflate) {
        return offer(d, conflate, true);
    }

    /**
     * Queue a delivery that no publisher waits for (a retained message sent on a subscribe), up to the offline
     * bound even while the session is connected: a subscribe that matches many retained topics must not lose
     * them to the short bound that paces live publishers.
     */
    public Offer offerBacklog(Delivery d) {
        return offer(d, false, false);
    }

    private Offer offer(Delivery d, boolean conflate, boolean live) {
        DeliverySink wake;
        synchronized (this) {
            if (d.qos() == 0) {
                offerQos0(d, conflate);
            } else {
                if (!(live ? hasRoom() : hasRoomBelow(limits.maxQueuedMessages()))) {
                    return Offer.FULL;
                }
                reliable().addLast(d);
                addBytes(d.weight());
                if (journal != null) {
                    journal.queued(d);
                }
            }
            wake = claimDrain();
        }
        if (wake != null) {
            wake.executor().execute(this::drain);
        }
        return Offer.ACCEPTED;
    }

    private void offerQos0(Delivery d, boolean conflate) {
        if (conflate) {
            LinkedHashMap<String, Delivery> conflated = conflated();
            if (conflated.remove(d.message().topic()) != null) {
                stats.dropped(BrokerStats.Drop.QOS0_CONFLATED);
            }
            conflated.put(d.message().topic(), d);
            if (conflated.size() > limits.maxQos0Messages()) {
                Iterator<Delivery> eldest = conflated.values().iterator();
                eldest.next();
                eldest.remove();
                stats.dropped(BrokerStats.Drop.QOS0_OVERFLOW);
            }
        } else {
            int bound = behind ? limits.maxQos0Messages() : limits.maxQos0Messages() * HANDOFF_FACTOR;
            ArrayDeque<Delivery> qos0 = qos0();
            if (qos0.size() >= bound) {
                qos0.pollFirst();
                stats.dropped(BrokerStats.Drop.QOS0_OVERFLOW);
            }
            qos0.addLast(d);
        }
    }

    /** The subscriber fell behind: what waits beyond the QoS 0 bound goes, oldest first, counted. */
    private void fellBehind() {
        behind = true;
        while (qos0Size() > limits.maxQos0Messages()) {
            qos0.pollFirst();
            stats.dropped(BrokerStats.Drop.QOS0_OVERFLOW);
        }
    }

    /**
     * Run {@code onRoom} once when the QoS 1/2 queue has room again, or when the session goes offline.
     * Returns false, without registering, when there is room already: the caller retries at once.
     */
    public synchronized boolean awaitRoom(Runnable onRoom) {
        if (hasRoom()) {
            return false;
        }
        if (roomWaiters == null) {
            roomWaiters = new ArrayList<>(2);
        }
        roomWaiters.add(onRoom);
        return true;
    }

    /** Forget a waiter registered with {@link #awaitRoom}; false when it already ran (or is running). */
    synchronized boolean cancelWait(Runnable onRoom) {
        return roomWaiters != null && roomWaiters.remove(onRoom);
    }

    private void addBytes(long delta) {
        reliableBytes += delta;
        stats.queuedBytes.add(delta);
    }

    /**
     * Count one message this offline session's full queue did not take; true when it begins an episode (the
     * first since the session was last connected), which the caller logs, once.
     */
    synchronized boolean overflow() {
        overflowSinceReturn++;
        overflowTotal++;
        if (overflowing) {
            return false;
        }
        overflowing = true;
        stats.sessionsOverflowing.increment();
        return true;
    }

    /** The session is back (or ends): how many it missed since it left; the episode ends. */
    synchronized long takeOverflow() {
        long n = overflowSinceReturn;
        overflowSinceReturn = 0;
        if (overflowing) {
            overflowing = false;
            stats.sessionsOverflowing.decrement();
        }
        return n;
    }

    /** Messages dropped for this session because it was offline with a full queue, over its whole life. */
    public synchronized long overflowedTotal() {
        return overflowTotal;
    }

    /** Dropping for this session now: it is offline with a full queue and has not come back since. */
    public synchronized boolean isOverflowing() {
        return overflowing;
    }

    /** Whether a QoS 1/2 offer would be accepted now. */
    synchronized boolean hasRoomNow() {
        return hasRoom();
    }

    private boolean hasRoom() {
        return hasRoomBelow(bound());
    }

    private boolean hasRoomBelow(int messages) {
        // one message larger than the byte bound still passes an empty queue, or it could never be delivered
        int queued = reliableSize();
        return queued < messages && (queued == 0 || reliableBytes < limits.maxQueuedBytes());
    }

    /** The QoS 1/2 bound now: a few windows while connected, {@code --max-queued-messages} while offline. */
    private int bound() {
        return sink != null ? limits.liveBound(window) : limits.maxQueuedMessages();
    }

    /**
     * Whether the publishers waiting for room should be woken: at any room under the offline bound, at half the
     * live bound while connected (see the class comment).
     */
    private boolean roomToWake() {
        int bound = bound();
        if (bound >= limits.maxQueuedMessages()) {
            return hasRoom();
        }
        return reliableSize() <= bound / 2 && hasRoom();
    }

    private DeliverySink claimDrain() {
        if (sink != null && !drainScheduled) {
            drainScheduled = true;
            return sink;
        }
        return null;
    }

    /**
     * Hand queued deliveries to the sink while it is writable and the window has room, up to {@link #DRAIN_MAX},
     * flushing once at the end (or when the channel's unflushed bytes reach its high-water mark). On the sink's
     * executor. For a journaled session, QoS 2 deliveries entering the window are sent once their packet ids are
     * written: a restart then resends them with DUP and the same id, never as new ones.
     *
     * <p>At a steady rate most drains carry one delivery, so what a drain costs besides its deliveries is paid per
     * message: the first batch is taken in the same pass of the lock that claims the drain, the batch list is the
     * event loop's own ({@link #BATCHES}), the wall clock is read only for a message that can expire, and the
     * end of the drain is one compare-and-set ({@link #DRAINING_FOR}) instead of another pass of the lock.
     */
    public void drain() {
        DeliverySink out = null;
        ArrayList<Delivery> batch = null;
        int handed = 0;
        int unflushed = 0;
        boolean reschedule = false;
        try {
            while (true) {
                List<Runnable> waiters = null;
                SessionJournal waitFor = null;
                boolean more = false;
                boolean writable;
                synchronized (this) {
                    if (out == null) {
                        if (drainingFor != null && drainingFor == sink) {
                            // called back from this drain's own flush (the channel turned writable again): it looks
                            // again itself
                            return;
                        }
                        drainScheduled = false;
                        if (sink == null) {
                            return;
                        }
                        out = sink;
                        DRAINING_FOR.lazySet(this, out); // read under the lock, cleared by a compare-and-set
                    } else if (sink != out) {
                        break;
                    }
                    writable = out.isWritable();
                    if (!writable && unflushed == 0) {
                        fellBehind();
                        break;
                    }
                    if (writable) {
                        behind = false;
                        if (batch == null) {
                            batch = loopBatch();
                        }
                        long assignedBefore = assignedInDrain;
                        while (batch.size() < DRAIN_BATCH) {
                            Delivery d = nextDeliverable();
                            if (d == null) {
                                break;
                            }
                            batch.add(d);
                        }
                        if (roomWaiters != null && roomToWake()) {
                            waiters = roomWaiters;
                            roomWaiters = null;
                        }
                        more = batch.size() == DRAIN_BATCH;
                        if (!more && reliableSize() > 0 && inflightSize() >= window) {
                            HeldWork.mark(); // the next acknowledgement opens the window: read it without a nap
                        }
                        if (journal != null && assignedInDrain != assignedBefore) {
                            // no other drain until these are out, so deliveries leave in order
                            waitFor = journal;
                            drainScheduled = true;
                        } else if (more && handed + batch.size() >= DRAIN_MAX) {
                            drainScheduled = true;
                            reschedule = true;
                        }
                    }
                }
                if (!writable) {
                    // our own unflushed writes reached the high-water mark: flush, then look again
                    out.flush();
                    unflushed = 0;
                    continue;
                }
                if (waiters != null) {
                    waiters.forEach(Runnable::run);
                }
                if (waitFor != null) {
                    DeliverySink target = out;
                    List<Delivery> stored = new ArrayList<>(batch);
                    batch.clear();
                    waitFor.afterWrites(ok -> target.executor().execute(() -> sendAfterStore(target, stored)));
                    break;
                }
                int n = batch.size();
                write(out, batch);
                batch.clear();
                handed += n;
                unflushed += n;
                if (!more || reschedule) {
                    break;
                }
            }
            if (unflushed > 0) {
                out.flush();
            }
        } finally {
            if (batch != null) {
                batch.clear();
            }
            if (out != null) {
                // a drain for a newer sink (on another loop) may have begun meanwhile: only our own mark is cleared
                DRAINING_FOR.compareAndSet(this, out, null);
            }
        }
        if (reschedule) {
            out.executor().execute(this::drain);
        }
    }

    /**
     * The event loop's batch list, empty; a new one when a drain further up this thread's stack holds it (a drain
     * started from inside another's hand-over), so no two drains ever share one.
     */
    private static ArrayList<Delivery> loopBatch() {
        ArrayList<Delivery> list = BATCHES.get();
        return list.isEmpty() ? list : new ArrayList<>(DRAIN_BATCH);
    }

    private void sendAfterStore(DeliverySink out, List<Delivery> batch) {
        synchronized (this) {
            if (sink != out) {
                return; // the connection changed meanwhile: the new one resent the window itself
            }
            drainScheduled = false;
        }
        send(out, batch);
        drain();
    }

    private void send(DeliverySink out, List<Delivery> batch) {
        write(out, batch);
        if (!batch.isEmpty()) {
            out.flush();
        }
    }

    private void write(DeliverySink out, List<Delivery> batch) {
        if (batch.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        for (int i = 0, n = batch.size(); i < n; i++) {
            Delivery d = batch.get(i);
            out.send(d);
            stats.delivered(d, now);
        }
        stats.delivered.add(batch.size());
        HandledMessages.add(batch.size());
    }

    private Delivery nextDeliverable() {
        long now = 0;
        while (true) {
            Delivery d = qos0 == null ? null : qos0.pollFirst();
            if (d == null && conflatedSize() > 0) {
                Iterator<Delivery> it = conflated.values().iterator();
                d = it.next();
                it.remove();
            }
            if (d == null && reliableSize() > 0 && inflightSize() < window) {
                d = reliable.pollFirst();
                addBytes(-d.weight());
                d.assign(allocatePacketId(), ++sendSequence);
                inflight().put(d.packetId(), d);
                if (journal != null) {
                    journal.inflight(d);
                    if (d.qos() == 2) {
                        // QoS 2 leaves once its packet id is written: a resend must carry the same id, or the
                        // client would take it for a new message. QoS 1 need not wait: see Broker.recover
                        assignedInDrain++;
                    }
                }
            }
            if (d == null) {
                return null;
            }
            if (d.message().expiresAtMillis() != 0 && now == 0) {
                now = System.currentTimeMillis();
            }
            if (d.message().isExpired(now)) {
                stats.dropped(BrokerStats.Drop.EXPIRED);
                if (d.packetId() != 0 && inflight != null) {
                    inflight.remove(d.packetId());
                }
                if (journal != null) {
                    journal.done(d);
                }
                d.settle();
                continue;
            }
            return d;
        }
    }

    private int allocatePacketId() {
        while (true) {
            int id = nextPacketId;
            nextPacketId = id == 65_535 ? 1 : id + 1;
            if (inflight == null || !inflight.containsKey(id)) {
                return id;
            }
        }
    }

    /** PUBACK, PUBCOMP, STOMP ACK: the delivery leaves the window. Null when the id is not in flight. */
    public Delivery acknowledge(int packetId) {
        Delivery d;
        DeliverySink wake = null;
        synchronized (this) {
            d = inflight == null ? null : inflight.remove(packetId);
            if (d != null) {
                lastProgressNanos = System.nanoTime();
                if (journal != null) {
                    journal.done(d);
                }
                wake = claimDrain();
            }
        }
        if (d != null) {
            d.settle();
            d.acknowledgedByClient();
        }
        if (wake != null) {
            // a task, not a call: the acknowledgements of one read share one drain and one flush
            wake.executor().execute(this::drain);
        }
        return d;
    }

    /** QoS 2 PUBREC: the delivery stays in the window until PUBCOMP; the adapter sends PUBREL. */
    public synchronized Delivery received(int packetId) {
        Delivery d = inflight == null ? null : inflight.get(packetId);
        if (d != null) {
            d.markReleased();
            lastProgressNanos = System.nanoTime();
            if (journal != null) {
                journal.inflight(d);
            }
        }
        return d;
    }

    /**
     * For a journaled session, run {@code then} (on the store's writer thread) once what this queue recorded so
     * far is written, and answer true; false, without running it, when nothing here is kept in the store. A
     * QoS 2 PUBREL waits for the released flag this way, so a restart never resends a PUBLISH the client
     * has already released.
     */
    public boolean afterStore(Runnable then) {
        SessionJournal j = journal;
        if (j == null) {
            return false;
        }
        j.afterWrites(ok -> then.run());
        return true;
    }

    /** STOMP NACK: the delivery leaves the window and goes back to the head of the queue, marked redelivered. */
    public Delivery reject(int packetId) {
        Delivery d;
        synchronized (this) {
            d = inflight == null ? null : inflight.remove(packetId);
            if (d != null) {
                d.markDuplicate();
                Delivery again = new Delivery(d.message(), d.qos(), d.retainFlag(), d.subscriptionIds(), d.tag());
                again.markDuplicate();
                again.viaGroup(d.group());
                reliable().addFirst(again);
                addBytes(again.weight());
                if (journal != null && d.storeSeq() != 0) {
                    // same position, back to queued: a restart keeps it at the head
                    again.storeSeq(d.storeSeq());
                    journal.inflight(again);
                }
            }
        }
        if (d != null) {
            drain();
        }
        return d;
    }

    /** The connection is up: resend the window with DUP (MQTT 4.4), then go on draining. On the sink's executor. */
    void attach(DeliverySink newSink, int clientWindow) {
        List<Delivery> resend;
        synchronized (this) {
            sink = newSink;
            window = clientWindow > 0 ? clientWindow : limits.defaultWindow();
            resend = inSendOrder();
            lastProgressNanos = System.nanoTime();
            drainScheduled = false;
        }
        for (Delivery d : resend) {
            d.markDuplicate();
            if (d.released()) {
                newSink.sendRelease(d);
            } else {
                newSink.send(d);
            }
        }
        if (!resend.isEmpty()) {
            newSink.flush();
        }
        drain();
    }

    /** The connection is gone; the queue keeps filling up to its bounds, and waiting publishers move on. */
    void detach() {
        List<Runnable> waiters;
        synchronized (this) {
            sink = null;
            behind = true;
            waiters = roomWaiters;
            roomWaiters = null;
            if (qos0 != null) {
                qos0.clear();
            }
            if (conflated != null) {
                conflated.clear();
            }
        }
        if (waiters != null) {
            waiters.forEach(Runnable::run);
        }
    }

    /**
     * Start (non-null) or stop recording this queue in the store. Starting writes what the queue holds now, window
     * first; stopping deletes it from the store.
     */
    synchronized void journal(SessionJournal j) {
        if (j == journal) {
            return;
        }
        if (journal != null) {
            for (Delivery d : inSendOrder()) {
                journal.done(d);
            }
            if (reliable != null) {
                reliable.forEach(journal::done);
            }
        }
        journal = j;
        if (j != null) {
            for (Delivery d : inSendOrder()) {
                j.queued(d);
                j.inflight(d);
            }
            if (reliable != null) {
                reliable.forEach(j::queued);
            }
        }
    }

    SessionJournal journal() {
        return journal;
    }

    /** Recovery: a stored delivery back at its place, in the window when it held a packet id. */
    synchronized void restore(Delivery d, long seq, int packetId, boolean released) {
        if (journal != null) {
            journal.restored(d, seq);
        }
        if (packetId != 0 && (inflight == null || !inflight.containsKey(packetId))) {
            d.assign(packetId, ++sendSequence);
            if (released) {
                d.markReleased();
            }
            inflight().put(packetId, d);
        } else {
            reliable().addLast(d);
            addBytes(d.weight());
        }
    }

    synchronized DeliverySink currentSink() {
        return sink;
    }

    synchronized boolean isOnline() {
        return sink != null;
    }

    /**
     * Delete taken deliveries from the store, once they are queued wherever they went next (so a crash in
     * between delivers one twice rather than never).
     */
    synchronized void forget(List<Delivery> taken) {
        if (journal != null) {
            taken.forEach(journal::done);
        }
    }

    /** Everything not yet acknowledged, window first, emptied out (still in the store: see {@link #forget}): for handing a leaving member's share on. */
    synchronized List<Delivery> takeUnacknowledged() {
        List<Delivery> all = new ArrayList<>(inflightSize() + reliableSize());
        all.addAll(inSendOrder());
        if (reliable != null) {
            all.addAll(reliable);
            reliable.clear();
        }
        if (inflight != null) {
            inflight.clear();
        }
        addBytes(-reliableBytes);
        return all;
    }

    /** Nanoseconds the window has been full without an acknowledgement, 0 when it is not full. */
    public synchronized long stalledNanos(long now) {
        if (sink == null || inflightSize() < window || inflightSize() == 0) {
            return 0;
        }
        return now - lastProgressNanos;
    }

    public synchronized int queuedReliable() {
        return reliableSize();
    }

    public synchronized long queuedBytes() {
        return reliableBytes;
    }

    public synchronized int queuedQos0() {
        return qos0Size() + conflatedSize();
    }

    public synchronized int inflightCount() {
        return inflightSize();
    }

    public synchronized int window() {
        return window;
    }

    /** A snapshot of in-flight deliveries in send order, for tests and diagnostics. */
    public synchronized Map<Integer, Delivery> inflightSnapshot() {
        Map<Integer, Delivery> ordered = new LinkedHashMap<>();
        for (Delivery d : inSendOrder()) {
            ordered.put(d.packetId(), d);
        }
        return ordered;
    }

    private List<Delivery> inSendOrder() {
        if (inflight == null) {
            return new ArrayList<>(0);
        }
        List<Delivery> ordered = new ArrayList<>(inflight.values());
        ordered.sort(Comparator.comparingLong(Delivery::sendSequence));
        return ordered;
    }
}
