package io.sluice.bench.side;

import io.sluice.bench.load.Json;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Sluice, Mosquitto, Moquette and the raw Netty forwarder (the ceiling) on loopback, each scenario against each
 * in turn, alternating the order every round, for several rounds; then a table of medians with Sluice/peer
 * ratios, written to docs/benchmarks.md. Run through {@code benchmarks/run-side-by-side.sh}, which builds the
 * jars and fetches the peers first.
 */
public final class SideBySide {
    static final String SLUICE = "Sluice";
    static final String MOSQUITTO = "Mosquitto";
    static final String MOQUETTE = "Moquette";
    static final String CEILING = "raw Netty";

    /** One load: the load generator's flags, and whether the peers and the ceiling can take it. */
    record Case(String title, String scenario, String protocol, String transport, int qos, int clients, int payload,
                List<String> extra, boolean peers, boolean ceiling) {
        String key() {
            return title;
        }
    }

    private final Options o;
    private final Path work;
    private final List<Broker> brokers = new ArrayList<>();
    private final Map<String, Map<String, List<Map<String, Object>>>> results = new LinkedHashMap<>();
    private final Path jsonl;

    static final class Options {
        boolean full;
        int rounds = 3;
        double duration = 2;
        double warmup = 1;
        Path out = Path.of("docs/benchmarks.md");
        Path sluiceJar = Path.of("server/target/sluice.jar");
        Path benchJar = Path.of("benchmarks/target/benchmarks.jar");
        Path moquetteClasspath = Path.of("benchmarks/target/moquette.classpath");
        Path analysis = Path.of("benchmarks/analysis.md");
        Path work = Path.of("benchmarks/target/side-by-side");
        String command = "benchmarks/run-side-by-side.sh";
        /** Only write the report again from an earlier run's results.jsonl (after editing the notes). */
        Path fromResults;
    }

    private SideBySide(Options o) throws IOException {
        this.o = o;
        this.work = o.work.toAbsolutePath();
        Files.createDirectories(work);
        this.jsonl = work.resolve("results.jsonl");
        if (o.fromResults == null) {
            Files.deleteIfExists(jsonl);
        }
    }

    public static void main(String[] args) throws Exception {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--full" -> {
                    o.full = true;
                    o.duration = Math.max(o.duration, 8);
                    o.warmup = 2;
                }
                case "--rounds" -> o.rounds = Integer.parseInt(args[++i]);
                case "--duration" -> o.duration = Double.parseDouble(args[++i]);
                case "--warmup" -> o.warmup = Double.parseDouble(args[++i]);
                case "--out" -> o.out = Path.of(args[++i]);
                case "--sluice-jar" -> o.sluiceJar = Path.of(args[++i]);
                case "--bench-jar" -> o.benchJar = Path.of(args[++i]);
                case "--moquette-classpath" -> o.moquetteClasspath = Path.of(args[++i]);
                case "--analysis" -> o.analysis = Path.of(args[++i]);
                case "--work" -> o.work = Path.of(args[++i]);
                case "--command" -> o.command = args[++i];
                case "--from-results" -> o.fromResults = Path.of(args[++i]);
                default -> {
                    System.err.println("unknown flag " + a + "; flags: --full --rounds N --duration S --warmup S --out FILE"
                            + " --sluice-jar JAR --bench-jar JAR --moquette-classpath FILE --analysis FILE --work DIR");
                    System.exit(2);
                }
            }
        }
        new SideBySide(o).run();
    }

    private List<Case> cases() {
        List<Case> cs = new ArrayList<>();
        List<String> transports = o.full ? List.of("ws", "tcp") : List.of("ws");
        for (String t : transports) {
            for (int qos = 0; qos <= 1; qos++) {
                cs.add(new Case("fanin " + t + " qos" + qos + " (8 -> 1)", "fanin", "mqtt", t, qos, 8, 64, List.of(), true, true));
                cs.add(new Case("fanout " + t + " qos" + qos + " (1 -> 8)", "fanout", "mqtt", t, qos, 8, 64, List.of(), true, true));
                cs.add(new Case("p2p " + t + " qos" + qos + " (8 pairs)", "p2p", "mqtt", t, qos, 8, 64, List.of(), true, true));
            }
        }
        if (o.full) {
            cs.add(new Case("p2p ws qos1 4 KiB (8 pairs)", "p2p", "mqtt", "ws", 1, 8, 4096, List.of(), true, true));
            cs.add(new Case("p2p stomp ws qos1 (8 pairs)", "p2p", "stomp", "ws", 1, 8, 64, List.of(), false, false));
            cs.add(new Case("storm ws (200 clients)", "storm", "mqtt", "ws", 0, 200, 64, List.of(), true, false));
        }
        cs.add(new Case("slow ws qos1 (4 fast pairs + 1 slow subscriber at 20 msg/s)", "slow", "mqtt", "ws", 1, 4, 64,
                List.of("--slow-rate", "20"), true, false));
        int idle = o.full ? 10_000 : 1_000;
        cs.add(new Case("idle ws (" + idle + " connections)", "idle", "mqtt", "ws", 0, idle, 64, List.of(), true, false));
        return cs;
    }

    private void run() throws Exception {
        if (o.fromResults != null) {
            rewrite();
            return;
        }
        startBrokers();
        Instant started = Instant.now();
        try {
            List<Case> cs = cases();
            // an unrecorded pass first, so every JVM broker's JIT is warm before round 1
            Case warm = new Case("warm-up", "p2p", "mqtt", "ws", 1, 8, 64, List.of(), true, true);
            for (Broker b : brokers) {
                runOne(warm, b, -1, List.of());
            }
            results.remove(warm.key());
            for (int round = 0; round < o.rounds; round++) {
                for (Case c : cs) {
                    List<Broker> order = new ArrayList<>();
                    for (Broker b : brokers) {
                        if (b.name.equals(SLUICE) || (c.peers() && !b.ceiling) || (c.ceiling() && b.ceiling)) {
                            order.add(b);
                        }
                    }
                    // alternate: each round starts with a different broker
                    java.util.Collections.rotate(order, -round);
                    for (Broker b : order) {
                        runOne(c, b, round, List.of());
                    }
                }
            }
            latencyAtHalfPeerRate();
        } finally {
            for (Broker b : brokers) {
                b.stop();
            }
        }
        String report = report(started);
        System.out.println(report);
        if (o.out != null) {
            Files.createDirectories(o.out.toAbsolutePath().getParent());
            Files.writeString(o.out, report + keptSections());
            System.out.println("written to " + o.out);
        }
    }

    /** The report again from a results.jsonl, without running anything. */
    private void rewrite() throws Exception {
        List<String> lines = Files.readAllLines(o.fromResults);
        Map<String, Case> latency = new LinkedHashMap<>();
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            Map<String, Object> r = Json.read(line);
            if (num(r, "round") < 0) {
                continue;
            }
            String key = (String) r.get("case");
            String broker = (String) r.get("label");
            results.computeIfAbsent(key, k -> new LinkedHashMap<>()).computeIfAbsent(broker, k -> new ArrayList<>()).add(r);
            if (!Double.isNaN(num(r, "loadavg_1m"))) {
                loadAverages.add(num(r, "loadavg_1m"));
            }
            restarts.merge(broker, (int) Math.max(0, num(r, "broker_restarts")), Math::max);
            if (key.contains("'s peak)")) {
                latency.putIfAbsent(key, new Case(key, "p2p", "mqtt", "ws", key.contains("qos1") ? 1 : 0, 8, 64, List.of(), true, false));
            }
        }
        latencyCases.addAll(latency.values());
        String report = report(Files.getLastModifiedTime(o.fromResults).toInstant());
        System.out.println(report);
        Files.writeString(o.out, report + keptSections());
        System.out.println("written to " + o.out);
    }

    /** Sections other tools write into the same file (the persistence benchmark's), kept as they are. */
    private String keptSections() throws IOException {
        String persistence = io.sluice.bench.DocSections.section(o.out, io.sluice.bench.store.PersistenceBenchmark.HEADING);
        return persistence.isEmpty() ? "" : "\n" + persistence;
    }

    private final Map<String, Integer> restarts = new LinkedHashMap<>();

    /** p99 at half the best peer's peak rate (open loop, --rate), Sluice and that peer alternating. */
    private void latencyAtHalfPeerRate() throws Exception {
        for (Case c : new ArrayList<>(cases())) {
            if (!c.scenario().equals("p2p") || !c.transport().equals("ws") || c.payload() != 64 || !c.protocol().equals("mqtt")) {
                continue;
            }
            String peer = bestPeer(c.key(), "msgs_per_s");
            if (peer == null) {
                continue;
            }
            double rate = median(c.key(), peer, "msgs_per_s");
            if (!(rate > 0)) {
                continue;
            }
            double half = Math.floor(rate / 2);
            Case lc = new Case("p2p ws qos" + c.qos() + " at " + (long) half + " msg/s (half " + peer + "'s peak)",
                    "p2p", "mqtt", "ws", c.qos(), c.clients(), 64, List.of("--rate", Long.toString((long) half)), true, false);
            for (int round = 0; round < o.rounds; round++) {
                List<Broker> order = new ArrayList<>();
                for (Broker b : brokers) {
                    if (b.name.equals(SLUICE) || b.name.equals(peer)) {
                        order.add(b);
                    }
                }
                java.util.Collections.rotate(order, -round);
                for (Broker b : order) {
                    runOne(lc, b, round, List.of());
                }
            }
            latencyCases.add(lc);
        }
    }

    private final List<Case> latencyCases = new ArrayList<>();
    /** The machine's 1-minute load average before each load: other work on the machine shows here. */
    private final List<Double> loadAverages = new ArrayList<>();

    private static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private void runOne(Case c, Broker b, int round, List<String> more) throws Exception {
        if (c.protocol().equals("stomp") && !b.stomp) {
            return;
        }
        b.ensureRunning();
        double loadAverage = loadAverage();
        loadAverages.add(loadAverage);
        List<String> cmd = new ArrayList<>(List.of(java(), "-Xms512m", "-Xmx1g", "-jar", o.benchJar.toString(), "load",
                "--scenario", c.scenario(), "--protocol", c.protocol(), "--transport", c.transport(),
                "--qos", Integer.toString(c.qos()), "--clients", Integer.toString(c.clients()),
                "--payload", Integer.toString(c.payload()),
                "--duration", Double.toString(o.duration), "--warmup", Double.toString(o.warmup),
                "--broker-pid", Long.toString(b.pid()), "--label", b.name));
        int port = c.protocol().equals("stomp") ? (c.transport().equals("ws") ? b.wsPort : b.stompPort)
                : (c.transport().equals("ws") ? b.wsPort : b.tcpPort);
        cmd.addAll(List.of("--port", Integer.toString(port)));
        if (c.transport().equals("ws")) {
            cmd.addAll(List.of("--path", c.protocol().equals("stomp") ? "/stomp" : b.wsPath));
        }
        cmd.addAll(c.extra());
        cmd.addAll(more);
        Path log = work.resolve("load.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long limit = (long) (o.duration * 2 + o.warmup + 120);
        boolean finished = p.waitFor(limit, TimeUnit.SECONDS);
        if (!finished) {
            p.destroyForcibly();
        }
        Map<String, Object> r = lastJson(log);
        if (!finished || r == null || !b.name.equals(r.get("label"))) {
            r = new LinkedHashMap<>();
            r.put("label", b.name);
            r.put("ok", false);
            r.put("error", finished ? "no result line (see " + log + ")" : "timed out after " + limit + " s");
        }
        r.put("round", round);
        r.put("case", c.key());
        r.put("loadavg_1m", loadAverage);
        r.put("broker_restarts", b.restarts);
        Files.writeString(jsonl, Json.write(r) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        results.computeIfAbsent(c.key(), k -> new LinkedHashMap<>()).computeIfAbsent(b.name, k -> new ArrayList<>()).add(r);
        System.out.printf(Locale.ROOT, "round %d  %-60s %-10s %s%n", round + 1, c.key(), b.name, summary(c, r));
        Thread.sleep(300);
    }

    private static String summary(Case c, Map<String, Object> r) {
        if (r.containsKey("error")) {
            return "FAILED: " + r.get("error");
        }
        return switch (c.scenario()) {
            case "idle" -> "heap " + r.get("heap_bytes_per_conn") + " B/conn, RSS " + r.get("rss_bytes_per_conn") + " B/conn";
            case "storm" -> String.format(Locale.ROOT, "%.0f connects/s", num(r, "connects_per_s"));
            case "slow" -> String.format(Locale.ROOT, "isolation %.2f, lost %d", num(r, "isolation_ratio"), (long) num(r, "lost"));
            default -> String.format(Locale.ROOT, "%.0f msg/s, lost %d, p99 %.1f ms", num(r, "msgs_per_s"),
                    (long) num(r, "lost"), num(r, "latency_p99_us") / 1000);
        };
    }

    private static Map<String, Object> lastJson(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        for (int i = lines.size() - 1; i >= 0; i--) {
            String l = lines.get(i).trim();
            if (l.startsWith("{") && l.endsWith("}")) {
                return Json.read(l);
            }
        }
        return null;
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private void startBrokers() throws Exception {
        Path sluiceJar = o.sluiceJar.toAbsolutePath();
        int sTcp = freePort(), sWs = freePort(), sStomp = freePort();
        brokers.add(new Broker(SLUICE, false, true, sTcp, sWs, sStomp, "/mqtt",
                List.of(java(), "-jar", sluiceJar.toString(), "--bind", "127.0.0.1", "--mqtt-port", Integer.toString(sTcp),
                        "--http-port", Integer.toString(sWs), "--stomp-port", Integer.toString(sStomp), "--log-level", "warn",
                        // in memory, like the Mosquitto (persistence false) and Moquette it runs beside
                        "--persistence", "none"),
                work.resolve("sluice.log")));

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

        int cTcp = freePort(), cWs = freePort();
        brokers.add(new Broker(CEILING, true, false, cTcp, cWs, -1, "/mqtt",
                List.of(java(), "-jar", o.benchJar.toAbsolutePath().toString(), "forwarder", "--mqtt-port", Integer.toString(cTcp),
                        "--http-port", Integer.toString(cWs)),
                work.resolve("forwarder.log")));
        for (Broker b : brokers) {
            b.start();
            System.out.println("started " + b.name + " (pid " + b.pid() + ", tcp " + b.tcpPort + ", ws " + b.wsPort + ")");
        }
    }

    // ---------------------------------------------------------------- figures

    private List<Map<String, Object>> runs(String key, String broker) {
        return results.getOrDefault(key, Map.of()).getOrDefault(broker, List.of());
    }

    private double median(String key, String broker, String field) {
        double[] v = runs(key, broker).stream().filter(r -> r.get(field) instanceof Number)
                .mapToDouble(r -> ((Number) r.get(field)).doubleValue()).filter(d -> d >= 0).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** Median over the rounds of the broker's CPU microseconds per delivered message (whole run). */
    private double cpuPerMessage(String key, String broker) {
        double[] v = runs(key, broker).stream()
                .filter(r -> r.get("broker_cpu_s") instanceof Number && r.get("delivered") instanceof Number)
                .mapToDouble(r -> num(r, "delivered") > 0 ? num(r, "broker_cpu_s") * 1e6 / num(r, "delivered") : Double.NaN)
                .filter(d -> !Double.isNaN(d) && d >= 0).sorted().toArray();
        return v.length == 0 ? Double.NaN : v[v.length / 2];
    }

    private double max(String key, String broker, String field) {
        return runs(key, broker).stream().filter(r -> r.get(field) instanceof Number)
                .mapToDouble(r -> ((Number) r.get(field)).doubleValue()).max().orElse(Double.NaN);
    }

    private long failures(String key, String broker) {
        return runs(key, broker).stream().filter(r -> !Boolean.TRUE.equals(r.get("ok"))).count();
    }

    private String bestPeer(String key, String field) {
        String best = null;
        double bestValue = -1;
        for (String peer : List.of(MOSQUITTO, MOQUETTE)) {
            double v = median(key, peer, field);
            if (v > bestValue) {
                bestValue = v;
                best = peer;
            }
        }
        return best;
    }

    private static double num(Map<String, Object> r, String field) {
        Object v = r.get(field);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static String f0(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%,.0f", v);
    }

    private static String f1(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String ratio(double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) || b <= 0 ? "-" : String.format(Locale.ROOT, "%.2fx", a / b);
    }

    private static String pct(double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) || b <= 0 ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * a / b);
    }

    private String report(Instant started) throws IOException, InterruptedException {
        StringBuilder md = new StringBuilder();
        List<Case> cs = cases();
        md.append("# Benchmarks\n\n");
        md.append("<!-- Generated by ").append(o.command).append(" (io.sluice.bench.side.SideBySide); do not edit by hand: run it again. -->\n\n");
        md.append("Sluice against the brokers people would pick instead, measured the same way, on the same machine, in the same run: ")
                .append("Mosquitto (Debian's package, C), Moquette ").append(moquetteVersion()).append(" (JVM, from Maven Central, in its own JVM) ")
                .append("and a raw Netty WebSocket/TCP forwarder with no broker logic (the ceiling). Every scenario ran against each broker in turn, ")
                .append("the order rotating every round, ").append(o.rounds).append(" rounds; figures are medians of the rounds.\n\n");
        md.append("## Machine and command\n\n");
        md.append("- Run: ").append(started.truncatedTo(ChronoUnit.SECONDS)).append(", ").append(o.full ? "full" : "default (short)")
                .append(" mode, ").append(f1(o.warmup)).append(" s warm-up + ").append(f1(o.duration)).append(" s measured per run\n");
        md.append("- CPU: ").append(cpuModel()).append(", ").append(Runtime.getRuntime().availableProcessors()).append(" cores; memory ")
                .append(memTotal()).append("; kernel ").append(exec("uname", "-r")).append("\n");
        double[] la = loadAverages.stream().mapToDouble(Double::doubleValue).filter(d -> !Double.isNaN(d)).sorted().toArray();
        if (la.length > 0) {
            md.append("- Load average (1 min) before each load: min ").append(String.format(Locale.ROOT, "%.1f", la[0]))
                    .append(", median ").append(String.format(Locale.ROOT, "%.1f", la[la.length / 2])).append(", max ")
                    .append(String.format(Locale.ROOT, "%.1f", la[la.length - 1]))
                    .append(la[la.length / 2] > Runtime.getRuntime().availableProcessors()
                            ? " (**other work was running on the machine: the figures are noisy; ratios from one run, side by side, are still comparable**)" : "")
                    .append("\n");
        }
        md.append("- Java: ").append(System.getProperty("java.vm.name")).append(" ").append(System.getProperty("java.version"))
                .append(" (Sluice, Moquette, the forwarder and the load generator, each with JVM defaults; the generator -Xmx1g)\n");
        md.append("- Mosquitto: ").append(exec("mosquitto", "-h").lines().filter(l -> l.startsWith("mosquitto version")).findFirst().orElse("?"))
                .append(" (config: a TCP and a websockets listener on 127.0.0.1, `set_tcp_nodelay true`, otherwise defaults)\n");
        md.append("- Load: `java -jar benchmarks/target/benchmarks.jar load` (one Netty event-loop thread, pooled buffers, MQTT 3.1.1, ")
                .append("64-byte payloads unless stated; each publisher keeps at most 100 messages on their way end to end and, at QoS 1, 64 unacknowledged)\n\n");
        md.append("    ").append(o.command).append(o.full ? " --full" : "").append("\n\n");

        md.append("## Throughput (delivered messages per second, medians)\n\n");
        md.append("| load | Sluice | Mosquitto | Moquette | raw Netty | Sluice / best peer | Sluice / raw Netty | lost (S / Mq / Mo) | p99 ms (S / Mq / Mo) | broker CPU µs per delivered msg (S / Mq / Mo / raw) |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---|---|---|\n");
        List<String> targetNotes = new ArrayList<>();
        for (Case c : cs) {
            if (List.of("idle", "storm", "slow").contains(c.scenario())) {
                continue;
            }
            String k = c.key();
            double s = median(k, SLUICE, "msgs_per_s");
            double mq = median(k, MOSQUITTO, "msgs_per_s");
            double mo = median(k, MOQUETTE, "msgs_per_s");
            double ce = median(k, CEILING, "msgs_per_s");
            double best = Double.isNaN(mq) ? mo : Double.isNaN(mo) ? mq : Math.max(mq, mo);
            md.append("| ").append(k).append(failNote(k)).append(" | ").append(f0(s)).append(" | ").append(f0(mq)).append(" | ").append(f0(mo))
                    .append(" | ").append(f0(ce)).append(" | ").append(ratio(s, best)).append(" | ").append(pct(s, ce)).append(" | ")
                    .append(f0(max(k, SLUICE, "lost"))).append(" / ").append(f0(max(k, MOSQUITTO, "lost"))).append(" / ").append(f0(max(k, MOQUETTE, "lost")))
                    .append(" | ").append(f1(median(k, SLUICE, "latency_p99_us") / 1000)).append(" / ").append(f1(median(k, MOSQUITTO, "latency_p99_us") / 1000))
                    .append(" / ").append(f1(median(k, MOQUETTE, "latency_p99_us") / 1000))
                    .append(" | ").append(f1(cpuPerMessage(k, SLUICE))).append(" / ").append(f1(cpuPerMessage(k, MOSQUITTO)))
                    .append(" / ").append(f1(cpuPerMessage(k, MOQUETTE))).append(" / ").append(f1(cpuPerMessage(k, CEILING))).append(" |\n");
            if (c.transport().equals("ws") && c.payload() == 64 && c.protocol().equals("mqtt") && !Double.isNaN(s)) {
                boolean peerOk = !Double.isNaN(best) && s >= 1.5 * best;
                boolean ceilOk = !Double.isNaN(ce) && s >= 0.7 * ce;
                targetNotes.add("- " + k + ": " + ratio(s, best) + " the best peer (target 1.5x: " + (peerOk ? "met" : "**not met**")
                        + "), " + pct(s, ce) + " of the ceiling (target 70%: " + (ceilOk ? "met" : "**not met**") + ")");
            }
        }
        md.append("\n\"lost\" is the largest count over the rounds (QoS 1 must be 0); lost QoS 0 messages are ones a broker dropped. ")
                .append("CPU per message is the broker process's user+system CPU over the whole load (connect, warm-up, measurement, drain) ")
                .append("divided by the messages it delivered: it depends far less than throughput on what else the machine is doing.\n\n");

        if (!latencyCases.isEmpty()) {
            md.append("## Latency at half the best peer's peak rate (open loop, --rate)\n\n");
            md.append("| load | Sluice p50 / p99 / p99.9 ms | peer p50 / p99 / p99.9 ms | Sluice p99 / peer p99 |\n|---|---|---|---:|\n");
            for (Case c : latencyCases) {
                String k = c.key();
                String peer = k.contains(MOSQUITTO) ? MOSQUITTO : MOQUETTE;
                double sp99 = median(k, SLUICE, "latency_p99_us");
                double pp99 = median(k, peer, "latency_p99_us");
                md.append("| ").append(k).append(failNote(k)).append(" | ").append(f1(median(k, SLUICE, "latency_p50_us") / 1000)).append(" / ")
                        .append(f1(sp99 / 1000)).append(" / ").append(f1(median(k, SLUICE, "latency_p999_us") / 1000)).append(" | ")
                        .append(peer).append(": ").append(f1(median(k, peer, "latency_p50_us") / 1000)).append(" / ").append(f1(pp99 / 1000))
                        .append(" / ").append(f1(median(k, peer, "latency_p999_us") / 1000)).append(" | ").append(ratio(sp99, pp99)).append(" |\n");
                targetNotes.add("- " + k + ": Sluice p99 " + ratio(sp99, pp99) + " the peer's (target: no worse, <= 1.00x: "
                        + (sp99 <= pp99 ? "met" : "**not met**") + ")");
            }
            md.append("\n");
        }

        for (Case c : cs) {
            String k = c.key();
            switch (c.scenario()) {
                case "slow" -> {
                    md.append("## Slow consumer: ").append(k).append("\n\n");
                    md.append("Fast pairs on their own topics, alone and then with one QoS 1 subscriber on another topic acknowledging 20 messages a second ")
                            .append("(its publisher sends as fast as the broker lets it). Isolation = fast pairs' rate with the slow one / alone.\n\n");
                    md.append("| broker | fast alone msg/s | fast with slow msg/s | isolation | slow publisher's rate msg/s | lost (all) | slow subscriber lost | peak RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
                    for (String b : List.of(SLUICE, MOSQUITTO, MOQUETTE)) {
                        md.append("| ").append(b).append(failNote(k, b)).append(" | ").append(f0(median(k, b, "fast_msgs_per_s_alone"))).append(" | ")
                                .append(f0(median(k, b, "fast_msgs_per_s_with_slow"))).append(" | ")
                                .append(String.format(Locale.ROOT, "%.2f", median(k, b, "isolation_ratio"))).append(" | ")
                                .append(f0(median(k, b, "slow_sent_per_s"))).append(" | ").append(f0(max(k, b, "lost"))).append(" | ")
                                .append(f0(max(k, b, "slow_lost"))).append(" | ").append(f0(median(k, b, "broker_peak_rss_kb") / 1024)).append(" |\n");
                    }
                    md.append("\n");
                }
                case "idle" -> {
                    md.append("## Memory per idle connection: ").append(k).append("\n\n");
                    md.append("MQTT clients connected over WebSocket doing nothing but keep-alive. Heap: the JVM's heap in use after a full GC ")
                            .append("(jcmd GC.run, GC.heap_info) after minus before, per connection; RSS: resident memory after minus before ")
                            .append("(the only figure for Mosquitto; a JVM's RSS also holds heap it reserved and has not returned).\n\n");
                    md.append("| broker | heap B/conn | RSS B/conn | connected | still open at the end |\n|---|---:|---:|---:|---:|\n");
                    for (String b : List.of(SLUICE, MOSQUITTO, MOQUETTE)) {
                        md.append("| ").append(b).append(failNote(k, b)).append(" | ").append(f0(median(k, b, "heap_bytes_per_conn"))).append(" | ")
                                .append(f0(median(k, b, "rss_bytes_per_conn"))).append(" | ").append(f0(median(k, b, "connected")))
                                .append(" | ").append(f0(median(k, b, "still_open"))).append(" |\n");
                    }
                    double heap = median(k, SLUICE, "heap_bytes_per_conn");
                    targetNotes.add("- idle WebSocket connection: Sluice " + f0(heap) + " B of heap each (target < 10 KiB: "
                            + (heap < 10 * 1024 ? "met" : "**not met**") + ")");
                    md.append("\n");
                }
                case "storm" -> {
                    md.append("## Reconnect storm: ").append(k).append("\n\n");
                    md.append("| broker | connects/s | connect p50 ms | connect p99 ms | failed attempts |\n|---|---:|---:|---:|---:|\n");
                    for (String b : List.of(SLUICE, MOSQUITTO, MOQUETTE)) {
                        md.append("| ").append(b).append(failNote(k, b)).append(" | ").append(f0(median(k, b, "connects_per_s"))).append(" | ")
                                .append(f1(median(k, b, "connect_p50_us") / 1000)).append(" | ").append(f1(median(k, b, "connect_p99_us") / 1000))
                                .append(" | ").append(f0(median(k, b, "failures"))).append(" |\n");
                    }
                    md.append("\n");
                }
                default -> {
                }
            }
        }
        for (Broker b : brokers) {
            restarts.merge(b.name, b.restarts, Math::max);
        }
        restarts.forEach((name, n) -> {
            if (n > 0) {
                md.append("- ").append(name).append(" exited during the run and was started again ").append(n)
                        .append(" time(s); the load running at the time shows as failed.\n");
            }
        });
        md.append("\n## Against the targets\n\n");
        targetNotes.forEach(t -> md.append(t).append('\n'));
        md.append("\n");
        if (Files.exists(o.analysis)) {
            md.append(Files.readString(o.analysis).trim()).append("\n\n");
        }
        md.append("## Reproduce\n\n");
        md.append("    benchmarks/run-side-by-side.sh            # default: a few minutes; --full: TCP too, STOMP, 4 KiB, storm, 10,000 idle\n");
        md.append("    java -jar benchmarks/target/benchmarks.jar side-by-side --from-results benchmarks/target/side-by-side/results.jsonl \\\n")
                .append("        --moquette-classpath benchmarks/target/moquette.classpath   # this page again from a run's results\n");
        md.append("    java -jar benchmarks/target/benchmarks.jar load --help          # the load generator alone\n");
        md.append("    java -jar benchmarks/target/benchmarks.jar -prof gc             # JMH: trie, cache, churn, MQTT/STOMP/WebSocket codecs\n");
        md.append("    java -jar benchmarks/target/benchmarks.jar -f 1 -wi 1 -i 1 -r 1s -w 1s   # JMH smoke run\n\n");
        md.append("Raw results of this run, one JSON object per load: benchmarks/target/side-by-side/results.jsonl.\n");
        return md.toString();
    }

    private String failNote(String key) {
        StringBuilder sb = new StringBuilder();
        for (String b : List.of(SLUICE, MOSQUITTO, MOQUETTE, CEILING)) {
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
