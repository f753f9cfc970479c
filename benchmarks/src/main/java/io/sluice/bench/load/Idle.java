package io.sluice.bench.load;

import io.netty.util.concurrent.Future;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * N idle connections that only keep alive (PINGREQ / STOMP heart-beats): the broker's memory per connection, read
 * from the process's resident set (RSS) once it has settled, never from its heap. The connections come in two
 * halves with a reading after each, so besides the average over all of them (which carries what the first
 * connections cost the process once: code compiled, classes loaded, the young generation touched) the second half
 * gives the marginal cost of one more connection, and from it what a larger count would hold. A JVM broker's heap
 * after a full GC (jcmd) is reported beside it, last, so the forced collection does not shape the RSS readings.
 */
final class Idle {
    private static final int CONCURRENT_CONNECTS = 100;
    /** The count the projection is made for: 100,000 idle connections in under 1 GiB is the goal. */
    static final int PROJECTED = 100_000;
    /** File descriptors a process needs besides its connections (jars, epoll, pipes, a broker's store). */
    private static final int SPARE_FILES = 256;
    /** RSS has settled when it moved less than this share over {@link #SETTLE_WINDOW_MS}... */
    private static final double SETTLE_SHARE = 0.005;
    private static final long SETTLE_WINDOW_MS = 2_000;
    /** ...or after this long, whichever comes first. */
    private static final long SETTLE_MAX_MS = 20_000;

    private final LoadOptions o;
    private final Wire wire;
    private final ProcessStats proc;
    private final List<ClientConn> conns = new ArrayList<>();
    private int target;
    private int started;
    private int inProgress;
    private long failures;

    Idle(LoadOptions o, Wire wire, ProcessStats proc) {
        this.o = o;
        this.wire = wire;
        this.proc = proc;
    }

    void run(Map<String, Object> r) throws Exception {
        String refusal = limitsRefusal();
        if (refusal != null) {
            r.put("ok", false);
            r.put("error", refusal);
            System.out.println("idle: " + refusal);
            return;
        }
        r.put("source_addresses", o.sourceAddressCount());
        long heapBefore = proc.heapUsedAfterGcKb();
        long rssBefore = proc.rssKb();
        long begin = System.nanoTime();
        int half = o.clients / 2;
        long rssHalf = -1;
        if (half > 0) {
            connectUpTo(half);
            rssHalf = settledRssKb();
        }
        connectUpTo(o.clients);
        double connectSeconds = (System.nanoTime() - begin) / 1e9;
        long rssAfter = settledRssKb();
        long hold = System.nanoTime() + (long) (o.duration * 1e9);
        while (System.nanoTime() < hold) {
            proc.sample();
            Thread.sleep(100);
        }
        int connected = wire.loop.submit(() -> conns.size()).get();
        int stillOpen = wire.loop.submit(() -> (int) conns.stream().filter(ClientConn::isOpen).count()).get();
        long heapAfter = proc.heapUsedAfterGcKb();
        long rssAfterGc = heapAfter < 0 ? -1 : proc.rssKb();
        r.put("connected", connected);
        r.put("still_open", stillOpen);
        r.put("failures", failures);
        r.put("connect_s", connectSeconds);
        r.put("broker_heap_before_kb", heapBefore);
        r.put("broker_heap_after_kb", heapAfter);
        r.put("broker_rss_before_kb", rssBefore);
        r.put("broker_rss_half_kb", rssHalf);
        r.put("broker_rss_after_kb", rssAfter);
        r.put("broker_rss_after_gc_kb", rssAfterGc);
        boolean complete = connected == o.clients && stillOpen == connected;
        if (connected > 0) {
            r.put("heap_bytes_per_conn", heapBefore < 0 || heapAfter < 0 ? -1 : (heapAfter - heapBefore) * 1024 / connected);
            r.put("rss_bytes_per_conn", rssBefore < 0 || rssAfter < 0 ? -1 : (rssAfter - rssBefore) * 1024 / connected);
        }
        if (complete && half > 0 && rssHalf >= 0 && rssAfter >= 0) {
            long marginal = (rssAfter - rssHalf) * 1024 / (o.clients - half);
            r.put("rss_bytes_per_conn_marginal", marginal);
            r.put("rss_projected_kb", rssAfter + Math.max(0, PROJECTED - connected) * marginal / 1024);
            r.put("projected_connections", Math.max(PROJECTED, connected));
        }
        r.put("ok", complete);
        wire.loop.submit(() -> conns.forEach(ClientConn::close)).sync();
        System.out.printf("idle %s/%s: %d of %d connected, %d still open after %.0f s; broker RSS %s B/conn (second half: %s B/conn,"
                        + " %s MiB projected at %,d), heap %s B/conn%n",
                o.protocol, o.transport, connected, o.clients, stillOpen, o.duration, r.get("rss_bytes_per_conn"),
                r.get("rss_bytes_per_conn_marginal"),
                r.containsKey("rss_projected_kb") ? ((Long) r.get("rss_projected_kb")) / 1024 : "-", PROJECTED,
                r.get("heap_bytes_per_conn"));
    }

    /** Why this run cannot hold its connections (a file limit of the generator or the broker), null when it can. */
    private String limitsRefusal() {
        long need = (long) o.clients + SPARE_FILES;
        long own = ProcessStats.ownOpenFilesLimit();
        long broker = proc.openFilesLimit();
        if ((own >= 0 && own < need) || (broker >= 0 && broker < need)) {
            return String.format(Locale.ROOT, "%,d connections need an open-files limit of at least %,d in the generator"
                    + " (it has %,d) and in the broker (it has %s): raise the hard limit (ulimit -Hn, or LimitNOFILE= for a"
                    + " service) where both are started, or ask for fewer with --clients", o.clients, need, own,
                    broker < 0 ? "unknown" : String.format(Locale.ROOT, "%,d", broker));
        }
        return null;
    }

    /** Open connections until {@code count} are up (or have failed for good), bounded in time. */
    private void connectUpTo(int count) throws Exception {
        wire.loop.submit(() -> {
            target = count;
            startMore();
        }).sync();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(60, (count - started) / 100));
        while (System.nanoTime() < deadline && wire.loop.submit(() -> started < target || inProgress > 0).get()) {
            proc.sample();
            Thread.sleep(100);
        }
    }

    /** The broker's RSS once it stops moving: what it holds for idle connections, not what it is busy with. */
    private long settledRssKb() throws InterruptedException {
        Deque<long[]> window = new ArrayDeque<>();
        long end = System.currentTimeMillis() + SETTLE_MAX_MS;
        long rss = proc.rssKb();
        while (rss >= 0) {
            long now = System.currentTimeMillis();
            window.addLast(new long[] {now, rss});
            while (window.peekFirst()[0] < now - SETTLE_WINDOW_MS) {
                window.removeFirst();
            }
            long min = window.stream().mapToLong(s -> s[1]).min().orElse(rss);
            long max = window.stream().mapToLong(s -> s[1]).max().orElse(rss);
            boolean spansWindow = now - window.peekFirst()[0] >= SETTLE_WINDOW_MS - 300;
            if ((spansWindow && max - min <= rss * SETTLE_SHARE) || now >= end) {
                return rss;
            }
            proc.sample();
            Thread.sleep(250);
            rss = proc.rssKb();
        }
        return rss;
    }

    private void startMore() {
        while (started < target && inProgress < CONCURRENT_CONNECTS) {
            connect(started++, 0);
        }
    }

    private void connect(int id, int failed) {
        inProgress++;
        Future<ClientConn> f = wire.connect("idle-" + id);
        f.addListener(done -> {
            inProgress--;
            if (done.isSuccess()) {
                conns.add(f.getNow());
            } else if (failed < 5) {
                failures++;
                inProgress++;
                wire.loop.schedule(() -> {
                    inProgress--;
                    connect(id, failed + 1);
                }, 100L << failed, TimeUnit.MILLISECONDS);
                return;
            } else {
                failures++;
            }
            startMore();
        });
    }
}
