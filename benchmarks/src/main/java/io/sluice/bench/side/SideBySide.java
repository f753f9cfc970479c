package io.sluice.bench.side;

import io.sluice.bench.load.Json;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Sluice and its peers (Mosquitto, HiveMQ CE; optionally Moquette and a raw Netty forwarder) on loopback, each
 * in its own process, every load against each broker in turn, the order rotating every round; medians of the
 * rounds, with Sluice / best peer ratios and the targets, written to docs/benchmarks.md.
 *
 * <p>Phases, in this order: memory per idle WebSocket connection (read from each process's RSS while it is
 * fresh; each broker is started again after it); peak throughput (flat out); a fixed rate at half the best peer's peak (latency percentiles and
 * broker CPU per delivered message, every broker at the same rate); the first minute after start (a fresh
 * process of each broker, the fixed rate for 60 s, no warm-up). Run through
 * {@code benchmarks/run-side-by-side.sh}, which builds the jars and fetches the peers first.
 */
public final class SideBySide {
    static final String SLUICE = "Sluice";
    static final String MOSQUITTO = "Mosquitto";
    static final String HIVEMQ = "HiveMQ CE";
    static final String MOQUETTE = "Moquette";
    static final String CEILING = "raw Netty";

    static final String PEAK = "peak";
    static final String FIXED = "fixed";
    static final String FIRST = "first-minute";
    static final String IDLE = "idle";
    static final String EXTRA = "extra";

    /** The six standard loads over each transport, and the optional extras (only with --only). */
    record Load(String id, String scenario, String protocol, String transport, int qos, int clients, int payload,
                List<String> extra) {
        String title() {
            String shape = switch (scenario) {
                case "fanin" -> clients + " -> 1";
                case "fanout" -> "1 -> " + clients;
                case "p2p" -> clients + " pairs";
                case "slow" -> clients + " fast pairs + 1 slow subscriber at 20 msg/s";
                default -> clients + " clients";
            };
            return id + " (" + shape + ")";
        }

        boolean standard() {
            return protocol.equals("mqtt") && payload == 64 && List.of("fanin", "fanout", "p2p").contains(scenario);
        }
    }

    static final int CLIENTS = 10;
    static final int PAYLOAD = 64;

    static List<Load> allLoads() {
        List<Load> ls = new ArrayList<>();
        for (String t : List.of("ws", "tcp")) {
            for (int qos = 0; qos <= 1; qos++) {
                for (String s : List.of("fanout", "fanin", "p2p")) {
                    ls.add(new Load(s + "-" + t + "-qos" + qos, s, "mqtt", t, qos, CLIENTS, PAYLOAD, List.of()));
                }
            }
        }
        ls.add(new Load("p2p-ws-qos1-4k", "p2p", "mqtt", "ws", 1, CLIENTS, 4096, List.of()));
        ls.add(new Load("p2p-stomp-ws-qos1", "p2p", "stomp", "ws", 1, CLIENTS, PAYLOAD, List.of()));
        ls.add(new Load("slow-ws-qos1", "slow", "mqtt", "ws", 1, 4, PAYLOAD, List.of("--slow-rate", "20")));
        ls.add(new Load("storm-ws", "storm", "mqtt", "ws", 0, 200, PAYLOAD, List.of()));
        return ls;
    }

    private final Options o;
    private final Path work;
    private final List<Broker> brokers = new ArrayList<>();
    /** case key (phase:load) -> broker -> the rounds' JSON results */
    private final Map<String, Map<String, List<Map<String, Object>>>> results = new LinkedHashMap<>();
    private final Path jsonl;
    private final List<Double> loadAverages = new ArrayList<>();
    private final List<Double> othersCpu = new ArrayList<>();
    private final Map<String, Integer> restarts = new LinkedHashMap<>();
    /** load id -> the fixed rate used (delivered msg/s) and the peer whose peak it halves */
    private final Map<String, Double> fixedRates = new LinkedHashMap<>();
    private final Map<String, String> fixedRatePeer = new LinkedHashMap<>();

    static final class Options {
        boolean smoke;
        int rounds = 3;
        double duration = 20;
        double warmup = 5;
        double firstMinute = 60;
        /** -1: as many as the open-files limit allows, up to 100,000 ({@link #autoIdleConnections}) */
        int idleConnections = -1;
        double idleHold = 5;
        /** load ids to run flat out; empty = the standard set (both transports) */
        List<String> only = new ArrayList<>();
        /** load ids to run at a fixed rate: "all" (those run flat out) or a list, or "none" */
        String fixed = "all";
        /** load ids whose first minute is measured on fresh processes, or "none" */
        String first = "p2p-ws-qos1,fanout-ws-qos1";
        boolean idle = true;
        /** a fixed rate for every fixed-rate load instead of half the best peer's measured peak */
        double rate = 0;
        List<String> peers = new ArrayList<>(List.of("mosquitto", "hivemq"));
        Path out = Path.of("docs/benchmarks.md");
        Path sluiceJar = Path.of("server/target/sluice.jar");
        /** The launcher users start Sluice with (its JVM flags); used when present, unless --sluice-jar names a jar. */
        Path sluiceLauncher = Path.of("bin/sluice");
        boolean sluiceJarGiven;
        String sluiceLabel = "";
        Path benchJar = Path.of("benchmarks/target/benchmarks.jar");
        Path benchClasses = Path.of("benchmarks/target/classes");
        Path moquetteClasspath = Path.of("benchmarks/target/moquette.classpath");
        Path hivemqClasspath = Path.of("benchmarks/target/hivemq.classpath");
        Path analysis = Path.of("benchmarks/analysis.md");
        Path work = Path.of("benchmarks/target/side-by-side");
        String command = "benchmarks/run-side-by-side.sh";
        String args = "";
        /** Only write the report again from an earlier run's results.jsonl (after editing the notes). */
        Path fromResults;
        boolean dryRun;
    }

    static final String HELP = """
            java -jar benchmarks/target/benchmarks.jar side [flags]       (also: side-by-side)
              --smoke              a quick check of the instrument, not a result: 1 round, 1 s warm-up + 3 s,
                                   fixed rate 5 s, first minute 10 s, 200 idle connections, WebSocket only
              --rounds N           rounds, brokers in rotating order, medians                      (3)
              --duration S         measured seconds per run, after the warm-up                       (20)
              --warmup S           seconds of load before measuring                                   (5)
              --only IDS           loads to run flat out, comma-separated, e.g. fanin-ws-qos0,p2p-tcp-qos1;
                                   ids: {fanout,fanin,p2p}-{ws,tcp}-qos{0,1}, p2p-ws-qos1-4k, p2p-stomp-ws-qos1,
                                   slow-ws-qos1, storm-ws; "idle" adds the idle phase; "none": nothing flat out
                                   (e.g. --only none --fixed p2p-ws-qos1 --rate 40000: one fixed-rate load)
              --fixed IDS|all|none loads also run at half the best peer's peak                      (all)
              --first IDS|none     loads whose first minute after start is measured (fresh processes, a
                                   generator warmed up beforehand; p99 per 5 s slice side by side)
                                                                               (p2p-ws-qos1,fanout-ws-qos1)
              --first-seconds S    length of the first-minute run                                     (60)
              --rate R             fixed rate (msg/s) instead of half the best peer's peak
              --idle N|auto|0      idle WebSocket connections per broker, 0 = skip; auto: 100,000, or as
                                   many as the open-files limit (ulimit -n) allows, less 1,000; past 25,000
                                   they come from several loopback addresses                        (auto)
              --peers LIST         mosquitto,hivemq,moquette,raw                        (mosquitto,hivemq)
              --sluice-jar JAR     the Sluice to measure                      (server/target/sluice.jar)
              --sluice-label TEXT  what that jar is (e.g. a commit), shown in the report
              --out FILE           the report                                          (docs/benchmarks.md)
              --work DIR           logs and results.jsonl                (benchmarks/target/side-by-side)
              --from-results FILE  write the report again from a run's results.jsonl, run nothing
              --dry-run            print the plan and its estimated duration, run nothing""";

    private SideBySide(Options o) throws IOException {
        this.o = o;
        this.work = o.work.toAbsolutePath();
        Files.createDirectories(work);
        this.jsonl = work.resolve("results.jsonl");
        if (o.fromResults == null && !o.dryRun) {
            Files.deleteIfExists(jsonl);
        }
    }

    public static void main(String[] args) throws Exception {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--smoke" -> {
                    o.smoke = true;
                    o.rounds = 1;
                    o.duration = 3;
                    o.warmup = 1;
                    o.firstMinute = 10;
                    o.idleConnections = 200;
                    o.idleHold = 1;
                }
                case "--rounds" -> o.rounds = Integer.parseInt(args[++i]);
                case "--duration" -> o.duration = Double.parseDouble(args[++i]);
                case "--warmup" -> o.warmup = Double.parseDouble(args[++i]);
                case "--only" -> o.only = new ArrayList<>(List.of(args[++i].split(",")));
                case "--fixed" -> o.fixed = args[++i];
                case "--first" -> o.first = args[++i];
                case "--first-seconds" -> o.firstMinute = Double.parseDouble(args[++i]);
                case "--rate" -> o.rate = Double.parseDouble(args[++i]);
                case "--idle" -> {
                    String v = args[++i];
                    o.idleConnections = v.equals("auto") ? -1 : Integer.parseInt(v);
                }
                case "--peers" -> o.peers = new ArrayList<>(List.of(args[++i].split(",")));
                case "--out" -> o.out = Path.of(args[++i]);
                case "--sluice-jar" -> {
                    o.sluiceJar = Path.of(args[++i]);
                    o.sluiceJarGiven = true;
                }
                case "--sluice-launcher" -> o.sluiceLauncher = Path.of(args[++i]);
                case "--sluice-label" -> o.sluiceLabel = args[++i];
                case "--bench-jar" -> o.benchJar = Path.of(args[++i]);
                case "--moquette-classpath" -> o.moquetteClasspath = Path.of(args[++i]);
                case "--hivemq-classpath" -> o.hivemqClasspath = Path.of(args[++i]);
                case "--analysis" -> o.analysis = Path.of(args[++i]);
                case "--work" -> o.work = Path.of(args[++i]);
                case "--command" -> o.command = args[++i];
                case "--from-results" -> o.fromResults = Path.of(args[++i]);
                case "--dry-run" -> o.dryRun = true;
                case "--help", "-h" -> {
                    System.out.println(HELP);
                    return;
                }
                default -> {
                    System.err.println("unknown flag " + a + "\n" + HELP);
                    System.exit(2);
                }
            }
        }
        // the command line as the report shows it, without the runner's own plumbing
        List<String> shown = new ArrayList<>();
        List<String> plumbing = List.of("--moquette-classpath", "--hivemq-classpath", "--out", "--command", "--work",
                "--from-results", "--sluice-label", "--analysis", "--bench-jar");
        for (int i = 0; i < args.length; i++) {
            if (plumbing.contains(args[i])) {
                i++;
            } else {
                shown.add(args[i]);
            }
        }
        o.args = String.join(" ", shown);
        if (o.idleConnections < 0) {
            o.idleConnections = autoIdleConnections(io.sluice.bench.load.LoadGenerator.ownOpenFilesLimit());
        }
        for (String p : o.peers) {
            if (!List.of("mosquitto", "hivemq", "moquette", "raw").contains(p)) {
                System.err.println("unknown peer " + p + "; peers: mosquitto, hivemq, moquette, raw");
                System.exit(2);
            }
        }
        new SideBySide(o).run();
    }

    /**
     * The idle count when none is given: the goal's 100,000, or as many as the open-files limit allows (the
     * brokers inherit this process's limit) less 1,000 for everything else, in thousands.
     */
    static int autoIdleConnections(long openFilesLimit) {
        if (openFilesLimit < 0) {
            return 5_000;
        }
        long n = Math.min(100_000, openFilesLimit - 1_000);
        return n >= 1_000 ? (int) (n / 1_000 * 1_000) : (int) Math.max(0, openFilesLimit / 2);
    }

    // ---------------------------------------------------------------- plan

    private List<Load> peakLoads() {
        List<Load> all = allLoads();
        if (o.only.isEmpty()) {
            List<String> transports = o.smoke ? List.of("ws") : List.of("ws", "tcp");
            return all.stream().filter(l -> l.standard() && transports.contains(l.transport())).toList();
        }
        List<Load> ls = new ArrayList<>();
        for (String id : o.only) {
            if (id.equals("idle") || id.equals("none")) {
                continue;
            }
            ls.add(all.stream().filter(l -> l.id().equals(id)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown load " + id + "; see --help")));
        }
        return ls;
    }

    private boolean idleOnly() {
        return o.only.equals(List.of("idle"));
    }

    private List<Load> fixedLoads() {
        if (o.fixed.equals("none") || idleOnly()) {
            return List.of();
        }
        List<Load> peak = peakLoads().stream().filter(Load::standard).toList();
        if (o.fixed.equals("all")) {
            return peak;
        }
        List<String> ids = List.of(o.fixed.split(","));
        return allLoads().stream().filter(l -> ids.contains(l.id()) && l.standard()).toList();
    }

    private List<Load> firstLoads() {
        if (o.first.equals("none") || idleOnly()) {
            return List.of();
        }
        List<String> ids = List.of(o.first.split(","));
        List<String> selected = peakLoads().stream().map(Load::id).toList();
        return allLoads().stream().filter(l -> ids.contains(l.id()) && l.standard()
                && (o.only.isEmpty() || selected.contains(l.id()) || o.rate > 0)).toList();
    }

    private boolean idlePhase() {
        return o.idleConnections > 0 && (o.only.isEmpty() || o.only.contains("idle"));
    }

    /** Seconds per load run beyond warm-up + duration: the generator's JVM, connecting, the drain. */
    private static final double OVERHEAD = 4;

    private String plan() {
        int n = brokerNames().size();
        double run = o.warmup + o.duration + OVERHEAD;
        double peak = peakLoads().size() * (double) n * o.rounds * run;
        double fixed = fixedLoads().size() * (double) n * o.rounds * run;
        double first = firstLoads().size() * (double) n * (o.firstMinute + PREWARM + OVERHEAD + 8);
        double idle = idlePhase() ? n * (o.idleConnections / 400.0 + o.idleHold + 10) : 0;
        double total = peak + fixed + first + idle + n * 12;
        return String.format(Locale.ROOT, "plan: %d broker(s) %s; idle %s; flat out %s; fixed rate %s; first minute %s;"
                        + " %d round(s) of %.0f s + %.0f s; estimated %.0f min",
                n, brokerNames(), idlePhase() ? o.idleConnections + " connections" : "no",
                peakLoads().stream().map(Load::id).toList(), fixedLoads().stream().map(Load::id).toList(),
                firstLoads().stream().map(Load::id).toList(), o.rounds, o.warmup, o.duration, total / 60);
    }

    private List<String> brokerNames() {
        List<String> names = new ArrayList<>(List.of(SLUICE));
        for (String p : o.peers) {
            names.add(switch (p) {
                case "mosquitto" -> MOSQUITTO;
                case "hivemq" -> HIVEMQ;
                case "moquette" -> MOQUETTE;
                default -> CEILING;
            });
        }
        return names;
    }

    // ---------------------------------------------------------------- run

    private void run() throws Exception {
        if (o.fromResults != null) {
            rewrite();
            return;
        }
        System.out.println(plan());
        if (o.dryRun) {
            return;
        }
        startBrokers();
        Instant started = Instant.now();
        try {
            if (idlePhase()) {
                // first, while every broker is a fresh process: its RSS before is what a started broker holds
                Load idle = new Load("idle-ws", "idle", "mqtt", "ws", 0, o.idleConnections, PAYLOAD, List.of());
                for (Broker b : brokers) {
                    if (!b.ceiling) {
                        runOne(IDLE, idle, b, 0, List.of("--duration", Double.toString(o.idleHold)));
                        // a fresh process for the loads: a JVM keeps the heap it grew for the idle connections (and
                        // Mosquitto its allocations), which would otherwise be read as the loads' peak RSS
                        b.restart();
                    }
                }
            }
            List<Load> peak = peakLoads();
            if (!peak.isEmpty()) {
                // an unrecorded pass first, so every JVM broker's JIT is warm before round 1
                Load warm = new Load("warm-up", "p2p", "mqtt", "ws", 1, CLIENTS, PAYLOAD, List.of());
                for (Broker b : brokers) {
                    runOne("warm-up", warm, b, -1, List.of("--duration", Double.toString(Math.min(o.duration, 5)),
                            "--warmup", "1"));
                }
            }
            for (int round = 0; round < o.rounds; round++) {
                for (Load l : peak) {
                    for (Broker b : order(round, l)) {
                        runOne(l.standard() ? PEAK : EXTRA, l, b, round, List.of());
                    }
                }
            }
            fixedRate();
            firstMinute();
        } finally {
            for (Broker b : brokers) {
                b.stop();
            }
        }
        writeReport(started);
    }

    /** Brokers for a load, each round starting with a different one. */
    private List<Broker> order(int round, Load l) {
        List<Broker> order = new ArrayList<>();
        for (Broker b : brokers) {
            if (b.ceiling && !l.standard()) {
                continue;
            }
            if (l.protocol().equals("stomp") && !b.stomp) {
                continue;
            }
            order.add(b);
        }
        Collections.rotate(order, -round);
        return order;
    }

    /** Every broker at the same rate, half the best peer's median peak on that load (open loop, --rate). */
    private void fixedRate() throws Exception {
        List<Load> ls = fixedLoads();
        for (Load l : ls) {
            if (!rateFor(l)) {
                System.out.println("no peak figure for " + l.id() + ": no fixed-rate run (give --rate R)");
            }
        }
        for (int round = 0; round < o.rounds; round++) {
            for (Load l : ls) {
                Double rate = fixedRates.get(l.id());
                if (rate == null) {
                    continue;
                }
                for (Broker b : order(round, l)) {
                    if (!b.ceiling) {
                        runOne(FIXED, l, b, round, List.of("--rate", publishRate(l, rate)));
                    }
                }
            }
        }
    }

    /**
     * The generator's --rate (messages published per second) that delivers {@code delivered} messages a second:
     * a fan-out publish reaches every subscriber, so it publishes that many times fewer.
     */
    static String publishRate(Load l, double delivered) {
        double perPublish = l.scenario().equals("fanout") ? l.clients() : 1;
        return Long.toString(Math.max(1, (long) Math.floor(delivered / perPublish)));
    }

    private boolean rateFor(Load l) {
        if (fixedRates.containsKey(l.id())) {
            return true;
        }
        if (o.rate > 0) {
            fixedRates.put(l.id(), o.rate);
            fixedRatePeer.put(l.id(), "--rate");
            return true;
        }
        String peer = bestPeer(key(PEAK, l), "msgs_per_s");
        double peak = peer == null ? Double.NaN : median(key(PEAK, l), peer, "msgs_per_s");
        if (!(peak > 0)) {
            return false;
        }
        fixedRates.put(l.id(), Math.floor(peak / 2));
        fixedRatePeer.put(l.id(), peer);
        return true;
    }

    /** A fresh process of each broker, then the fixed rate for the first minute, no warm-up left out. */
    private void firstMinute() throws Exception {
        for (Load l : firstLoads()) {
            if (!rateFor(l)) {
                System.out.println("no peak figure for " + l.id() + ": no first-minute run (give --rate R)");
                continue;
            }
            double rate = fixedRates.get(l.id());
            for (Broker b : brokers) {
                if (b.ceiling) {
                    continue;
                }
                // the broker stopped, the generator warmed up on its own, then a fresh broker and the load at once
                b.stop();
                runOne(FIRST, l, b, 0, List.of("--rate", publishRate(l, rate), "--warmup", "0",
                        "--duration", Double.toString(o.firstMinute)), true);
            }
        }
    }

    /**
     * The first minute by 5 s slice (by receipt time): a p99 over the whole minute hides a bad start behind 55 good
     * seconds, or a good start behind a stall later on. The slice is met when Sluice's p99 is at most that of the
     * peer whose peak set the rate.
     */
    private void firstMinuteSlices(StringBuilder md, List<String> targets, Load l, List<String> brokersFixed) {
        String k = key(FIRST, l);
        Map<String, double[]> byBroker = new LinkedHashMap<>();
        int slices = 0;
        for (String n : brokersFixed) {
            double[] v = sliceMedians(runs(k, n));
            byBroker.put(n, v);
            slices = Math.max(slices, v.length);
        }
        if (slices == 0) {
            return;
        }
        String peer = fixedRatePeer.getOrDefault(l.id(), "?");
        String against = peers().contains(peer) ? peer : bestPeer(key(FIXED, l), "msgs_per_s");
        if (against == null) {
            // a rate given with --rate and no warm run: the peer with the lowest first-minute p99, the strictest
            against = peers().stream().filter(n -> !Double.isNaN(median(k, n, "latency_p99_us")))
                    .min(java.util.Comparator.comparingDouble(n -> median(k, n, "latency_p99_us"))).orElse(null);
        }
        md.append("p99 ms of each 5 s of ").append(l.id()).append("'s first minute (by receipt; a broker that delivered nothing in a slice shows -):\n\n");
        md.append("| seconds | ").append(String.join(" | ", brokersFixed)).append(" | Sluice / ").append(against).append(" |\n");
        md.append("|---|").append("---:|".repeat(brokersFixed.size())).append("---:|\n");
        int met = 0;
        int measured = 0;
        double worst = Double.NaN;
        int worstSlice = -1;
        for (int i = 0; i < slices; i++) {
            md.append("| ").append(i * 5).append("-").append(i * 5 + 5).append(" | ");
            for (String n : brokersFixed) {
                double[] v = byBroker.get(n);
                md.append(i < v.length ? f1(v[i] / 1000) : "-").append(" | ");
            }
            double[] s = byBroker.getOrDefault(SLUICE, new double[0]);
            double[] p = against == null ? new double[0] : byBroker.getOrDefault(against, new double[0]);
            double sp = i < s.length ? s[i] : Double.NaN;
            double pp = i < p.length ? p[i] : Double.NaN;
            md.append(ratio(sp, pp)).append(" |\n");
            if (!Double.isNaN(sp) && !Double.isNaN(pp) && pp > 0) {
                measured++;
                met += sp <= pp ? 1 : 0;
                if (Double.isNaN(worst) || sp / pp > worst) {
                    worst = sp / pp;
                    worstSlice = i;
                }
            }
        }
        md.append("\n");
        targets.add("- first minute " + l.id() + " by 5 s slice: Sluice p99 <= " + against + "'s in " + met + " of " + measured
                + " slices" + (worstSlice < 0 ? "" : String.format(Locale.ROOT, ", worst %.2fx (%d-%d s)", worst, worstSlice * 5, worstSlice * 5 + 5))
                + " (target <= 1.00x in every slice: " + verdict(measured > 0, measured > 0 && met == measured) + ")");
    }

    /** The median over runs of each 5 s slice's p99 in microseconds (NaN where a run received nothing). */
    static double[] sliceMedians(List<Map<String, Object>> runs) {
        List<double[]> perRun = new ArrayList<>();
        int slices = 0;
        for (Map<String, Object> r : runs) {
            double scale = 1;
            Object v = r.get("latency_p99_by_5s_us");
            if (!(v instanceof String)) {
                v = r.get("latency_p99_by_5s_ms"); // results written before the microsecond field
                scale = 1000;
            }
            if (!(v instanceof String text) || text.isBlank()) {
                continue;
            }
            String[] parts = text.trim().split("\\s+");
            double[] d = new double[parts.length];
            for (int i = 0; i < parts.length; i++) {
                d[i] = parts[i].equals("-") ? Double.NaN : Double.parseDouble(parts[i]) * scale;
            }
            perRun.add(d);
            slices = Math.max(slices, d.length);
        }
        double[] out = new double[slices];
        for (int i = 0; i < slices; i++) {
            final int slice = i;
            out[i] = median(perRun.stream().filter(d -> slice < d.length && !Double.isNaN(d[slice]))
                    .mapToDouble(d -> d[slice]).sorted().toArray());
        }
        return out;
    }

    static String key(String phase, Load l) {
        return phase + ":" + l.id();
    }

    static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat; NaN when unknown. */
    private static double machineBusySeconds() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                if (i != 4 && i != 5) { // idle, iowait
                    busy += Long.parseLong(f[i]);
                }
            }
            return busy / 100.0;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private void runOne(String phase, Load l, Broker b, int round, List<String> more) throws Exception {
        runOne(phase, l, b, round, more, false);
    }

    /** Seconds a cold-start run's generator warms itself up against its own forwarder before the broker starts. */
    static final double PREWARM = 10;

    /**
     * One generator run against a broker. {@code coldStart}: the broker is stopped; the generator first warms
     * itself up (--prewarm, against a forwarder in its own JVM), then the broker is started and the generator,
     * waiting for a file that names the broker's pid (--await), connects at once: the broker's first seconds
     * are measured with a generator that is already compiled.
     */
    private void runOne(String phase, Load l, Broker b, int round, List<String> more, boolean coldStart) throws Exception {
        Path go = work.resolve("started-" + phase + "-" + l.id() + "-" + b.name.replace(' ', '_') + "-" + round);
        if (coldStart) {
            Files.deleteIfExists(go);
        } else {
            b.ensureRunning();
        }
        double loadAverage = loadAverage();
        // an idle run's clients hold a WebSocket pipeline each: room for 100,000 of them
        String xmx = phase.equals(IDLE) && l.clients() > 50_000 ? "-Xmx3g" : "-Xmx1g";
        List<String> cmd = new ArrayList<>(List.of(java(), "-Xms512m", xmx, "-jar", o.benchJar.toString(), "load",
                "--scenario", l.scenario(), "--protocol", l.protocol(), "--transport", l.transport(),
                "--qos", Integer.toString(l.qos()), "--clients", Integer.toString(l.clients()),
                "--payload", Integer.toString(l.payload()),
                "--duration", Double.toString(o.duration), "--warmup", Double.toString(o.warmup),
                "--label", b.name));
        if (coldStart) {
            cmd.addAll(List.of("--prewarm", Double.toString(PREWARM), "--await", go.toString()));
        } else {
            cmd.addAll(List.of("--broker-pid", Long.toString(b.pid())));
        }
        int port = l.protocol().equals("stomp") ? (l.transport().equals("ws") ? b.wsPort : b.stompPort)
                : (l.transport().equals("ws") ? b.wsPort : b.tcpPort);
        cmd.addAll(List.of("--port", Integer.toString(port)));
        if (l.transport().equals("ws")) {
            cmd.addAll(List.of("--path", l.protocol().equals("stomp") ? "/stomp" : b.wsPath));
        }
        cmd.addAll(l.extra());
        cmd.addAll(more); // later flags win
        Path log = work.resolve("load.log");
        Files.writeString(log, "\n== " + phase + " " + l.id() + " " + b.name + " round " + round + "\n",
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        long logStart = Files.size(log);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        if (coldStart) {
            awaitLine(p, log, logStart, "prewarmed, awaiting " + go, (long) (PREWARM * 3 + 60));
            b.start();
            Path tmp = Files.writeString(work.resolve(go.getFileName() + ".tmp"), Long.toString(b.pid()));
            Files.move(tmp, go, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        double busyBefore = machineBusySeconds();
        long wallBefore = System.nanoTime();
        double seconds = o.duration + o.warmup + o.firstMinute + o.idleConnections / 50.0;
        long limit = (long) (seconds * 2 + 120);
        boolean finished = p.waitFor(limit, TimeUnit.SECONDS);
        if (!finished) {
            p.destroyForcibly();
        }
        double wall = (System.nanoTime() - wallBefore) / 1e9;
        double busy = machineBusySeconds() - busyBefore;
        Map<String, Object> r = lastJson(log);
        if (!finished || r == null || !b.name.equals(r.get("label"))) {
            r = new LinkedHashMap<>();
            r.put("label", b.name);
            r.put("ok", false);
            r.put("error", finished ? "no result line (see " + log + ")" : "timed out after " + limit + " s");
        }
        r.put("phase", phase);
        r.put("load", l.id());
        r.put("round", round);
        r.put("case", phase + ":" + l.id());
        r.put("loadavg_1m", loadAverage);
        // the machine's CPU not spent by this broker or this generator: everything else running meanwhile
        double others = busy - num(r, "broker_cpu_s") - num(r, "generator_cpu_s");
        if (!Double.isNaN(others) && wall > 0) {
            r.put("others_cpu_pct", Math.max(0, 100 * others / (wall * Runtime.getRuntime().availableProcessors())));
        }
        r.put("broker_restarts", b.restarts);
        r.put("broker_command", commandLine(b.pid()));
        if (fixedRates.containsKey(l.id()) && !phase.equals(PEAK)) {
            r.put("fixed_rate_delivered", fixedRates.get(l.id()));
            r.put("fixed_rate_peer", fixedRatePeer.get(l.id()));
        }
        Files.writeString(jsonl, Json.write(r) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        if (round >= 0) {
            record(r);
        }
        System.out.printf(Locale.ROOT, "%-13s %-20s %-10s round %d: %s msg/s, p99 %s ms, CPU %s us/msg, RSS peak %s MiB%s%n",
                phase, l.id(), b.name, round, f0(num(r, "msgs_per_s")), f1(num(r, "latency_p99_us") / 1000),
                f1(num(r, "delivered") > 0 ? num(r, "broker_cpu_s") * 1e6 / num(r, "delivered") : Double.NaN),
                f0(num(r, "broker_peak_rss_kb") / 1024), r.containsKey("error") ? " (" + r.get("error") + ")" : "");
    }

    /** Wait until the process has written the line to its log (from byte {@code from} on), or has ended. */
    private static void awaitLine(Process p, Path log, long from, String line, long seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline && p.isAlive()) {
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(log.toFile(), "r")) {
                byte[] b = new byte[(int) Math.max(0, f.length() - from)];
                f.seek(from);
                f.readFully(b);
                if (new String(b, java.nio.charset.StandardCharsets.UTF_8).contains(line)) {
                    return;
                }
            }
            Thread.sleep(50);
        }
    }

    /** What the broker process runs, from /proc (a launcher's JVM flags included), class paths shortened. */
    static String commandLine(long pid) {
        try {
            String[] argv = new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline"))).split("\0");
            List<String> out = new ArrayList<>();
            for (int i = 0; i < argv.length; i++) {
                out.add(i > 0 && (argv[i - 1].equals("-cp") || argv[i - 1].equals("-classpath")) ? "CLASSPATH" : argv[i]);
            }
            return String.join(" ", out);
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    private void record(Map<String, Object> r) {
        results.computeIfAbsent((String) r.get("case"), k -> new LinkedHashMap<>())
                .computeIfAbsent((String) r.get("label"), k -> new ArrayList<>()).add(r);
        if (!Double.isNaN(num(r, "loadavg_1m"))) {
            loadAverages.add(num(r, "loadavg_1m"));
        }
        if (!Double.isNaN(num(r, "others_cpu_pct"))) {
            othersCpu.add(num(r, "others_cpu_pct"));
        }
        if (FIXED.equals(r.get("phase")) && r.get("fixed_rate_delivered") instanceof Number rate) {
            fixedRates.putIfAbsent((String) r.get("load"), rate.doubleValue());
            if (r.get("fixed_rate_peer") instanceof String peer) {
                fixedRatePeer.putIfAbsent((String) r.get("load"), peer);
            }
        }
        restarts.merge((String) r.get("label"), (int) Math.max(0, num(r, "broker_restarts")), Math::max);
    }

    /** The report again from a results.jsonl, without running anything. */
    private void rewrite() throws Exception {
        for (String line : Files.readAllLines(o.fromResults)) {
            if (!line.isBlank()) {
                Map<String, Object> r = Json.read(line);
                if (num(r, "round") >= 0 && r.get("case") instanceof String) {
                    record(r);
                }
            }
        }
        writeReport(Files.getLastModifiedTime(o.fromResults).toInstant());
    }

    private void writeReport(Instant started) throws IOException, InterruptedException {
        String report = report(started);
        System.out.println(report);
        if (o.out != null) {
            Files.createDirectories(o.out.toAbsolutePath().getParent());
            String kept = keptSections(report);
            Files.writeString(o.out, report + kept);
            System.out.println("written to " + o.out);
        }
    }

    /**
     * Sections other tools write into the same file (start-up, persistence, SSE...), kept as they are: every
     * {@code ## } section of the old file that this report does not write itself.
     */
    private String keptSections(String report) throws IOException {
        if (!Files.exists(o.out)) {
            return "";
        }
        Set<String> own = new LinkedHashSet<>();
        for (String line : report.split("\n")) {
            if (line.startsWith("## ")) {
                own.add(line);
            }
        }
        // the old generated sections, whose titles changed with the method
        List<String> retired = List.of("## Machine and command", "## Throughput", "## Latency at half", "## Slow consumer",
                "## Memory per idle", "## Reconnect storm: storm", "## Against the targets", "## Reading these figures",
                "## Reproduce");
        StringBuilder kept = new StringBuilder();
        for (String line : Files.readString(o.out).split("\n")) {
            if (line.startsWith("## ") && !own.contains(line) && retired.stream().noneMatch(line::startsWith)) {
                kept.append("\n").append(io.sluice.bench.DocSections.section(o.out, line).stripTrailing()).append("\n");
            }
        }
        return kept.toString();
    }

    static Map<String, Object> lastJson(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        for (int i = lines.size() - 1; i >= 0; i--) {
            String l = lines.get(i).trim();
            if (l.startsWith("{") && l.endsWith("}")) {
                return Json.read(l);
            }
            if (l.startsWith("== ")) {
                return null; // this run printed no result: never take the previous run's
            }
        }
        return null;
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private void startBrokers() throws Exception {
        Path sluiceJar = o.sluiceJar.toAbsolutePath();
        int sTcp = freePort(), sWs = freePort(), sStomp = freePort();
        // as users start it: through the launcher (its JVM flags) when there is one, else the jar with JVM defaults
        boolean launcher = !o.sluiceJarGiven && Files.isExecutable(o.sluiceLauncher);
        List<String> start = launcher ? List.of(o.sluiceLauncher.toAbsolutePath().toString())
                : List.of(java(), "-jar", sluiceJar.toString());
        List<String> sluiceCommand = new ArrayList<>(start);
        sluiceCommand.addAll(List.of("--bind", "127.0.0.1", "--mqtt-port", Integer.toString(sTcp),
                        "--http-port", Integer.toString(sWs), "--stomp-port", Integer.toString(sStomp), "--log-level", "warn",
                        // in memory, like Mosquitto (persistence false), HiveMQ (in-memory) and Moquette beside it
                        "--persistence", "none"));
        brokers.add(new Broker(SLUICE, false, true, sTcp, sWs, sStomp, "/mqtt", sluiceCommand, work.resolve("sluice.log")));

        if (o.peers.contains("mosquitto")) {
            int mTcp = freePort(), mWs = freePort();
            Path conf = work.resolve("mosquitto.conf");
            Files.writeString(conf, String.join("\n",
                    "# written by the side-by-side runner: Debian's Mosquitto, defaults but for the listeners",
                    "listener " + mTcp + " 127.0.0.1", "protocol mqtt",
                    "listener " + mWs + " 127.0.0.1", "protocol websockets",
                    "allow_anonymous true", "persistence false", "set_tcp_nodelay true", "log_dest stdout", "log_type error",
                    "log_type warning", ""));
            brokers.add(new Broker(MOSQUITTO, false, false, mTcp, mWs, -1, "/mqtt", List.of("mosquitto", "-c", conf.toString()),
                    work.resolve("mosquitto.log")));
        }

        if (o.peers.contains("hivemq")) {
            int hTcp = freePort(), hWs = freePort();
            Path home = work.resolve("hivemq");
            String cp = Files.readString(o.hivemqClasspath).trim() + ":" + o.benchClasses.toAbsolutePath();
            // JVM defaults, like Sluice; HiveMQ's own start script adds flags of its own, the embedded API none
            brokers.add(new Broker(HIVEMQ, false, false, hTcp, hWs, -1, "/mqtt",
                    List.of(java(), "-cp", cp, "io.sluice.bench.side.HiveMqPeer", "--tcp-port", Integer.toString(hTcp),
                            "--ws-port", Integer.toString(hWs), "--home", home.toString()),
                    work.resolve("hivemq.log")));
        }

        if (o.peers.contains("moquette")) {
            int qTcp = freePort(), qWs = freePort();
            Path home = work.resolve("moquette");
            Files.createDirectories(home.resolve("config"));
            Files.createDirectories(home.resolve("data"));
            Files.writeString(home.resolve("config/moquette.conf"), String.join("\n",
                    "port " + qTcp, "websocket_port " + qWs, "host 127.0.0.1", "allow_anonymous true",
                    "persistence_enabled false", "telemetry_enabled false", "data_path " + home.resolve("data"), ""));
            Files.writeString(home.resolve("log4j.properties"), String.join("\n",
                    "log4j.rootLogger=WARN, stdout", "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
                    "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
                    "log4j.appender.stdout.layout.ConversionPattern=%d %p %c - %m%n", ""));
            String cp = Files.readString(o.moquetteClasspath).trim();
            brokers.add(new Broker(MOQUETTE, false, false, qTcp, qWs, -1, "/mqtt",
                    List.of(java(), "-Dmoquette.path=" + home, "-Dlog4j.configuration=file:" + home.resolve("log4j.properties"),
                            "-cp", cp, "io.moquette.broker.Server"),
                    work.resolve("moquette.log")));
        }

        if (o.peers.contains("raw")) {
            int cTcp = freePort(), cWs = freePort();
            brokers.add(new Broker(CEILING, true, false, cTcp, cWs, -1, "/mqtt",
                    List.of(java(), "-jar", o.benchJar.toAbsolutePath().toString(), "forwarder", "--mqtt-port", Integer.toString(cTcp),
                            "--http-port", Integer.toString(cWs)),
                    work.resolve("forwarder.log")));
        }
        for (Broker b : brokers) {
            b.start();
            System.out.println("started " + b.name + " (pid " + b.pid() + ", tcp " + b.tcpPort + ", ws " + b.wsPort + ")");
        }
    }

    // ---------------------------------------------------------------- figures

    private List<Map<String, Object>> runs(String key, String broker) {
        return results.getOrDefault(key, Map.of()).getOrDefault(broker, List.of());
    }

    private List<String> measured() {
        Set<String> names = new LinkedHashSet<>();
        names.add(SLUICE);
        for (Map<String, List<Map<String, Object>>> byBroker : results.values()) {
            names.addAll(byBroker.keySet());
        }
        List<String> ordered = new ArrayList<>();
        for (String n : List.of(SLUICE, MOSQUITTO, HIVEMQ, MOQUETTE, CEILING)) {
            if (names.contains(n)) {
                ordered.add(n);
            }
        }
        return ordered;
    }

    private List<String> peers() {
        return measured().stream().filter(n -> !n.equals(SLUICE) && !n.equals(CEILING)).toList();
    }

    private double median(String key, String broker, String field) {
        double[] v = runs(key, broker).stream().filter(r -> r.get(field) instanceof Number)
                .mapToDouble(r -> ((Number) r.get(field)).doubleValue()).filter(d -> d >= 0).sorted().toArray();
        return median(v);
    }

    private static double median(double[] v) {
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** Median over the rounds of the broker's CPU microseconds per delivered message (the whole run). */
    private double cpuPerMessage(String key, String broker) {
        double[] v = runs(key, broker).stream()
                .filter(r -> r.get("broker_cpu_s") instanceof Number && r.get("delivered") instanceof Number)
                .mapToDouble(r -> num(r, "delivered") > 0 ? num(r, "broker_cpu_s") * 1e6 / num(r, "delivered") : Double.NaN)
                .filter(d -> !Double.isNaN(d) && d >= 0).sorted().toArray();
        return median(v);
    }

    private double max(String key, String broker, String field) {
        return runs(key, broker).stream().filter(r -> r.get(field) instanceof Number)
                .mapToDouble(r -> ((Number) r.get(field)).doubleValue()).max().orElse(Double.NaN);
    }

    /** The largest of a field over every run of a broker in the given phases. */
    private double maxOver(String broker, String field, String... phases) {
        double m = Double.NaN;
        for (Map.Entry<String, Map<String, List<Map<String, Object>>>> e : results.entrySet()) {
            String phase = e.getKey().substring(0, e.getKey().indexOf(':'));
            if (!List.of(phases).contains(phase)) {
                continue;
            }
            for (Map<String, Object> r : e.getValue().getOrDefault(broker, List.of())) {
                double v = num(r, field);
                if (!Double.isNaN(v) && (Double.isNaN(m) || v > m)) {
                    m = v;
                }
            }
        }
        return m;
    }

    private long failures(String key, String broker) {
        return runs(key, broker).stream().filter(r -> !Boolean.TRUE.equals(r.get("ok"))).count();
    }

    private String bestPeer(String key, String field) {
        String best = null;
        double bestValue = -1;
        for (String peer : peers()) {
            double v = median(key, peer, field);
            if (v > bestValue) {
                bestValue = v;
                best = peer;
            }
        }
        return best;
    }

    static double num(Map<String, Object> r, String field) {
        Object v = r.get(field);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    static String f0(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%,.0f", v);
    }

    static String f1(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    /**
     * a / b as "1.23x"; under 0.1x with two significant digits ("0.0014x"), since a peer's multi-second stall
     * against a few milliseconds would otherwise read as "0.00x", as if Sluice had taken no time at all.
     */
    static String ratio(double a, double b) {
        if (Double.isNaN(a) || Double.isNaN(b) || b <= 0) {
            return "-";
        }
        double r = a / b;
        if (r > 0 && r < 0.1) {
            return new BigDecimal(r).round(new MathContext(2)).stripTrailingZeros().toPlainString() + "x";
        }
        return String.format(Locale.ROOT, "%.2fx", r);
    }

    private static String verdict(boolean measured, boolean met) {
        return !measured ? "not measured" : met ? "met" : "**not met**";
    }

    private static String abbrev(String broker) {
        return switch (broker) {
            case SLUICE -> "S";
            case MOSQUITTO -> "Mq";
            case HIVEMQ -> "Hv";
            case MOQUETTE -> "Mo";
            default -> "raw";
        };
    }

    /** "a / b / c" over the given brokers. */
    private String each(List<String> names, java.util.function.ToDoubleFunction<String> f, boolean decimals) {
        List<String> parts = new ArrayList<>();
        for (String n : names) {
            double v = f.applyAsDouble(n);
            parts.add(decimals ? f1(v) : f0(v));
        }
        return String.join(" / ", parts);
    }

    private String abbrevs(List<String> names) {
        return String.join(" / ", names.stream().map(SideBySide::abbrev).toList());
    }

    private Load load(String id) {
        return allLoads().stream().filter(l -> l.id().equals(id)).findFirst().orElseThrow();
    }

    /** Load ids measured in a phase, in the standard order. */
    private List<Load> loadsIn(String phase) {
        List<Load> ls = new ArrayList<>();
        for (Load l : allLoads()) {
            if (results.containsKey(key(phase, l))) {
                ls.add(l);
            }
        }
        return ls;
    }

    private String report(Instant started) throws IOException, InterruptedException {
        StringBuilder md = new StringBuilder();
        List<String> names = measured();
        List<String> peers = peers();
        List<String> targets = new ArrayList<>();
        md.append("# Benchmarks\n\n");
        md.append("<!-- Generated by ").append(o.command).append(" (io.sluice.bench.side.SideBySide); do not edit by hand: run it again. ")
                .append("The \"Reading\" section comes from benchmarks/analysis.md. -->\n\n");
        md.append("Sluice against the brokers people would pick instead, each in its own process on the same machine, in the same run: ")
                .append("Mosquitto (Debian's package, C) and HiveMQ Community Edition 2025.5 (JVM, its embedding API in its own JVM, from Maven Central)")
                .append(names.contains(MOQUETTE) ? ", Moquette " + moquetteVersion() + " (JVM, in its own JVM)" : "")
                .append(names.contains(CEILING) ? " and a raw Netty forwarder with no broker logic (a ceiling)" : "")
                .append(". Every load ran against each broker in turn, the order rotating every round, ").append(o.rounds)
                .append(" round(s); figures are medians of the rounds.\n\n");

        md.append("## Machine and method\n\n");
        md.append("- Run: ").append(started.truncatedTo(ChronoUnit.SECONDS)).append(", ").append(o.smoke ? "**smoke mode (a check of the instrument, not a result)**" : "standard mode")
                .append(", ").append(f1(o.warmup)).append(" s warm-up + ").append(f1(o.duration)).append(" s measured per run")
                .append(o.sluiceLabel.isEmpty() ? "" : "; Sluice: " + o.sluiceLabel).append("\n");
        md.append("- CPU: ").append(cpuModel()).append(", ").append(Runtime.getRuntime().availableProcessors()).append(" cores; memory ")
                .append(memTotal()).append("; kernel ").append(exec("uname", "-r")).append("\n");
        double[] la = loadAverages.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] oc = othersCpu.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        boolean noisy = oc.length > 0 && median(oc) > 10;
        if (la.length > 0) {
            md.append("- Load average (1 min) before each run: min ").append(f1(la[0])).append(", median ").append(f1(median(la)))
                    .append(", max ").append(f1(la[la.length - 1])).append("\n");
        }
        if (oc.length > 0) {
            md.append("- Other processes' share of the machine's CPU during each run (busy time in /proc/stat less the broker's and ")
                    .append("the generator's): median ").append(f0(median(oc))).append("%, max ").append(f0(oc[oc.length - 1])).append("%")
                    .append(noisy ? " (**the machine was noisy: other work took CPU from the runs; throughput and latency move with it, "
                            + "CPU per message and RSS much less; ratios between brokers of one run are still comparable**)" : "")
                    .append("\n");
        }
        md.append("- Java: ").append(System.getProperty("java.vm.name")).append(" ").append(System.getProperty("java.version"))
                .append(" for Sluice and HiveMQ CE, each with its default settings but in-memory persistence")
                .append(" (Sluice `--persistence none`, HiveMQ `<persistence><mode>in-memory</mode>`, Mosquitto `persistence false`)\n");
        for (String n : names) {
            String cmd = runs(results.keySet().stream().filter(k -> !runs(k, n).isEmpty()).findFirst().orElse(""), n).stream()
                    .map(r -> r.get("broker_command")).filter(c -> c instanceof String).map(String::valueOf).findFirst().orElse(null);
            if (cmd != null) {
                md.append("- ").append(n).append(" ran as: `").append(cmd.replaceAll("/\\S*/", "")).append("`\n");
            }
        }
        md.append("- Mosquitto: ").append(exec("mosquitto", "-h").lines().filter(l -> l.startsWith("mosquitto version")).findFirst().orElse("?"))
                .append(" (a TCP and a websockets listener on 127.0.0.1, `set_tcp_nodelay true`, otherwise defaults)\n");
        md.append("- Load: `java -jar benchmarks/target/benchmarks.jar load` in its own JVM (one Netty event-loop thread, MQTT 3.1.1, ")
                .append(CLIENTS).append(" publishers/subscribers, ").append(PAYLOAD).append("-byte payloads, over WebSocket and TCP). Flat out, every ")
                .append("publisher keeps at most 1,000 messages sent and not yet received by its slowest subscriber (QoS 1: also at most 64 ")
                .append("unacknowledged); a gap in a subscriber's sequence is a lost message. Latency is publish to receipt; at a fixed rate it is ")
                .append("measured from each message's scheduled send time (open loop, so a stall counts in full).\n");
        md.append("- Memory is the broker process's resident set (RSS, /proc/PID/status), sampled every 100 ms; never the JVM heap alone.\n");
        md.append("- CPU per message is the broker process's user+system CPU over the whole run (connect, warm-up, measurement, drain) ")
                .append("divided by the messages it delivered. On a shared machine it, and RSS, are the steadier figures: they count what a broker ")
                .append("spends, not what the scheduler happened to give it.\n\n");
        md.append("    ").append(o.command).append(o.args.isEmpty() ? "" : " " + o.args).append("\n\n");

        // ---- flat out
        List<Load> peak = loadsIn(PEAK);
        if (!peak.isEmpty()) {
            md.append("## Peak throughput (delivered messages per second, flat out, medians)\n\n");
            md.append("| load | ").append(String.join(" | ", names)).append(" | best peer | Sluice / best peer | lost QoS 0 (")
                    .append(abbrevs(names)).append(") | p99 ms (").append(abbrevs(names)).append(") | CPU µs/msg (").append(abbrevs(names))
                    .append(") | peak RSS MiB (").append(abbrevs(names)).append(") |\n");
            md.append("|---|").append("---:|".repeat(names.size())).append("---|---:|---|---|---|---|\n");
            for (Load l : peak) {
                String k = key(PEAK, l);
                double s = median(k, SLUICE, "msgs_per_s");
                String best = bestPeer(k, "msgs_per_s");
                double b = best == null ? Double.NaN : median(k, best, "msgs_per_s");
                md.append("| ").append(l.title()).append(failNote(k)).append(" | ")
                        .append(each(names, n -> median(k, n, "msgs_per_s"), false).replace(" / ", " | ")).append(" | ")
                        .append(best == null ? "-" : best).append(" | ").append(ratio(s, b)).append(" | ")
                        .append(each(names, n -> max(k, n, "lost"), false)).append(" | ")
                        .append(each(names, n -> median(k, n, "latency_p99_us") / 1000, true)).append(" | ")
                        .append(each(names, n -> cpuPerMessage(k, n), true)).append(" | ")
                        .append(each(names, n -> median(k, n, "broker_peak_rss_kb") / 1024, false)).append(" |\n");
                targets.add("- peak " + l.id() + ": Sluice " + ratio(s, b) + " " + (best == null ? "the best peer" : best)
                        + " (target >= 1.5x: " + verdict(!Double.isNaN(s * b), s >= 1.5 * b) + ")");
            }
            md.append("\n\"lost\" is the largest count over the rounds (at QoS 1 it must be 0 and a run with a loss is marked); ")
                    .append("a lost QoS 0 message is one a broker dropped. p99 flat out is mostly queueing in front of a saturated ")
                    .append("broker: compare latency at the fixed rate below.\n\n");

            List<Load> fanin = peak.stream().filter(l -> l.scenario().equals("fanin") && l.qos() == 0).toList();
            if (!fanin.isEmpty() && names.contains(MOSQUITTO)) {
                md.append("## One subscriber connection (fan-in, QoS 0: ").append(CLIENTS)
                        .append(" publishers, one subscriber receiving everything)\n\n");
                md.append("| load | Sluice msg/s | Mosquitto msg/s | Sluice / Mosquitto | Sluice lost (max) |\n|---|---:|---:|---:|---:|\n");
                for (Load l : fanin) {
                    String k = key(PEAK, l);
                    double s = median(k, SLUICE, "msgs_per_s");
                    double m = median(k, MOSQUITTO, "msgs_per_s");
                    md.append("| ").append(l.title()).append(" | ").append(f0(s)).append(" | ").append(f0(m)).append(" | ")
                            .append(ratio(s, m)).append(" | ").append(f0(max(k, SLUICE, "lost"))).append(" |\n");
                    targets.add("- one subscriber connection, " + l.id() + ": Sluice " + ratio(s, m) + " Mosquitto (target >= 1.5x: "
                            + verdict(!Double.isNaN(s * m), s >= 1.5 * m) + ")");
                }
                md.append("\n");
            }
        }

        // ---- fixed rate
        List<Load> fixed = loadsIn(FIXED);
        List<String> brokersFixed = names.stream().filter(n -> !n.equals(CEILING)).toList();
        if (!fixed.isEmpty()) {
            md.append("## At a fixed rate: half the best peer's peak (open loop, medians)\n\n");
            md.append("Every broker at the same rate (delivered messages per second; a fan-out publisher sends a tenth of it), ")
                    .append("so latency and CPU per message compare like for like.\n\n");
            md.append("| load | rate msg/s (half whose peak) | ").append(String.join(" | ", brokersFixed.stream()
                            .map(n -> n + " p50 / p99 / p99.9 ms").toList()))
                    .append(" | Sluice p99 / that peer's | CPU µs/msg (").append(abbrevs(brokersFixed)).append(") | Sluice CPU / Mosquitto's |\n");
            md.append("|---|---:|").append("---|".repeat(brokersFixed.size())).append("---:|---|---:|\n");
            for (Load l : fixed) {
                String k = key(FIXED, l);
                String peer = fixedRatePeer.getOrDefault(l.id(), "?");
                String against = peers.contains(peer) ? peer : bestPeer(key(FIXED, l), "msgs_per_s");
                double sp = median(k, SLUICE, "latency_p99_us");
                double pp = against == null ? Double.NaN : median(k, against, "latency_p99_us");
                double sc = cpuPerMessage(k, SLUICE);
                double mc = cpuPerMessage(k, MOSQUITTO);
                md.append("| ").append(l.title()).append(failNote(k)).append(" | ").append(f0(fixedRates.getOrDefault(l.id(), Double.NaN)))
                        .append(" (").append(peer).append(") | ");
                for (String n : brokersFixed) {
                    md.append(f1(median(k, n, "latency_p50_us") / 1000)).append(" / ").append(f1(median(k, n, "latency_p99_us") / 1000))
                            .append(" / ").append(f1(median(k, n, "latency_p999_us") / 1000))
                            .append(rateShort(k, n, fixedRates.getOrDefault(l.id(), Double.NaN))).append(" | ");
                }
                md.append(ratio(sp, pp)).append(" | ").append(each(brokersFixed, n -> cpuPerMessage(k, n), true)).append(" | ")
                        .append(ratio(sc, mc)).append(" |\n");
                targets.add("- fixed rate " + l.id() + ": Sluice p99 " + ratio(sp, pp) + " " + against + "'s (target <= 1.00x: "
                        + verdict(!Double.isNaN(sp * pp), sp <= pp) + "); CPU per message " + ratio(sc, mc)
                        + " Mosquitto's (target <= 0.67x: " + verdict(!Double.isNaN(sc * mc), sc <= 0.67 * mc) + ")");
            }
            md.append("\nA broker that could not deliver the rate is marked \"(behind: N msg/s)\"; its latency then is queueing.\n\n");
        }

        // ---- first minute
        List<Load> first = loadsIn(FIRST);
        if (!first.isEmpty()) {
            md.append("## The first minute after start\n\n");
            md.append("A fresh process of each broker, then the fixed rate above at once, for ").append(f0(o.firstMinute))
                    .append(" s, nothing left out as warm-up (one run per broker); against the same rate on a warm broker (the table above). ")
                    .append("The generator warms itself up first (").append(f0(PREWARM)).append(" s of the same load against a forwarder in its own JVM, ")
                    .append("while the broker is stopped), so the first seconds are the broker's, not the generator's JIT.\n\n");
            md.append("| load | rate msg/s | ").append(String.join(" | ", brokersFixed.stream().map(n -> n + " p99 ms first minute / warm").toList()))
                    .append(" | Sluice first-minute p99 / that peer's |\n");
            md.append("|---|---:|").append("---|".repeat(brokersFixed.size())).append("---:|\n");
            for (Load l : first) {
                String k = key(FIRST, l);
                String w = key(FIXED, l);
                String peer = fixedRatePeer.getOrDefault(l.id(), "?");
                String against = peers.contains(peer) ? peer : bestPeer(w, "msgs_per_s");
                double sp = median(k, SLUICE, "latency_p99_us");
                double pp = against == null ? Double.NaN : median(k, against, "latency_p99_us");
                md.append("| ").append(l.title()).append(failNote(k)).append(" | ").append(f0(fixedRates.getOrDefault(l.id(), Double.NaN))).append(" | ");
                for (String n : brokersFixed) {
                    md.append(f1(median(k, n, "latency_p99_us") / 1000)).append(" / ").append(f1(median(w, n, "latency_p99_us") / 1000))
                            .append(rateShort(k, n, fixedRates.getOrDefault(l.id(), Double.NaN))).append(" | ");
                }
                md.append(ratio(sp, pp)).append(" |\n");
                targets.add("- first minute " + l.id() + ": Sluice p99 " + ratio(sp, pp) + " " + against + "'s (target <= 1.00x: "
                        + verdict(!Double.isNaN(sp * pp), sp <= pp) + ")");
            }
            md.append("\n");
            for (Load l : first) {
                firstMinuteSlices(md, targets, l, brokersFixed);
            }
        }

        // ---- memory
        String idleKey = results.keySet().stream().filter(k -> k.startsWith(IDLE + ":")).findFirst().orElse(null);
        if (idleKey != null) {
            md.append("## Memory per idle WebSocket connection\n\n");
            md.append("MQTT 3.1.1 clients connected over WebSocket doing nothing but keep-alive, to a freshly started broker, in two ")
                    .append("halves: the process's RSS once it settled (moved less than 0.5% in 2 s) after each half, minus before, per ")
                    .append("connection (what the machine pays). \"All\" carries what the first connections cost the process once ")
                    .append("(code compiled, classes loaded, a JVM's young generation touched); \"second half\" is the cost of one more ")
                    .append("connection, and the projection to 100,000 connections is the RSS after the last one plus that cost for each ")
                    .append("connection still missing (a projection unless the count is 100,000). The JVM brokers' heap in use after a ")
                    .append("full GC (jcmd, taken after the RSS readings) is shown beside it, for reading only: it leaves out what the ")
                    .append("JVM holds besides live objects.\n\n");
            md.append("| broker | connections | RSS before MiB | RSS after MiB | RSS B/conn, all | RSS B/conn, second half | RSS at 100,000 MiB | heap B/conn (JVM, after full GC) | still open at the end |\n");
            md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for (String n : brokersFixed) {
                double count = median(idleKey, n, "connected");
                md.append("| ").append(n).append(failNote(idleKey, n)).append(" | ").append(f0(count)).append(" | ")
                        .append(f0(median(idleKey, n, "broker_rss_before_kb") / 1024)).append(" | ")
                        .append(f0(median(idleKey, n, "broker_rss_after_kb") / 1024)).append(" | ")
                        .append(f0(median(idleKey, n, "rss_bytes_per_conn"))).append(" | ")
                        .append(f0(median(idleKey, n, "rss_bytes_per_conn_marginal"))).append(" | ")
                        .append(f0(median(idleKey, n, "rss_projected_kb") / 1024))
                        .append(count >= 100_000 ? "" : " (projected)").append(" | ")
                        .append(f0(median(idleKey, n, "heap_bytes_per_conn"))).append(" | ")
                        .append(f0(median(idleKey, n, "still_open"))).append(" |\n");
            }
            double count = median(idleKey, SLUICE, "connected");
            double rss = median(idleKey, SLUICE, "rss_bytes_per_conn");
            double marginal = median(idleKey, SLUICE, "rss_bytes_per_conn_marginal");
            double projected = median(idleKey, SLUICE, "rss_projected_kb") / 1024;
            targets.add("- idle WebSocket connection: Sluice " + f0(rss) + " B of RSS each over " + f0(count) + " connections, "
                    + f0(marginal) + " B each for the second half; 100,000 " + (count >= 100_000 ? "measured" : "projected")
                    + " at " + f0(projected) + " MiB (target <= 6,000 B, under 1 GiB: "
                    + verdict(!Double.isNaN(marginal) && !Double.isNaN(projected), marginal <= 6000 && projected < 1024)
                    + (count >= 100_000 ? "" : ", by projection") + ")");
            md.append("\n");
        }
        if (!peak.isEmpty() || !fixed.isEmpty()) {
            md.append("## Peak RSS\n\n");
            md.append("The largest resident set of each broker process sampled during any flat-out or fixed-rate run (default settings, ")
                    .append("started as shown under \"Machine and method\"), and the process's own high-water mark (VmHWM) at the end of its ")
                    .append("last run. The loads run on a process started after the idle connections' phase (whose RSS is in the table ")
                    .append("above): a process keeps what it grew for those connections.\n\n");
            md.append("| broker | peak RSS under the loads MiB | VmHWM MiB |\n|---|---:|---:|\n");
            for (String n : brokersFixed) {
                md.append("| ").append(n).append(" | ").append(f0(maxOver(n, "broker_peak_rss_kb", PEAK, FIXED) / 1024)).append(" | ")
                        .append(f0(maxOver(n, "broker_hwm_kb", PEAK, FIXED) / 1024)).append(" |\n");
            }
            double s = maxOver(SLUICE, "broker_peak_rss_kb", PEAK, FIXED) / 1024;
            targets.add("- peak RSS under the loads: Sluice " + f0(s) + " MiB (target <= 256 MB: "
                    + verdict(!Double.isNaN(s), s * 1024 * 1024 <= 256e6) + ")");
            md.append("\n");
        }

        extras(md, names);

        restarts.forEach((name, n) -> {
            if (n > 0) {
                md.append("- ").append(name).append(" exited during the run and was started again ").append(n)
                        .append(" time(s); the load running at the time shows as failed.\n");
            }
        });
        md.append("\n## Against the targets\n\n");
        if (o.smoke) {
            md.append("(smoke mode: these verdicts are not results)\n\n");
        }
        targets.forEach(t -> md.append(t).append('\n'));
        md.append("\n");
        if (Files.exists(o.analysis)) {
            md.append(Files.readString(o.analysis).trim()).append("\n\n");
        }
        md.append("## Reproduce\n\n");
        md.append("    benchmarks/run-side-by-side.sh                        # the standard run (see --dry-run for its duration)\n");
        md.append("    benchmarks/run-side-by-side.sh --smoke                # a few minutes: checks the instrument, not a result\n");
        md.append("    benchmarks/run-side-by-side.sh --only fanin-ws-qos0 --fixed none --first none --idle 0   # one load\n");
        md.append("    java -jar benchmarks/target/benchmarks.jar side --help            # every flag\n");
        md.append("    java -jar benchmarks/target/benchmarks.jar side --from-results benchmarks/target/side-by-side/results.jsonl \\\n")
                .append("        --out docs/benchmarks.md                                   # this page again from a run's results\n");
        md.append("    java -jar benchmarks/target/benchmarks.jar load --help          # the load generator alone\n");
        md.append("    java -jar benchmarks/target/benchmarks.jar -prof gc             # JMH: trie, cache, churn, MQTT/STOMP/WebSocket codecs\n\n");
        md.append("Raw results of a run, one JSON object per load and broker: benchmarks/target/side-by-side/results.jsonl.\n");
        return md.toString();
    }

    /** " (behind: N msg/s)" when a broker delivered less than 95% of a fixed rate. */
    private String rateShort(String key, String broker, double rate) {
        double got = median(key, broker, "msgs_per_s");
        return !Double.isNaN(got) && !Double.isNaN(rate) && got < 0.95 * rate ? " (behind: " + f0(got) + " msg/s)" : "";
    }

    /** The optional loads' sections: slow consumer, reconnect storm, 4 KiB and STOMP (flat out). */
    private void extras(StringBuilder md, List<String> names) {
        for (Load l : loadsIn(EXTRA)) {
            String k = key(EXTRA, l);
            switch (l.scenario()) {
                case "slow" -> {
                    md.append("## Slow consumer: ").append(l.title()).append("\n\n");
                    md.append("Fast pairs on their own topics, alone and then with one QoS 1 subscriber on another topic acknowledging 20 messages a second. ")
                            .append("Isolation = fast pairs' rate with the slow one / alone.\n\n");
                    md.append("| broker | fast alone msg/s | fast with slow msg/s | isolation | slow publisher's rate msg/s | lost (all) | slow subscriber lost |\n|---|---:|---:|---:|---:|---:|---:|\n");
                    for (String b : names) {
                        md.append("| ").append(b).append(failNote(k, b)).append(" | ").append(f0(median(k, b, "fast_msgs_per_s_alone"))).append(" | ")
                                .append(f0(median(k, b, "fast_msgs_per_s_with_slow"))).append(" | ")
                                .append(String.format(Locale.ROOT, "%.2f", median(k, b, "isolation_ratio"))).append(" | ")
                                .append(f0(median(k, b, "slow_sent_per_s"))).append(" | ").append(f0(max(k, b, "lost"))).append(" | ")
                                .append(f0(max(k, b, "slow_lost"))).append(" |\n");
                    }
                    md.append("\n");
                }
                case "storm" -> {
                    md.append("## Reconnect storm: ").append(l.title()).append("\n\n");
                    md.append("| broker | connects/s | connect p50 ms | connect p99 ms | failed attempts |\n|---|---:|---:|---:|---:|\n");
                    for (String b : names) {
                        md.append("| ").append(b).append(failNote(k, b)).append(" | ").append(f0(median(k, b, "connects_per_s"))).append(" | ")
                                .append(f1(median(k, b, "connect_p50_us") / 1000)).append(" | ").append(f1(median(k, b, "connect_p99_us") / 1000))
                                .append(" | ").append(f0(median(k, b, "failures"))).append(" |\n");
                    }
                    md.append("\n");
                }
                default -> {
                    md.append("## Flat out: ").append(l.title()).append("\n\n| broker | msg/s | p99 ms | CPU µs/msg |\n|---|---:|---:|---:|\n");
                    for (String b : names) {
                        md.append("| ").append(b).append(failNote(k, b)).append(" | ").append(f0(median(k, b, "msgs_per_s"))).append(" | ")
                                .append(f1(median(k, b, "latency_p99_us") / 1000)).append(" | ").append(f1(cpuPerMessage(k, b))).append(" |\n");
                    }
                    md.append("\n");
                }
            }
        }
    }

    private String failNote(String key) {
        StringBuilder sb = new StringBuilder();
        for (String b : measured()) {
            String note = failNote(key, b);
            if (!note.isEmpty()) {
                sb.append(sb.length() == 0 ? " (" : "; ").append(b).append(": ").append(note, 2, note.length() - 1);
            }
        }
        return sb.length() == 0 ? "" : sb.append(")").toString();
    }

    /** Why runs were not ok: a broker that lost QoS 1 messages, or a load that failed (see results.jsonl). */
    private String failNote(String key, String broker) {
        long failed = runs(key, broker).stream().filter(r -> r.containsKey("error")).count();
        long lossy = runs(key, broker).stream().filter(r -> !r.containsKey("error") && !Boolean.TRUE.equals(r.get("ok"))
                && num(r, "lost") > 0).count();
        long other = failures(key, broker) - failed - lossy;
        List<String> parts = new ArrayList<>();
        if (lossy > 0) {
            parts.add("lost QoS 1 messages in " + lossy + " of " + runs(key, broker).size() + " runs");
        }
        if (failed + other > 0) {
            parts.add((failed + other) + " run(s) failed, see results.jsonl");
        }
        return parts.isEmpty() ? "" : " (" + String.join(", ", parts) + ")";
    }

    private String moquetteVersion() {
        try {
            String cp = Files.readString(o.moquetteClasspath);
            for (String e : cp.split(":")) {
                String f = Path.of(e.trim()).getFileName().toString();
                if (f.startsWith("moquette-broker-")) {
                    return f.substring("moquette-broker-".length()).replace(".jar", "");
                }
            }
        } catch (IOException | RuntimeException e) {
            return "?";
        }
        return "?";
    }

    private static String cpuModel() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (l.startsWith("model name")) {
                return l.substring(l.indexOf(':') + 1).trim();
            }
        }
        return "?";
    }

    private static String memTotal() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (l.startsWith("MemTotal:")) {
                long kb = Long.parseLong(l.replaceAll("\\D", ""));
                return String.format(Locale.ROOT, "%.0f GiB", kb / 1024.0 / 1024.0);
            }
        }
        return "?";
    }

    private static String exec(String... cmd) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor(10, TimeUnit.SECONDS);
            return out;
        } catch (IOException e) {
            return "?";
        }
    }
}
