package io.sluice.bench.load;

import io.netty.util.concurrent.Future;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * N idle connections that only keep alive (PINGREQ / STOMP heart-beats): the broker's memory per connection,
 * as heap after a full GC for a JVM broker (jcmd) and as resident memory for any broker, measured before and
 * after they connect.
 */
final class Idle {
    private static final int CONCURRENT_CONNECTS = 100;

    private final LoadOptions o;
    private final Wire wire;
    private final ProcessStats proc;
    private final List<ClientConn> conns = new ArrayList<>();
    private int started;
    private int inProgress;
    private long failures;

    Idle(LoadOptions o, Wire wire, ProcessStats proc) {
        this.o = o;
        this.wire = wire;
        this.proc = proc;
    }

    void run(Map<String, Object> r) throws Exception {
        long heapBefore = proc.heapUsedAfterGcKb();
        long rssBefore = proc.rssKb();
        long start = System.nanoTime();
        wire.loop.submit(this::startMore).sync();
        long deadline = start + TimeUnit.SECONDS.toNanos(Math.max(60, o.clients / 100));
        while (System.nanoTime() < deadline && wire.loop.submit(() -> started < o.clients || inProgress > 0).get()) {
            proc.sample();
            Thread.sleep(100);
        }
        double connectSeconds = (System.nanoTime() - start) / 1e9;
        Thread.sleep(1000);
        long heapAfter = proc.heapUsedAfterGcKb();
        long rssAfter = proc.rssKb();
        long hold = System.nanoTime() + (long) (o.duration * 1e9);
        while (System.nanoTime() < hold) {
            proc.sample();
            Thread.sleep(100);
        }
        int connected = wire.loop.submit(() -> conns.size()).get();
        int stillOpen = wire.loop.submit(() -> (int) conns.stream().filter(ClientConn::isOpen).count()).get();
        r.put("connected", connected);
        r.put("still_open", stillOpen);
        r.put("failures", failures);
        r.put("connect_s", connectSeconds);
        r.put("broker_heap_before_kb", heapBefore);
        r.put("broker_heap_after_kb", heapAfter);
        r.put("broker_rss_before_kb", rssBefore);
        r.put("broker_rss_after_kb", rssAfter);
        if (connected > 0) {
            r.put("heap_bytes_per_conn", heapBefore < 0 || heapAfter < 0 ? -1 : (heapAfter - heapBefore) * 1024 / connected);
            r.put("rss_bytes_per_conn", rssBefore < 0 || rssAfter < 0 ? -1 : (rssAfter - rssBefore) * 1024 / connected);
        }
        r.put("ok", connected == o.clients && stillOpen == connected);
        wire.loop.submit(() -> conns.forEach(ClientConn::close)).sync();
        System.out.printf("idle %s/%s: %d of %d connected, %d still open after %.0f s; broker heap %s B/conn, RSS %s B/conn%n",
                o.protocol, o.transport, connected, o.clients, stillOpen, o.duration, r.get("heap_bytes_per_conn"),
                r.get("rss_bytes_per_conn"));
    }

    private void startMore() {
        while (started < o.clients && inProgress < CONCURRENT_CONNECTS) {
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
