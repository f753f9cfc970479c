package io.sluice.bench.store;

import io.sluice.bench.load.Json;
import io.sluice.server.broker.Delivery;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.SubscriptionOptions;
import io.sluice.server.store.RocksMessageStore;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What persistence costs, on this machine, in one run: QoS 1 persistent-session throughput of Sluice with
 * {@code --persistence none}, {@code rocksdb --fsync never} (on a new store, and on one an HTTP fallback reader used
 * before, whose history it then also writes) and {@code rocksdb --fsync batch}, and of Mosquitto with {@code persistence false} and
 * {@code persistence true} and of HiveMQ CE with its default file persistence (in its own JVM, through
 * {@code side.HiveMqPeer}, when {@code benchmarks/run-side-by-side.sh --dry-run} has resolved its classpath) on
 * the same load, alternated round by round so a busy machine weighs on each the same
 * (medians of the rounds, ratios to Sluice's {@code none}); bytes the broker process wrote to disk per delivered
 * message ({@code /proc/PID/io}); and the time a broker takes to read back a store holding many queued and
 * retained messages (written beforehand through the store's own API, the same calls a running broker makes).
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar persistence [--rounds 3] [--duration 8] [--warmup 10] [--clients 4]
 *      [--queued 1000000] [--retained 100000] [--no-recovery] [--sluice-jar server/target/sluice.jar]
 *      [--mode 'NAME|JAR|FLAG FLAG...' (another Sluice configuration or build, repeatable)]
 *      [--bench-jar benchmarks/target/benchmarks.jar] [--work target/persistence-bench] [--doc docs/benchmarks.md]
 *      [--no-mosquitto] [--hivemq-classpath benchmarks/target/hivemq.classpath] [--no-hivemq]</pre>
 * It prints the raw figures and writes its section of docs/benchmarks.md ("Persistence").
 */
public final class PersistenceBenchmark {
    private static final Pattern RECOVERED = Pattern.compile("recovered in (\\d+) ms");
    /** Its section of docs/benchmarks.md, which the side-by-side report keeps when it rewrites the file. */
    public static final String HEADING = "## Persistence";

    private int rounds = 3;
    private double duration = 8;
    /**
     * The warm-up run before the measured one, on the same broker: a fresh JVM compiles its hot paths for its first
     * seconds under load (C2 spent 4 to 13 µs per message of a 5 s run after a 3 s warm-up), for every mode alike.
     */
    private double warmup = 10;
    private boolean recovery = true;
    private final List<Mode> extraModes = new ArrayList<>();
    private int clients = 4;
    private int queued = 1_000_000;
    private int retained = 100_000;
    private Path sluiceJar = Path.of("server/target/sluice.jar");
    private Path benchJar = Path.of("benchmarks/target/benchmarks.jar");
    private Path work = Path.of("target/persistence-bench");
    private Path doc = Path.of("docs/benchmarks.md");
    private boolean mosquitto = true;
    private Path hivemqClasspath = Path.of("benchmarks/target/hivemq.classpath");
    private boolean hivemq = true;

    public static void main(String[] args) throws Exception {
        PersistenceBenchmark b = new PersistenceBenchmark();
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--rounds" -> b.rounds = Integer.parseInt(v);
                case "--duration" -> b.duration = Double.parseDouble(v);
                case "--warmup" -> b.warmup = Double.parseDouble(v);
                case "--no-recovery" -> {
                    b.recovery = false;
                    i--;
                }
                case "--mode" -> {
                    String[] parts = v.split("\\|", 3);
                    b.extraModes.add(new Mode(parts[0], "sluice", Path.of(parts[1]),
                            parts.length < 3 || parts[2].isBlank() ? new String[0] : parts[2].trim().split("\\s+")));
                }
                case "--clients" -> b.clients = Integer.parseInt(v);
                case "--queued" -> b.queued = Integer.parseInt(v);
                case "--retained" -> b.retained = Integer.parseInt(v);
                case "--sluice-jar" -> b.sluiceJar = Path.of(v);
                case "--bench-jar" -> b.benchJar = Path.of(v);
                case "--work" -> b.work = Path.of(v);
                case "--doc" -> b.doc = Path.of(v);
                case "--no-mosquitto" -> {
                    b.mosquitto = false;
                    i--;
                }
                case "--hivemq-classpath" -> b.hivemqClasspath = Path.of(v);
                case "--no-hivemq" -> {
                    b.hivemq = false;
                    i--;
                }
                default -> throw new IllegalArgumentException("unknown flag " + args[i]
                        + " (see the class comment of io.sluice.bench.store.PersistenceBenchmark)");
            }
            i++;
        }
        b.run(String.join(" ", args));
    }

    /**
     * A broker configuration: Sluice with {@code flags}, Mosquitto with these lines in its configuration, or HiveMQ
     * CE with these {@code HiveMqPeer} flags.
     */
    private record Mode(String name, String broker, Path jar, String... flags) {
        static Mode sluice(String name, String... flags) {
            return new Mode(name, "sluice", null, flags);
        }

        static Mode mosquitto(String name, String... confLines) {
            return new Mode(name, "mosquitto", null, confLines);
        }

        static Mode hivemq(String name, String... flags) {
            return new Mode(name, "hivemq", null, flags);
        }
    }

    /** {@code cpuMicrosPerMsg}: the broker process's CPU time (user and system, all threads) per delivered message. */
    /**
     * The same broker on a store an SSE or long-poll reader has used before: its history (on by default,
     * {@code --history-filters #}) is written through from the first message, an entry per QoS 1 message.
     */
    private static final String HISTORY_READ = "Sluice, rocksdb, fsync never, history written (a reader came before)";

    /** {@code brokerDropped}: what the broker itself counted as dropped in the run (HiveMQ CE), null when it says nothing. */
    private record Result(double msgsPerSec, double p99Ms, double bytesPerMsg, long lost, double cpuMicrosPerMsg,
                          String brokerDropped) {
    }

    private void run(String argLine) throws Exception {
        Files.createDirectories(work);
        List<Mode> modes = new ArrayList<>(List.of(Mode.sluice("Sluice, none", "--persistence", "none"),
                Mode.sluice("Sluice, rocksdb, fsync never", "--persistence", "rocksdb", "--fsync", "never"),
                Mode.sluice(HISTORY_READ, "--persistence", "rocksdb", "--fsync", "never"),
                Mode.sluice("Sluice, rocksdb, fsync batch", "--persistence", "rocksdb", "--fsync", "batch")));
        modes.addAll(extraModes);
        if (mosquitto) {
            modes.add(Mode.mosquitto("Mosquitto, persistence false", "persistence false"));
            // Debian's defaults otherwise: the in-memory state is saved every autosave_interval (1800 s) and at exit
            modes.add(Mode.mosquitto("Mosquitto, persistence true", "persistence true"));
        }
        boolean withHivemq = hivemq && Files.exists(hivemqClasspath);
        if (hivemq && !withHivemq) {
            System.out.println("HiveMQ CE left out: no " + hivemqClasspath + " (benchmarks/run-side-by-side.sh --dry-run "
                    + "resolves it)");
        }
        if (withHivemq) {
            modes.add(Mode.hivemq("HiveMQ CE, file persistence", "--persistence", "file"));
        }
        Map<String, List<Result>> results = new java.util.LinkedHashMap<>();
        for (int r = 0; r < rounds; r++) {
            for (Mode m : modes) {
                Result res = throughput(m, r);
                results.computeIfAbsent(m.name(), k -> new ArrayList<>()).add(res);
                System.out.printf(Locale.ROOT, "round %d %-22s %,10.0f msg/s  p99 %6.1f ms  %,8.0f B/msg written  "
                        + "%5.1f CPU-us/msg  lost %d%s%n", r + 1, m.name(), res.msgsPerSec(), res.p99Ms(), res.bytesPerMsg(),
                        res.cpuMicrosPerMsg(), res.lost(),
                        res.brokerDropped() == null ? "" : " (the broker's own count of dropped: " + res.brokerDropped() + ")");
            }
        }
        long[] recovery = this.recovery ? recovery() : null;

        StringBuilder md = new StringBuilder();
        md.append(HEADING).append("\n\n");
        md.append("<!-- Generated by `java -jar benchmarks/target/benchmarks.jar persistence ").append(argLine)
                .append("` (io.sluice.bench.store.PersistenceBenchmark); run it again to update. -->\n\n");
        md.append(String.format(Locale.ROOT, "QoS 1 to persistent sessions (MQTT 3.1.1 clean session 0), %d publisher/subscriber "
                + "pairs over TCP, 64-byte payloads, %.0f s measured after %.0f s of warm-up load on the same connections (a fresh "
                + "JVM compiles its hot paths for its first seconds under load; new connections for the measured part "
                + "would recompile the connect paths in it), the modes "
                + "alternated for %d rounds in one run (medians). Bytes written: what the broker process wrote to disk during the measured part (`/proc/PID/io` "
                + "write_bytes: write-ahead log, memtable flushes and compactions) per message delivered in it; CPU: the broker "
                + "process's CPU time in it (user and system, every thread: `/proc/PID/stat`) per message delivered in it, which other "
                + "work on the machine moves far less than the rate. Sluice writes every "
                + "message it acknowledges before the PUBACK, unless its subscriber acknowledged it first (and, with the "
                + "HTTP fallback's history on, as it is by default with `--history-filters #`, a history entry too once an "
                + "SSE or long-poll reader has been given a position of the store's history: none is here, but the store of "
                + "the \"history written\" row was used by one before); %s",
                clients, duration, warmup, rounds, mosquitto ? "Mosquitto " + mosquittoVersion() + " with `persistence true` keeps "
                        + "its state in memory and writes all of it to `mosquitto.db` every `autosave_interval` (1800 s by "
                        + "default) and at exit: a kill -9 or a crash loses what came since the last save, acknowledged or not."
                        : "Mosquitto was not run.") + (withHivemq ? " HiveMQ CE " + hivemqVersion() + " runs embedded in its "
                        + "own JVM (JVM defaults, like Sluice) with its default file persistence (`<persistence><mode>file"
                        + "</mode>`: sessions and queued messages in its data folder)." : " HiveMQ CE was not run."));
        md.append("\n\n");
        md.append("| broker, mode | delivered msg/s | share of Sluice `none` | p99 ms | bytes written per message | CPU µs per message | lost |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|\n");
        double base = median(results.get("Sluice, none"), Result::msgsPerSec);
        for (Map.Entry<String, List<Result>> e : results.entrySet()) {
            double rate = median(e.getValue(), Result::msgsPerSec);
            String dropped = e.getValue().stream().map(Result::brokerDropped).filter(java.util.Objects::nonNull)
                    .collect(java.util.stream.Collectors.joining("; "));
            md.append(String.format(Locale.ROOT, "| %s | %,.0f | %.0f%% | %.1f | %,.0f | %.1f | %d%s |%n", e.getKey(), rate,
                    100 * rate / base, median(e.getValue(), Result::p99Ms), median(e.getValue(), Result::bytesPerMsg),
                    median(e.getValue(), Result::cpuMicrosPerMsg),
                    e.getValue().stream().mapToLong(Result::lost).max().orElse(0),
                    dropped.isEmpty() ? "" : " (dropped by its own count, per round: " + dropped + ")"));
        }
        md.append("\nLost: messages the broker acknowledged to their publisher (PUBACK) that never reached the subscriber "
                + "by the end of the run and its drain (the load generator's count, from the sequence numbers it sent and "
                + "received); the largest of the rounds.");
        if (withHivemq) {
            md.append(" For HiveMQ CE, its own dropped-message counters (`com.hivemq.messages.dropped.count`, then each "
                    + "non-zero reason), read as it stopped, stand beside it: lost messages it counted itself it "
                    + "dropped after acknowledging them (its default `<queued-messages>` bound is `max-queue-size` 1000 per "
                    + "client, strategy `discard`); lost ones beyond its count are either a loss it does not count or "
                    + "messages still on their way after the 10 s drain (the generator cannot tell these two apart).");
        }
        md.append('\n');
        md.append("\nEach round, delivered msg/s (share of Sluice `none` in the same round):\n\n");
        for (int r = 0; r < rounds; r++) {
            double none = results.get("Sluice, none").get(r).msgsPerSec();
            StringBuilder line = new StringBuilder("- round " + (r + 1) + ":");
            for (Map.Entry<String, List<Result>> e : results.entrySet()) {
                double v = e.getValue().get(r).msgsPerSec();
                line.append(String.format(Locale.ROOT, " %s %,.0f (%.0f%%);", e.getKey(), v, 100 * v / none));
            }
            md.append(line.substring(0, line.length() - 1)).append('\n');
        }
        md.append(String.format(Locale.ROOT, "%nLoad average (1 min) at the end: %s, on %d cores: other work shares the "
                + "machine, so compare within a round.%n", loadAverage(), Runtime.getRuntime().availableProcessors()));
        if (recovery != null) {
            md.append(String.format(Locale.ROOT, "%nRecovery: a store holding %,d queued QoS 1 deliveries (100 persistent "
                + "sessions, 64-byte payloads) and %,d retained messages; the broker read it back in %,d ms (its own "
                + "log line) and was ready for clients %,d ms after its process started.%n", queued, retained,
                recovery[0], recovery[1]));
        }
        System.out.println();
        System.out.println(md);
        Files.writeString(work.resolve("persistence.md"), md.toString());
        if (Files.exists(doc)) {
            io.sluice.bench.DocSections.replace(doc, HEADING, md.toString());
            System.out.println("written to " + doc);
        }
    }

    private static String mosquittoVersion() {
        try {
            Process p = new ProcessBuilder("mosquitto", "-h").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(5, TimeUnit.SECONDS);
            return out.lines().filter(l -> l.startsWith("mosquitto version")).map(l -> l.substring(18).trim())
                    .findFirst().orElse("?");
        } catch (IOException | InterruptedException e) {
            return "?";
        }
    }

    private String hivemqVersion() {
        try {
            for (String entry : Files.readString(hivemqClasspath).trim().split(":")) {
                Matcher m = Pattern.compile("hivemq-community-edition-embedded-([^/]+)\\.jar$").matcher(entry);
                if (m.find()) {
                    return m.group(1);
                }
            }
        } catch (IOException e) {
            // fall through
        }
        return "?";
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    private static double median(List<Result> rs, java.util.function.ToDoubleFunction<Result> f) {
        double[] v = rs.stream().mapToDouble(f).sorted().toArray();
        return v.length == 0 ? 0 : v[v.length / 2];
    }

    private Result throughput(Mode mode, int round) throws Exception {
        Path data = work.resolve("data-" + round + "-" + mode.name().replaceAll("\\W+", "-"));
        deleteRecursively(data);
        if (mode.name().equals(HISTORY_READ)) {
            try (RocksMessageStore store = RocksMessageStore.open(data, false)) {
                store.historyRead(); // what the first reader's start tells the store
                awaitWrites(store);
            }
        }
        int port = freePort();
        Result result;
        try (Running broker = switch (mode.broker()) {
            case "mosquitto" -> Running.mosquitto(port, data, work.resolve("mosquitto.log"), mode.flags());
            case "hivemq" -> Running.hivemq(hivemqClasspath, port, data, work.resolve("hivemq.log"), mode.flags());
            default -> Running.start(mode.jar() == null ? sluiceJar : mode.jar(), port, data, work.resolve("sluice.log"),
                    mode.flags());
        }) {
            // a fresh JVM is far from its compiled speed: the connections load it for the warm-up first, then the
            // measured window on the same connections (new ones would make the JIT recompile the connect paths in it)
            Map<String, Object> j = load(port, mode, broker.pid());
            double delivered = ((Number) j.get("delivered_in_window")).doubleValue();
            double written = ((Number) j.get("broker_window_write_bytes")).doubleValue();
            double cpu = ((Number) j.get("broker_window_cpu_s")).doubleValue();
            result = new Result(((Number) j.get("msgs_per_s")).doubleValue(),
                    ((Number) j.get("latency_p99_us")).doubleValue() / 1000, delivered == 0 ? 0 : written / delivered,
                    ((Number) j.get("lost")).longValue(), delivered == 0 ? 0 : cpu * 1e6 / delivered, null);
        }
        if (mode.broker().equals("hivemq")) {
            // stopped now: its peer printed HiveMQ's own dropped-message counters as it stopped (the log's last such line)
            String dropped = Files.readAllLines(work.resolve("hivemq.log")).stream()
                    .filter(l -> l.startsWith(io.sluice.bench.side.HiveMqPeer.DROPPED))
                    .reduce((a, b) -> b).map(l -> l.substring(io.sluice.bench.side.HiveMqPeer.DROPPED.length()).trim())
                    .orElse(null);
            result = new Result(result.msgsPerSec(), result.p99Ms(), result.bytesPerMsg(), result.lost(),
                    result.cpuMicrosPerMsg(), dropped);
        }
        return result;
    }

    /** One run of the load generator: QoS 1 pairs on persistent sessions; its JSON figures. */
    private Map<String, Object> load(int port, Mode mode, long brokerPid) throws Exception {
        {
            Process load = new ProcessBuilder(java(), "-Xmx1g", "-jar", benchJar.toString(), "load", "--scenario", "p2p",
                    "--transport", "tcp", "--port", Integer.toString(port), "--qos", "1", "--clean-session", "false",
                    "--clients", Integer.toString(clients), "--duration", Double.toString(duration), "--warmup",
                    Double.toString(warmup), "--broker-pid", Long.toString(brokerPid), "--label", mode.name()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String last = null;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(load.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l = r.readLine(); l != null; l = r.readLine()) {
                    last = l;
                }
            }
            if (!load.waitFor(10, TimeUnit.MINUTES) || last == null) {
                throw new IllegalStateException("load generator failed for " + mode.name());
            }
            return Json.read(last);
        }
    }

    /** Fill a store through its API, then time a broker's start on it: {recovery ms, start-to-ready ms}. */
    private long[] recovery() throws Exception {
        Path data = work.resolve("data-recovery");
        deleteRecursively(data);
        System.out.printf("writing %,d queued and %,d retained messages to %s%n", queued, retained, data);
        int sessions = 100;
        try (RocksMessageStore store = RocksMessageStore.open(data, false)) {
            byte[] payload = new byte[64];
            for (int s = 0; s < sessions; s++) {
                store.putSession("recovery-" + s, Long.MAX_VALUE, System.currentTimeMillis());
                store.putSubscription("recovery-" + s, "rq/" + s + "/#", null, SubscriptionOptions.ofQos(1));
            }
            for (int i = 0; i < queued; i++) {
                int s = i % sessions;
                Message m = Message.builder("rq/" + s + "/" + i).payload(payload).qos(1).build();
                store.putQueued("recovery-" + s, i / sessions + 1, new Delivery(m, 1, false, new int[0], null));
                if (i % 100_000 == 0) {
                    awaitWrites(store); // bounded memory while filling
                }
            }
            for (int i = 0; i < retained; i++) {
                store.putRetained(Message.builder("rt/" + (i % 100) + "/" + i).payload(payload).qos(1).retain(true)
                        .build(), null);
            }
            awaitWrites(store);
        }
        int port = freePort();
        long start = System.nanoTime();
        Path log = work.resolve("sluice-recovery.log");
        Files.deleteIfExists(log);
        try (Running broker = Running.start(sluiceJar, port, data, log, "--log-level", "info",
                "--max-queued-messages", Integer.toString(queued / sessions + 1))) {
            long ready = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            Matcher m = RECOVERED.matcher(Files.readString(log));
            long recovered = m.find() ? Long.parseLong(m.group(1)) : -1;
            return new long[] {recovered, ready};
        }
    }

    private static void awaitWrites(RocksMessageStore store) throws Exception {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        store.afterWrites(done::complete);
        if (!done.get(5, TimeUnit.MINUTES)) {
            throw new IllegalStateException("store write failed");
        }
    }

    /** A Sluice process on loopback, MQTT over TCP only; closing it sends SIGTERM. */
    private static final class Running implements AutoCloseable {
        private final Process process;

        private Running(Process process) {
            this.process = process;
        }

        static Running start(Path jar, int port, Path data, Path log, String... flags) throws Exception {
            List<String> cmd = new ArrayList<>(List.of(java(), "-jar", jar.toString(), "--bind", "127.0.0.1",
                    "--mqtt-port", Integer.toString(port), "--http-port", "-1", "--stomp-port", "-1",
                    "--sys-interval", "0", "--log-level", "warn", "--data-dir", data.toString()));
            cmd.addAll(List.of(flags));
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            if (line == null || !line.startsWith("Sluice ready")) {
                p.destroyForcibly();
                throw new IllegalStateException("Sluice did not start: " + line + " (see " + log + ")");
            }
            return new Running(p);
        }

        /** Mosquitto on loopback with these configuration lines, its database in {@code data}; ready once it accepts. */
        static Running mosquitto(int port, Path data, Path log, String... confLines) throws Exception {
            Files.createDirectories(data);
            Path conf = data.resolve("mosquitto.conf");
            List<String> lines = new ArrayList<>(List.of("listener " + port + " 127.0.0.1", "allow_anonymous true",
                    "persistence_location " + data.toAbsolutePath() + "/", "set_tcp_nodelay true", "log_dest stderr",
                    "log_type error", "log_type warning"));
            lines.addAll(List.of(confLines));
            Files.writeString(conf, String.join("\n", lines) + "\n");
            Process p = new ProcessBuilder("mosquitto", "-c", conf.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (true) {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                    return new Running(p);
                } catch (IOException notYet) {
                    if (!p.isAlive() || System.nanoTime() > deadline) {
                        p.destroyForcibly();
                        throw new IllegalStateException("Mosquitto did not start (see " + log + ")");
                    }
                    Thread.sleep(20);
                }
            }
        }

        /** HiveMQ CE through {@code side.HiveMqPeer} in its own JVM, its home in {@code data}; ready once it accepts. */
        static Running hivemq(Path classpath, int port, Path data, Path log, String... flags) throws Exception {
            Files.createDirectories(data);
            // HiveMQ's own classpath (its own Netty) and the peer's class, never the benchmarks' fat jar
            String cp = Files.readString(classpath).trim() + ":" + Path.of("benchmarks/target/classes").toAbsolutePath();
            List<String> cmd = new ArrayList<>(List.of(java(), "-cp", cp, "io.sluice.bench.side.HiveMqPeer",
                    "--tcp-port", Integer.toString(port), "--ws-port", Integer.toString(freePort()),
                    "--home", data.toAbsolutePath().toString()));
            cmd.addAll(List.of(flags));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            awaitPort(p, port, 60, "HiveMQ CE", log);
            return new Running(p);
        }

        private static void awaitPort(Process p, int port, int seconds, String what, Path log) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (true) {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                    return;
                } catch (IOException notYet) {
                    if (!p.isAlive() || System.nanoTime() > deadline) {
                        p.destroyForcibly();
                        throw new IllegalStateException(what + " did not start (see " + log + ")");
                    }
                    Thread.sleep(50);
                }
            }
        }

        long pid() {
            return process.pid();
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
