package io.sluice.bench.load;

import org.HdrHistogram.Histogram;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The end-to-end load generator: {@code java -jar benchmarks.jar load --help}. It prints a few human lines and,
 * last, one JSON object with every figure (the side-by-side runner reads that line).
 */
public final class LoadGenerator {
    private final LoadOptions o;
    private ProcessStats proc;

    private LoadGenerator(LoadOptions o) {
        this.o = o;
    }

    public static void main(String[] args) throws Exception {
        LoadOptions o;
        try {
            o = LoadOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        Map<String, Object> result = run(o);
        System.out.println(Json.write(result));
        System.exit(Boolean.TRUE.equals(result.get("ok")) ? 0 : 1);
    }

    /** Run one scenario and return its figures (the JSON line's fields). */
    public static Map<String, Object> run(String... args) throws Exception {
        return run(LoadOptions.parse(args));
    }

    static Map<String, Object> run(LoadOptions o) throws Exception {
        return new LoadGenerator(o).execute();
    }

    private Map<String, Object> execute() throws Exception {
        if (o.prewarm > 0) {
            prewarm();
        }
        if (o.await != null) {
            awaitBroker();
        }
        this.proc = new ProcessStats(o.brokerPid);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("label", o.label);
        r.put("scenario", o.scenario);
        r.put("protocol", o.protocol);
        r.put("transport", o.transport);
        r.put("tls", o.tlsCa != null);
        r.put("qos", o.qos);
        r.put("payload", o.payload);
        r.put("clients", o.clients);
        r.put("duration_s", o.duration);
        r.put("rate_cap", o.rate);
        proc.sample();
        long rssStart = proc.rssKb();
        double cpuStart = proc.cpuSeconds();
        long wallStart = System.nanoTime();
        double ownCpuStart = ownCpuSeconds();
        try (Wire wire = new Wire(o)) {
            switch (o.scenario) {
                case "fanin", "fanout", "p2p" -> throughput(wire, r);
                case "slow" -> slow(wire, r);
                case "storm" -> new Storm(o, wire, proc).run(r);
                case "idle" -> new Idle(o, wire, proc).run(r);
                default -> throw new IllegalStateException(o.scenario);
            }
        }
        double wall = (System.nanoTime() - wallStart) / 1e9;
        r.put("generator_cpu_s", ownCpuSeconds() - ownCpuStart);
        r.put("generator_cpu_pct", 100 * (ownCpuSeconds() - ownCpuStart) / wall);
        if (proc.enabled() || cpuStart >= 0) {
            double cpu = proc.cpuSeconds() - cpuStart;
            r.put("broker_cpu_s", cpu);
            r.put("broker_cpu_pct", 100 * cpu / wall);
            r.put("broker_rss_start_kb", rssStart);
            r.put("broker_peak_rss_kb", proc.peakRssKb());
            r.put("broker_hwm_kb", proc.hwmKb());
        }
        r.putIfAbsent("ok", true);
        return r;
    }

    /**
     * The same scenario against a raw forwarder in this JVM, figures discarded: the generator's codecs, pacing and
     * bookkeeping are compiled before the broker's first message, so a fresh broker's first seconds measure the
     * broker rather than this JVM's own warm-up.
     */
    private void prewarm() throws Exception {
        if (!o.protocol.equals("mqtt") || !(o.scenario.equals("p2p") || o.scenario.equals("fanin") || o.scenario.equals("fanout"))) {
            throw new IllegalArgumentException("--prewarm takes an MQTT fanin, fanout or p2p scenario");
        }
        try (RawForwarder.Running forwarder = RawForwarder.start(0, 0, 1)) {
            LoadOptions w = o.against(forwarder.mqttPort(), forwarder.httpPort(), o.prewarm);
            Map<String, Object> ignored = new LinkedHashMap<>();
            LoadGenerator g = new LoadGenerator(w);
            g.proc = new ProcessStats(0);
            try (Wire wire = new Wire(w)) {
                g.throughput(wire, ignored);
            }
        }
    }

    /** Wait for the file that says the broker is up; a number in it is the broker's pid. */
    private void awaitBroker() throws Exception {
        java.nio.file.Path file = java.nio.file.Path.of(o.await);
        System.out.println("prewarmed, awaiting " + file);
        System.out.flush();
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(120);
        while (!java.nio.file.Files.exists(file)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(file + " did not appear within 120 s");
            }
            Thread.sleep(20);
        }
        String text = java.nio.file.Files.readString(file).trim();
        if (text.matches("\\d+")) {
            o.brokerPid = Long.parseLong(text);
        }
    }

    /** This process's limit on open files (a JVM raises its soft limit to the hard one), -1 when unknown. */
    public static long ownOpenFilesLimit() {
        return ProcessStats.ownOpenFilesLimit();
    }

    /** This process's CPU seconds, to show the generator is not the bottleneck. */
    private static double ownCpuSeconds() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime() / 1e9;
        }
        return 0;
    }

    /** fanin: N publishers to one wildcard subscriber; fanout: one publisher to N; p2p: N pairs. */
    private void throughput(Wire wire, Map<String, Object> r) throws Exception {
        Flow f = new Flow(o, wire);
        String run = "lg" + Long.toHexString(System.nanoTime() & 0xffffff);
        switch (o.scenario) {
            case "fanin" -> {
                int[] all = new int[o.clients];
                for (int i = 0; i < o.clients; i++) {
                    f.publisher("bench/" + run + "/in/" + i, o.qos);
                    all[i] = i;
                }
                f.subscriber("bench/" + run + "/in/+", o.qos, false, all);
            }
            case "fanout" -> {
                f.publisher("bench/" + run + "/out", o.qos);
                for (int i = 0; i < o.clients; i++) {
                    f.subscriber("bench/" + run + "/out", o.qos, false, 0);
                }
            }
            default -> {
                for (int i = 0; i < o.clients; i++) {
                    f.publisher("bench/" + run + "/p2p/" + i, o.qos);
                    f.subscriber("bench/" + run + "/p2p/" + i, o.qos, false, i);
                }
            }
        }
        try {
            f.run(run, proc);
        } finally {
            f.close();
        }
        report(f, r, "");
        System.out.printf("%s %s/%s qos%d x%d: %.0f msg/s delivered, lost %d, duplicated %d, p50 %d us, p99 %d us%n",
                o.scenario, o.protocol, o.transport, o.qos, o.clients, r.get("msgs_per_s"), r.get("lost"),
                r.get("duplicated"), r.get("latency_p50_us"), r.get("latency_p99_us"));
    }

    /**
     * One slow QoS 1 subscriber among fast pairs on other topics: the fast pairs' delivered rate alone, then with
     * the slow one present (isolation: the ratio should stay near 1), and nothing lost anywhere.
     */
    private void slow(Wire wire, Map<String, Object> r) throws Exception {
        double[] rates = new double[2];
        long lostTotal = 0;
        // phase -1 warms this JVM up (not reported), so "alone" and "with slow" are measured alike
        for (int phase = -1; phase < 2; phase++) {
            Flow f = new Flow(o, wire);
            String run = "lg" + Long.toHexString(System.nanoTime() & 0xffffff);
            for (int i = 0; i < o.clients; i++) {
                f.publisher("bench/" + run + "/p2p/" + i, o.qos);
                f.subscriber("bench/" + run + "/p2p/" + i, o.qos, false, i);
            }
            Flow.Pub slowPub = null;
            Flow.Sub slowSub = null;
            if (phase == 1) {
                slowPub = f.publisher("bench/" + run + "/slow", 1);
                slowSub = f.subscriber("bench/" + run + "/slow", 1, true, slowPub.index);
            }
            try {
                f.run(run, proc);
            } finally {
                f.close();
            }
            long fastInWindow = 0;
            long lost = 0;
            for (Flow.Sub s : f.subs) {
                lost += Math.max(0, s.expected() - s.unique);
                if (!s.slow) {
                    fastInWindow += s.inWindow;
                }
            }
            if (phase < 0) {
                continue;
            }
            lostTotal += lost;
            rates[phase] = fastInWindow / o.duration;
            if (phase == 1) {
                report(f, r, "");
                r.put("slow_sent", slowPub.sent);
                r.put("slow_sent_per_s", slowPub.sent / (o.warmup + o.duration));
                r.put("slow_lost", Math.max(0, slowSub.expected() - slowSub.unique));
                r.put("slow_duplicated", slowSub.duplicates);
            }
        }
        r.put("fast_msgs_per_s_alone", rates[0]);
        r.put("fast_msgs_per_s_with_slow", rates[1]);
        r.put("isolation_ratio", rates[0] == 0 ? 0.0 : rates[1] / rates[0]);
        r.put("lost", lostTotal);
        r.put("ok", (o.qos == 0 || lostTotal == 0) && (long) r.get("errors") == 0);
        System.out.printf("slow %s/%s: fast pairs %.0f msg/s alone, %.0f with a slow subscriber (ratio %.2f); slow one: %d sent, %d lost; lost in all %d%n",
                o.protocol, o.transport, rates[0], rates[1], (double) r.get("isolation_ratio"), r.get("slow_sent"),
                r.get("slow_lost"), lostTotal);
    }

    private void report(Flow f, Map<String, Object> r, String prefix) {
        long expected = 0;
        long unique = 0;
        long dups = 0;
        long inWindow = 0;
        for (Flow.Sub s : f.subs) {
            expected += s.expected();
            unique += s.unique;
            dups += s.duplicates;
            inWindow += s.inWindow;
        }
        long sent = f.sent();
        // QoS 1/2: lost is what the broker acknowledged and never delivered (what it did not acknowledge it did not
        // promise, and is counted apart); QoS 0: whatever did not arrive
        long lost = o.qos > 0 ? f.ackedMissing() : Math.max(0, expected - unique);
        Histogram h = f.latencyMicros;
        r.put(prefix + "sent", sent);
        r.put(prefix + "sent_per_s", sent / (o.warmup + o.duration));
        r.put(prefix + "expected", expected);
        r.put(prefix + "delivered", unique);
        r.put(prefix + "msgs_per_s", inWindow / o.duration);
        r.put(prefix + "delivered_in_window", inWindow);
        if (f.windowCpu[0] >= 0 && f.windowCpu[1] >= 0) {
            r.put(prefix + "broker_window_cpu_s", f.windowCpu[1] - f.windowCpu[0]);
        }
        if (f.windowWritten[0] >= 0 && f.windowWritten[1] >= 0) {
            r.put(prefix + "broker_window_write_bytes", f.windowWritten[1] - f.windowWritten[0]);
        }
        r.put(prefix + "lost", lost);
        r.put(prefix + "not_arrived", Math.max(0, expected - unique));
        r.put(prefix + "unacknowledged", o.qos > 0 ? f.unacknowledged() : 0);
        r.put(prefix + "duplicated", dups);
        r.put(prefix + "latency_p50_us", h.getTotalCount() == 0 ? -1 : h.getValueAtPercentile(50));
        r.put(prefix + "latency_p99_us", h.getTotalCount() == 0 ? -1 : h.getValueAtPercentile(99));
        r.put(prefix + "latency_p999_us", h.getTotalCount() == 0 ? -1 : h.getValueAtPercentile(99.9));
        r.put(prefix + "latency_max_us", h.getTotalCount() == 0 ? -1 : h.getMaxValue());
        Histogram lag = f.sendLagMicros;
        r.put(prefix + "send_lag_p50_us", lag.getTotalCount() == 0 ? -1 : lag.getValueAtPercentile(50));
        r.put(prefix + "send_lag_p99_us", lag.getTotalCount() == 0 ? -1 : lag.getValueAtPercentile(99));
        StringBuilder bySegment = new StringBuilder();
        StringBuilder bySegmentMicros = new StringBuilder();
        int segments = f.latencyBySegment.length;
        while (segments > 0 && f.latencyBySegment[segments - 1] == null) {
            segments--;
        }
        for (int i = 0; i < segments; i++) {
            Histogram segment = f.latencyBySegment[i];
            bySegment.append(i == 0 ? "" : " ").append(segment == null ? "-" : segment.getValueAtPercentile(99) / 1000);
            bySegmentMicros.append(i == 0 ? "" : " ").append(segment == null ? "-" : segment.getValueAtPercentile(99));
        }
        // p99 of each 5 s of the measured window in turn (by receipt): where in a run (its first seconds?) the
        // tail was; in ms to read, in us for the report's first-minute slices (a warm broker's p99 is under 1 ms)
        r.put(prefix + "latency_p99_by_5s_ms", bySegment.toString());
        r.put(prefix + "latency_p99_by_5s_us", bySegmentMicros.toString());
        r.put(prefix + "errors", f.errors);
        r.put("ok", (o.qos == 0 || lost == 0) && f.errors == 0);
    }
}
