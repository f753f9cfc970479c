package io.sluice.bench.load;

import io.netty.util.concurrent.Future;
import org.HdrHistogram.Histogram;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * N clients that connect, stay a moment, disconnect and connect again for the whole run; a refused or failed
 * attempt retries after an exponential backoff with jitter (10 ms doubling to 2 s, times 0.5 to 1.5), as well
 * behaved clients do. Reports completed connects per second, connect latency, failures.
 */
final class Storm {
    private static final long BASE_BACKOFF_MS = 10;
    private static final long MAX_BACKOFF_MS = 2000;

    private final LoadOptions o;
    private final Wire wire;
    private final ProcessStats proc;
    private final SplittableRandom random = new SplittableRandom(7);
    private final Histogram connectMicros = new Histogram(60_000_000L, 3);
    private long connects;
    private long failures;
    private long attempts;
    private long end;
    private int open;

    Storm(LoadOptions o, Wire wire, ProcessStats proc) {
        this.o = o;
        this.wire = wire;
        this.proc = proc;
    }

    void run(Map<String, Object> r) throws Exception {
        long start = System.nanoTime();
        wire.loop.submit(() -> {
            end = System.nanoTime() + (long) ((o.warmup + o.duration) * 1e9);
            for (int i = 0; i < o.clients; i++) {
                int id = i;
                // spread the first wave over 100 ms rather than one instant
                wire.loop.schedule(() -> attempt(id, 0), random.nextInt(100), TimeUnit.MILLISECONDS);
            }
        }).sync();
        long deadline = start + (long) ((o.warmup + o.duration) * 1e9);
        while (System.nanoTime() < deadline) {
            proc.sample();
            Thread.sleep(100);
        }
        // let the last attempts finish (bounded)
        long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < settle && wire.loop.submit(() -> open).get() > 0) {
            Thread.sleep(50);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        wire.loop.submit(() -> {
            r.put("attempts", attempts);
            r.put("connects", connects);
            r.put("failures", failures);
            r.put("connects_per_s", connects / seconds);
            r.put("connect_p50_us", connectMicros.getTotalCount() == 0 ? -1 : connectMicros.getValueAtPercentile(50));
            r.put("connect_p99_us", connectMicros.getTotalCount() == 0 ? -1 : connectMicros.getValueAtPercentile(99));
            r.put("connect_p999_us", connectMicros.getTotalCount() == 0 ? -1 : connectMicros.getValueAtPercentile(99.9));
            r.put("ok", connects > 0);
        }).sync();
        System.out.printf("storm %s/%s x%d: %d connects (%.0f/s), %d failed attempts, connect p50 %d us p99 %d us%n",
                o.protocol, o.transport, o.clients, r.get("connects"), r.get("connects_per_s"), r.get("failures"),
                r.get("connect_p50_us"), r.get("connect_p99_us"));
    }

    private void attempt(int id, int failed) {
        if (System.nanoTime() >= end) {
            return;
        }
        attempts++;
        open++;
        long t = System.nanoTime();
        Future<ClientConn> f = wire.connect("storm-" + id);
        f.addListener(done -> {
            if (done.isSuccess()) {
                connects++;
                connectMicros.recordValue(Math.min((System.nanoTime() - t) / 1000, connectMicros.getHighestTrackableValue()));
                ClientConn c = f.getNow();
                wire.loop.schedule(() -> {
                    c.sendDisconnect();
                    c.ctx.channel().close().addListener(x -> {
                        open--;
                        attempt(id, 0);
                    });
                }, 20 + random.nextInt(100), TimeUnit.MILLISECONDS);
            } else {
                failures++;
                open--;
                long backoff = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS << Math.min(failed, 16));
                long jittered = (long) (backoff * (0.5 + random.nextDouble()));
                wire.loop.schedule(() -> attempt(id, failed + 1), jittered, TimeUnit.MILLISECONDS);
            }
        });
    }
}
