package io.sluice.bench.load;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One publish/subscribe topology driven for a fixed time: publishers send as fast as their connection (and,
 * at QoS 1, their in-flight window) allows, or at a capped total rate; subscribers count every message by
 * publisher and sequence number and record its latency. All on the generator's one event loop.
 */
final class Flow implements ClientConn.Listener {
    private static final int BATCH = 32;
    /** At a fixed rate, the shortest wait for the next send time (see {@link #scheduleNextSend}). */
    private static final long MIN_PUMP_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

    final class Pub {
        final int index;
        final String topic;
        final int qos;
        final List<Sub> listeners = new ArrayList<>();
        ClientConn conn;
        long sent;
        /** The sequence numbers the broker acknowledged (QoS 1: PUBACK or RECEIPT). */
        final BitSet acked = new BitSet();
        /** Held back by --transit: a message from it reaching its slowest listener asks the pump again. */
        boolean transitBlocked;

        /** Messages sent and not yet seen (or passed over) by its slowest listener. */
        long inTransit() {
            long lag = 0;
            for (Sub s : listeners) {
                long next = index < s.next.length ? s.next[index] : 0;
                lag = Math.max(lag, sent - next);
            }
            return lag;
        }

        Pub(int index, String topic, int qos) {
            this.index = index;
            this.topic = topic;
            this.qos = qos;
        }
    }

    final class Sub {
        final String filter;
        final int qos;
        final int[] publishers;
        final boolean slow;
        BitSet[] seen;
        /** Per publisher: one past the highest sequence number seen; order per topic makes a gap a loss. */
        long[] next = new long[0];
        ClientConn conn;
        long received;
        long unique;
        long duplicates;
        long inWindow;
        double ackCredit;

        Sub(String filter, int qos, int[] publishers, boolean slow) {
            this.filter = filter;
            this.qos = qos;
            this.publishers = publishers;
            this.slow = slow;
            this.seen = new BitSet[Math.max(1, pubs.size())];
        }

        /** Messages the broker acknowledged to their publisher that never arrived here. */
        long ackedMissing() {
            long n = 0;
            for (int p : publishers) {
                BitSet a = (BitSet) pubs.get(p).acked.clone();
                if (p < seen.length && seen[p] != null) {
                    a.andNot(seen[p]);
                }
                n += a.cardinality();
            }
            return n;
        }

        long expected() {
            long n = 0;
            for (int p : publishers) {
                n += pubs.get(p).sent;
            }
            return n;
        }
    }

    final LoadOptions o;
    final Wire wire;
    final List<Pub> pubs = new ArrayList<>();
    final List<Sub> subs = new ArrayList<>();
    final Histogram latencyMicros = new Histogram(60_000_000L, 3);
    /**
     * At a fixed rate, how late each message of the measured window left the generator after its send time: the
     * part of the latency above that is the generator's own (a broker holding the publisher back adds to it too).
     */
    final Histogram sendLagMicros = new Histogram(60_000_000L, 3);
    /** The same latencies by 5-second segment of the measured window (by receipt), to see when a tail happened. */
    final Histogram[] latencyBySegment = new Histogram[64];
    static final long SEGMENT_NANOS = TimeUnit.SECONDS.toNanos(5);
    long errors;
    private long t0;
    private long windowStart;
    private long windowEnd;
    private long totalSent;
    private boolean publishing;
    private boolean pumpPending;
    /** A pump is scheduled for the next message's send time (a fixed rate with nothing due now). */
    private boolean timerPending;
    private int rotate;
    private ScheduledFuture<?> ticker;
    private ProcessStats proc;
    /**
     * The broker's CPU seconds and bytes written to disk at the measured window's start and end (-1 until read, or
     * without {@code --broker-pid}), read by the 10 ms tick: what the broker spent on the window's messages alone.
     */
    final double[] windowCpu = {-1, -1};
    final long[] windowWritten = {-1, -1};

    Flow(LoadOptions o, Wire wire) {
        this.o = o;
        this.wire = wire;
    }

    Pub publisher(String topic, int qos) {
        Pub p = new Pub(pubs.size(), topic, qos);
        pubs.add(p);
        return p;
    }

    Sub subscriber(String filter, int qos, boolean slow, int... publishers) {
        Sub s = new Sub(filter, qos, publishers, slow);
        subs.add(s);
        for (int p : publishers) {
            pubs.get(p).listeners.add(s);
        }
        return s;
    }

    /** Connect everyone, subscribe, publish for warm-up + duration, then wait for stragglers. */
    void run(String idPrefix, ProcessStats proc) throws Exception {
        this.proc = proc;
        List<Future<ClientConn>> pending = new ArrayList<>();
        for (int i = 0; i < subs.size(); i++) {
            pending.add(wire.connect(idPrefix + "-sub-" + i, o.subPorts[i % o.subPorts.length]));
        }
        for (int i = 0; i < pubs.size(); i++) {
            pending.add(wire.connect(idPrefix + "-pub-" + i));
        }
        for (int i = 0; i < pending.size(); i++) {
            Future<ClientConn> f = pending.get(i);
            if (!f.await(30, TimeUnit.SECONDS) || !f.isSuccess()) {
                throw new IllegalStateException("connection " + i + " failed: "
                        + (f.cause() == null ? "timeout" : f.cause().toString()));
            }
        }
        CountDownLatch subscribed = new CountDownLatch(subs.size());
        wire.loop.submit(() -> {
            for (int i = 0; i < subs.size(); i++) {
                Sub s = subs.get(i);
                s.conn = pending.get(i).getNow();
                s.conn.attachment = s;
                s.conn.listener = this;
                s.conn.manualAck = s.slow;
                s.conn.subscribe(s.filter, s.qos, subscribed::countDown);
            }
            for (int i = 0; i < pubs.size(); i++) {
                Pub p = pubs.get(i);
                p.conn = pending.get(subs.size() + i).getNow();
                p.conn.attachment = p;
                p.conn.listener = this;
                p.conn.window = p.qos > 0 ? o.inflight : Integer.MAX_VALUE;
            }
        }).sync();
        if (!subscribed.await(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("subscriptions not confirmed within 30 s");
        }
        if (o.settle > 0) {
            // a cluster's nodes learn of each other's subscriptions a moment after SUBACK
            Thread.sleep((long) (o.settle * 1000));
        }
        long warm = (long) (o.warmup * 1e9);
        long dur = (long) (o.duration * 1e9);
        wire.loop.submit(() -> {
            t0 = System.nanoTime();
            windowStart = t0 + warm;
            windowEnd = windowStart + dur;
            publishing = true;
            ticker = wire.loop.scheduleAtFixedRate(this::tick, 10, 10, TimeUnit.MILLISECONDS);
            requestPump();
        }).sync();
        long deadline = System.nanoTime() + warm + dur + TimeUnit.SECONDS.toNanos(2);
        while (System.nanoTime() < deadline && wire.loop.submit(() -> publishing).get()) {
            proc.sample();
            Thread.sleep(100);
        }
        wire.loop.submit(() -> {
            publishing = false;
            for (Sub s : subs) {
                if (s.slow) {
                    s.conn.manualAck = false; // the slow one catches up so its count can be checked
                    s.conn.ackPending(Integer.MAX_VALUE);
                }
            }
        }).sync();
        // wait for what is still on its way: until all arrived, or --drain passed, or nothing came for 2 s while every
        // acknowledged message is in (a message acknowledged and still missing is waited for the whole --drain: a
        // cluster's lane held by a refusal delivers it late; an unacknowledged one may never come)
        long drainEnd = System.nanoTime() + (long) (o.drain * 1e9);
        long lastCount = -1;
        long lastChange = System.nanoTime();
        while (System.nanoTime() < drainEnd && !wire.loop.submit(this::allArrived).get()
                && (System.nanoTime() - lastChange < TimeUnit.SECONDS.toNanos(2)
                        || wire.loop.submit(this::ackedMissing).get() > 0)) {
            long count = wire.loop.submit(this::receivedCount).get();
            if (count != lastCount) {
                lastCount = count;
                lastChange = System.nanoTime();
            }
            proc.sample();
            Thread.sleep(50);
        }
        proc.sample();
        wire.loop.submit(() -> ticker.cancel(false)).sync();
    }

    private long receivedCount() {
        long n = 0;
        for (Sub s : subs) {
            n += s.received;
        }
        return n;
    }

    long ackedMissing() {
        long n = 0;
        for (Sub s : subs) {
            n += s.ackedMissing();
        }
        return n;
    }

    /** Messages of QoS 1 publishers the broker never acknowledged. */
    long unacknowledged() {
        long n = 0;
        for (Pub p : pubs) {
            if (p.qos > 0) {
                n += p.sent - p.acked.cardinality();
            }
        }
        return n;
    }

    private boolean allArrived() {
        for (Sub s : subs) {
            if (s.unique < s.expected()) {
                return false;
            }
        }
        return true;
    }

    /** Every 10 ms: the slow subscribers acknowledge their share, and a blocked pump checks the clock. */
    private void tick() {
        long now = System.nanoTime();
        int edge = now >= windowEnd ? 1 : now >= windowStart ? 0 : -1;
        if (edge >= 0 && windowCpu[edge] < 0 && proc != null && proc.enabled()) {
            windowCpu[edge] = proc.cpuSeconds();
            windowWritten[edge] = proc.writeBytes();
        }
        for (Sub s : subs) {
            if (s.slow && s.conn.manualAck) {
                s.ackCredit += o.slowRate / 100.0;
                int n = (int) s.ackCredit;
                s.ackCredit -= s.conn.ackPending(n);
                s.ackCredit = Math.min(s.ackCredit, Math.max(1, o.slowRate / 100.0));
            }
        }
        requestPump();
    }

    private void requestPump() {
        if (!pumpPending && publishing) {
            pumpPending = true;
            wire.loop.execute(this::pump);
        }
    }

    private void pump() {
        pumpPending = false;
        if (!publishing) {
            return;
        }
        long now = System.nanoTime();
        if (now >= windowEnd || totalSent >= o.maxMessages) {
            publishing = false;
            return;
        }
        long budget = o.rate > 0 ? (long) ((now - t0) * o.rate / 1e9) + 1 - totalSent : Long.MAX_VALUE;
        boolean more = false;
        int n = pubs.size();
        for (int k = 0; k < n && budget > 0; k++) {
            Pub p = pubs.get((rotate + k) % n);
            long room = o.transit - p.inTransit();
            p.transitBlocked = room <= 0;
            if (p.transitBlocked) {
                continue;
            }
            int limit = (int) Math.min(BATCH, room);
            int batch = 0;
            while (batch < limit && budget > 0 && p.conn.canPublish() && totalSent < o.maxMessages) {
                long stamp = o.rate > 0 ? t0 + (long) (totalSent * 1e9 / o.rate) : System.nanoTime();
                if (o.rate > 0 && stamp >= windowStart && stamp < windowEnd) {
                    sendLagMicros.recordValue(Math.min(Math.max(0, (now - stamp) / 1000), sendLagMicros.getHighestTrackableValue()));
                }
                ByteBuf payload = Payloads.stamp(p.conn.ctx.alloc(), o.payload, p.index, p.sent, stamp);
                p.conn.publish(p.topic, payload, p.qos);
                p.sent++;
                totalSent++;
                budget--;
                batch++;
            }
            p.conn.flush();
            if (batch == limit && limit < BATCH) {
                p.transitBlocked = true;
            }
            if (batch == BATCH && p.conn.canPublish()) {
                more = true;
            }
        }
        rotate++;
        if (more && budget > 0) {
            requestPump(); // yield to reads between batches
        } else if (o.rate > 0 && budget <= 0) {
            // Open loop: the next message goes at its own send time, not at whatever wakes the pump next (an
            // acknowledgement, or the 10 ms tick when none is on its way: a broker that acknowledges before the next
            // message is due would otherwise see it up to 10 ms late, and that lateness counted as its latency).
            scheduleNextSend();
        }
        // otherwise: writability, an acknowledgement, a subscriber's receipt or the 10 ms tick asks again
    }

    private void scheduleNextSend() {
        if (timerPending) {
            return;
        }
        // the budget above lets message k go once (now - t0) * rate > k - 1; at the highest rates (a message every
        // few microseconds) a pump per message would take the generator's own CPU, so a pump waits at least
        // MIN_PUMP_NANOS and takes what is due by then (each of those leaves at most that much late)
        long due = t0 + (long) Math.ceil((totalSent - 1) * 1e9 / o.rate);
        timerPending = true;
        wire.loop.schedule(() -> {
            timerPending = false;
            requestPump();
        }, Math.max(MIN_PUMP_NANOS, due - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    @Override
    public void onMessage(ClientConn conn, ByteBuf payload, long nowNanos) {
        Sub s = (Sub) conn.attachment;
        s.received++;
        if (payload.readableBytes() < Payloads.HEADER) {
            errors++;
            return;
        }
        int p = Payloads.publisher(payload);
        long seq = Payloads.seq(payload);
        if (p < 0 || p >= pubs.size() || seq < 0 || seq > Integer.MAX_VALUE) {
            errors++;
            return;
        }
        if (p >= s.seen.length) {
            s.seen = java.util.Arrays.copyOf(s.seen, pubs.size());
        }
        if (p >= s.next.length) {
            s.next = java.util.Arrays.copyOf(s.next, pubs.size());
        }
        if (seq >= s.next[p]) {
            s.next[p] = seq + 1;
            if (pubs.get(p).transitBlocked) {
                requestPump();
            }
        }
        BitSet bits = s.seen[p];
        if (bits == null) {
            bits = s.seen[p] = new BitSet();
        }
        if (bits.get((int) seq)) {
            s.duplicates++;
            return;
        }
        bits.set((int) seq);
        s.unique++;
        if (nowNanos >= windowStart && nowNanos < windowEnd) {
            s.inWindow++;
            long micros = Math.max(0, (nowNanos - Payloads.sentNanos(payload)) / 1000);
            latencyMicros.recordValue(Math.min(micros, latencyMicros.getHighestTrackableValue()));
            int segment = (int) Math.min(latencyBySegment.length - 1, (nowNanos - windowStart) / SEGMENT_NANOS);
            Histogram h = latencyBySegment[segment];
            if (h == null) {
                h = latencyBySegment[segment] = new Histogram(60_000_000L, 2);
            }
            h.recordValue(Math.min(micros, h.getHighestTrackableValue()));
        }
    }

    @Override
    public void onPublishAcked(ClientConn conn, long seq) {
        if (conn.attachment instanceof Pub p && seq >= 0 && seq <= Integer.MAX_VALUE) {
            p.acked.set((int) seq);
        }
        requestPump();
    }

    @Override
    public void onReady(ClientConn conn) {
        requestPump();
    }

    @Override
    public void onClosed(ClientConn conn) {
        if (publishing) {
            errors++;
            System.err.println("connection " + conn.clientId + " closed during the run");
        }
    }

    void close() throws InterruptedException {
        wire.loop.submit(() -> {
            for (Sub s : subs) {
                if (s.conn != null) {
                    s.conn.listener = null;
                    s.conn.sendDisconnect();
                    s.conn.close();
                }
            }
            for (Pub p : pubs) {
                if (p.conn != null) {
                    p.conn.listener = null;
                    p.conn.sendDisconnect();
                    p.conn.close();
                }
            }
        }).sync();
    }

    long sent() {
        long n = 0;
        for (Pub p : pubs) {
            n += p.sent;
        }
        return n;
    }
}
