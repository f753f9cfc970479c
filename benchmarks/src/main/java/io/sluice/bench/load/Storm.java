package io.sluice.bench.load;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * N clients that connect, stay a moment, disconnect and connect again for the whole run; a refused or failed
 * attempt retries after an exponential backoff with jitter (10 ms doubling to 2 s, times 0.5 to 1.5), as well
 * behaved clients do. An attempt without an accepting answer (CONNACK, CONNECTED) within 10 s fails as a
 * timeout. Reports completed connects per second, connect latency, refusals (the broker answered no),
 * timeouts and errors apart, and how many of the N clients got in at least once.
 *
 * <p>With {@code --stay}, a client that got in stays connected: the storm of clients all reconnecting at once
 * (after a broker restart, a network cut) ends when every one of them is in, and the rate is N over the time
 * that took.
 *
 * <p>With {@code --bystanders B}, B clients connect before the storm, on an event loop of their own, and each
 * publishes to a topic only it subscribes to every 100 ms for the whole storm: the round trips of those
 * already-connected clients (p50, p99, max, and how many never came back) show whether the broker stays
 * responsive to them while the storm lasts.
 */
final class Storm {
    private static final long BASE_BACKOFF_MS = 10;
    private static final long MAX_BACKOFF_MS = 2000;
    private static final long CONNECT_TIMEOUT_MS = 10_000;
    private static final long BYSTANDER_INTERVAL_MS = 100;

    private final LoadOptions o;
    private final Wire wire;
    private final ProcessStats proc;
    private final SplittableRandom random = new SplittableRandom(7);
    private final Histogram connectMicros = new Histogram(60_000_000L, 3);
    private final BitSet admitted = new BitSet();
    private long connects;
    private long refusals;
    private long timeouts;
    private long errors;
    private long attempts;
    private long end;
    private int open;
    private long allInNanos;
    private final List<ClientConn> stayed = new ArrayList<>();

    Storm(LoadOptions o, Wire wire, ProcessStats proc) {
        this.o = o;
        this.wire = wire;
        this.proc = proc;
    }

    void run(Map<String, Object> r) throws Exception {
        Bystanders bystanders = o.bystanders > 0 ? new Bystanders(o) : null;
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
        while (System.nanoTime() < deadline && !(o.stay && wire.loop.submit(() -> allInNanos > 0).get())) {
            proc.sample();
            Thread.sleep(100);
        }
        if (o.stay) {
            wire.loop.submit(() -> {
                end = System.nanoTime(); // no new attempts
            }).sync();
        }
        // let the last attempts finish (bounded)
        long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < settle && wire.loop.submit(() -> open).get() > 0) {
            Thread.sleep(50);
        }
        long allIn = wire.loop.submit(() -> allInNanos).get();
        double seconds = ((o.stay && allIn > 0 ? allIn : System.nanoTime()) - start) / 1e9;
        if (o.stay) {
            wire.loop.submit(() -> stayed.forEach(ClientConn::close)).sync();
        }
        if (bystanders != null) {
            bystanders.stop(r);
        }
        wire.loop.submit(() -> {
            long failures = refusals + timeouts + errors;
            r.put("attempts", attempts);
            r.put("connects", connects);
            r.put("failures", failures);
            r.put("refusals", refusals);
            r.put("timeouts", timeouts);
            r.put("errors", errors);
            r.put("failed_pct", attempts == 0 ? 0.0 : 100.0 * failures / attempts);
            // refused: the broker answered no or closed before answering (what a refusal target counts);
            // failed adds the attempts that got no answer in time and the errors
            r.put("refused_pct", attempts == 0 ? 0.0 : 100.0 * (refusals + errors) / attempts);
            r.put("clients_admitted", admitted.cardinality());
            r.put("all_in_s", o.stay && allIn > 0 ? seconds : -1.0);
            r.put("connects_per_s", connects / seconds);
            r.put("connect_p50_us", connectMicros.getTotalCount() == 0 ? -1 : connectMicros.getValueAtPercentile(50));
            r.put("connect_p99_us", connectMicros.getTotalCount() == 0 ? -1 : connectMicros.getValueAtPercentile(99));
            r.put("connect_p999_us", connectMicros.getTotalCount() == 0 ? -1 : connectMicros.getValueAtPercentile(99.9));
            r.put("ok", connects > 0);
        }).sync();
        System.out.printf("storm %s/%s x%d: %d connects (%.0f/s), %d of %d attempts failed (%d refused, %d timed out, %d errors), "
                        + "%d clients got in, connect p50 %d us p99 %d us%n",
                o.protocol, o.transport, o.clients, r.get("connects"), r.get("connects_per_s"), r.get("failures"),
                r.get("attempts"), r.get("refusals"), r.get("timeouts"), r.get("errors"), r.get("clients_admitted"),
                r.get("connect_p50_us"), r.get("connect_p99_us"));
        if (bystanders != null) {
            System.out.printf("bystanders x%d: round trip p50 %d us, p99 %d us, max %d us; %d of %d sent never came back%n",
                    o.bystanders, r.get("bystander_rtt_p50_us"), r.get("bystander_rtt_p99_us"),
                    r.get("bystander_rtt_max_us"), r.get("bystander_lost"), r.get("bystander_sent"));
        }
    }

    private void attempt(int id, int failed) {
        if (System.nanoTime() >= end) {
            return;
        }
        attempts++;
        open++;
        long t = System.nanoTime();
        Promise<ClientConn> f = wire.connect("storm-" + id);
        ScheduledFuture<?> timeout = wire.loop.schedule(() -> {
            f.tryFailure(new TimeoutException());
        }, CONNECT_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        f.addListener(done -> {
            timeout.cancel(false);
            if (done.isSuccess()) {
                connects++;
                admitted.set(id);
                connectMicros.recordValue(Math.min((System.nanoTime() - t) / 1000, connectMicros.getHighestTrackableValue()));
                ClientConn c = f.getNow();
                if (o.stay) {
                    stayed.add(c);
                    if (admitted.cardinality() == o.clients && allInNanos == 0) {
                        allInNanos = System.nanoTime();
                    }
                    return;
                }
                wire.loop.schedule(() -> {
                    c.sendDisconnect();
                    c.ctx.channel().close().addListener(x -> {
                        open--;
                        attempt(id, 0);
                    });
                }, 20 + random.nextInt(100), TimeUnit.MILLISECONDS);
            } else {
                Throwable cause = done.cause();
                if (cause instanceof TimeoutException) {
                    timeouts++;
                } else if (cause instanceof IllegalStateException) {
                    refusals++; // a CONNACK (ERROR frame) saying no, or closed before one
                } else {
                    errors++;
                }
                open--;
                long backoff = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS << Math.min(failed, 16));
                long jittered = (long) (backoff * (0.5 + random.nextDouble()));
                wire.loop.schedule(() -> attempt(id, failed + 1), jittered, TimeUnit.MILLISECONDS);
            }
        });
    }

    /** Raised on an attempt without an answer within {@link #CONNECT_TIMEOUT_MS}. */
    private static final class TimeoutException extends Exception {
        TimeoutException() {
            super("no answer within " + CONNECT_TIMEOUT_MS + " ms", null, false, false);
        }
    }

    /** Already-connected clients measuring their round trips through the broker while the storm lasts. */
    private static final class Bystanders implements ClientConn.Listener {
        private final Wire wire;
        private final List<ClientConn> conns = new ArrayList<>();
        private final Histogram rttMicros = new Histogram(60_000_000L, 3);
        private final String run = "storm" + Long.toHexString(System.nanoTime() & 0xffffff);
        private final int payload;
        private ScheduledFuture<?> ticker;
        private long sent;
        private long received;
        private long seq;

        Bystanders(LoadOptions o) throws Exception {
            wire = new Wire(o);
            payload = o.payload;
            for (int i = 0; i < o.bystanders; i++) {
                ClientConn c = connect("bystander-" + i);
                int index = i;
                wire.loop.submit(() -> {
                    c.index = index;
                    c.listener = this;
                    conns.add(c);
                }).sync();
                io.netty.util.concurrent.Promise<Void> subscribed = wire.loop.newPromise();
                wire.loop.execute(() -> c.subscribe(topic(index), 0, () -> subscribed.setSuccess(null)));
                subscribed.get(30, TimeUnit.SECONDS);
            }
            ticker = wire.loop.scheduleAtFixedRate(this::tick, BYSTANDER_INTERVAL_MS, BYSTANDER_INTERVAL_MS,
                    TimeUnit.MILLISECONDS);
        }

        /** Connect, backing off and trying again while refused (a fresh broker may still be warming up). */
        private ClientConn connect(String id) throws Exception {
            for (int attempt = 0; ; attempt++) {
                try {
                    return wire.connect(id).get(30, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    if (attempt == 20) {
                        throw e;
                    }
                    Thread.sleep(100L << Math.min(attempt, 4));
                }
            }
        }

        private String topic(int index) {
            return "bench/" + run + "/rtt/" + index;
        }

        private void tick() {
            for (ClientConn c : conns) {
                if (c.isOpen()) {
                    c.publish(topic(c.index), Payloads.stamp(c.ctx.alloc(), payload, c.index, seq++, System.nanoTime()), 0);
                    c.flush();
                    sent++;
                }
            }
        }

        @Override
        public void onMessage(ClientConn conn, ByteBuf p, long nowNanos) {
            received++;
            rttMicros.recordValue(Math.min((nowNanos - Payloads.sentNanos(p)) / 1000, rttMicros.getHighestTrackableValue()));
        }

        void stop(Map<String, Object> r) throws Exception {
            wire.loop.submit(() -> ticker.cancel(false)).sync();
            Thread.sleep(1000); // the last round trips come back
            wire.loop.submit(() -> {
                r.put("bystanders", conns.size());
                r.put("bystander_sent", sent);
                r.put("bystander_lost", sent - received);
                r.put("bystander_rtt_p50_us", rttMicros.getTotalCount() == 0 ? -1 : rttMicros.getValueAtPercentile(50));
                r.put("bystander_rtt_p99_us", rttMicros.getTotalCount() == 0 ? -1 : rttMicros.getValueAtPercentile(99));
                r.put("bystander_rtt_max_us", rttMicros.getTotalCount() == 0 ? -1 : rttMicros.getMaxValue());
                conns.forEach(ClientConn::close);
            }).sync();
            wire.close();
        }
    }
}
