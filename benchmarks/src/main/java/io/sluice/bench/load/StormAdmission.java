package io.sluice.bench.load;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How Sluice admits a reconnect storm ({@code java -jar benchmarks.jar storm-admission}): the same MQTT storm
 * ({@link Storm}: N clients connecting, staying 20 to 120 ms, reconnecting, backing off with jitter when refused)
 * against a fresh broker process per run, in rounds that interleave the configurations so a shared machine's
 * drift hits them alike:
 * <ul>
 *   <li><b>defaults</b>: adaptive admission (handshakes bounded by {@code --max-pending-handshakes}, refused
 *       only past {@code --overload-lag});</li>
 *   <li><b>no admission control</b>: {@code --connect-rate 0 --overload-lag 0}, handshakes unbounded;</li>
 *   <li><b>fixed 1,000/s</b>: {@code --connect-rate 1000 --connect-burst 2000}, the former default.</li>
 * </ul>
 * Then an overload: a broker held to one I/O thread under a storm far past what it serves, with bystander
 * clients connected before it measuring their round trips, defaults against no admission control.
 * Prints one markdown section (ratios within each round) and writes every run's JSON to {@code --out}.
 * Bounded: every run lasts {@code --duration} seconds plus a settle of at most 15 s.
 */
public final class StormAdmission {
    private static final Pattern READY = Pattern.compile("Sluice ready: mqtt=127\\.0\\.0\\.1:(\\d+).*");

    private record Config(String name, List<String> flags) {
    }

    private static final Config DEFAULTS = new Config("defaults", List.of());
    private static final Config UNLIMITED = new Config("no admission control",
            List.of("--connect-rate", "0", "--overload-lag", "0", "--max-pending-handshakes", "2147483647"));
    private static final Config FIXED = new Config("fixed 1,000/s",
            List.of("--connect-rate", "1000", "--connect-burst", "2000", "--overload-lag", "0",
                    "--max-pending-handshakes", "2147483647"));

    private final Path sluiceJar;
    private final Path work;
    private final List<Map<String, Object>> all = new ArrayList<>();

    private StormAdmission(Path sluiceJar, Path work) {
        this.sluiceJar = sluiceJar;
        this.work = work;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new LinkedHashMap<>(Map.of("rounds", "2", "clients", "10000", "duration", "10",
                "overload-clients", "10000", "overload-io-threads", "1", "bystanders", "20", "stay-duration", "60",
                "sluice-jar", "server/target/sluice.jar", "out", "benchmarks/target/storm-admission.jsonl"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--") || !o.containsKey(args[i].substring(2))) {
                System.err.println("flags: " + String.join(", ", o.keySet().stream().map(k -> "--" + k + " (" + o.get(k) + ")").toList()));
                System.exit(2);
            }
            o.put(args[i].substring(2), args[i + 1]);
        }
        Path out = Path.of(o.get("out"));
        Files.createDirectories(out.toAbsolutePath().getParent());
        StormAdmission s = new StormAdmission(Path.of(o.get("sluice-jar")), out.toAbsolutePath().getParent());
        int rounds = Integer.parseInt(o.get("rounds"));
        String clients = o.get("clients");
        String duration = o.get("duration");
        List<Map<Config, Map<String, Object>>> storms = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            Map<Config, Map<String, Object>> round = new LinkedHashMap<>();
            for (Config c : List.of(DEFAULTS, UNLIMITED, FIXED)) {
                round.put(c, s.run("storm r" + r + " " + c.name(), c, List.of(), List.of("--clients", clients,
                        "--duration", o.get("stay-duration"), "--stay", "true")));
            }
            storms.add(round);
        }
        List<Map<Config, Map<String, Object>>> overloads = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            Map<Config, Map<String, Object>> round = new LinkedHashMap<>();
            for (Config c : List.of(DEFAULTS, UNLIMITED)) {
                round.put(c, s.run("overload r" + r + " " + c.name(), c,
                        List.of("--io-threads", o.get("overload-io-threads")),
                        List.of("--clients", o.get("overload-clients"), "--duration", duration,
                                "--bystanders", o.get("bystanders"))));
            }
            overloads.add(round);
        }
        Files.write(out, s.all.stream().map(Json::write).toList(), StandardCharsets.UTF_8);
        System.out.println(report(o, storms, overloads));
    }

    /** One broker process with {@code brokerFlags}, one storm against it, the figures. */
    private Map<String, Object> run(String label, Config config, List<String> brokerFlags, List<String> loadFlags)
            throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", sluiceJar.toString(), "--bind", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0",
                "--stomp-port", "-1", "--sys-interval", "0", "--persistence", "none"));
        cmd.addAll(config.flags());
        cmd.addAll(brokerFlags);
        Process broker = new ProcessBuilder(cmd).redirectError(work.resolve("storm-admission-broker.log").toFile()).start();
        try {
            BufferedReader stdout = new BufferedReader(new InputStreamReader(broker.getInputStream(), StandardCharsets.UTF_8));
            String line;
            Matcher m = null;
            while ((line = stdout.readLine()) != null) {
                m = READY.matcher(line);
                if (m.matches()) {
                    break;
                }
            }
            if (m == null || !m.matches()) {
                throw new IllegalStateException("the broker did not start: " + cmd);
            }
            List<String> args = new ArrayList<>(List.of("--scenario", "storm", "--protocol", "mqtt", "--transport", "tcp",
                    "--port", m.group(1), "--warmup", "0", "--broker-pid", Long.toString(broker.pid()), "--label", label));
            args.addAll(loadFlags);
            System.out.println("== " + label);
            Map<String, Object> r = LoadGenerator.run(args.toArray(String[]::new));
            r.put("config", config.name());
            r.put("load_average", loadAverage());
            all.add(r);
            return r;
        } finally {
            broker.destroy();
            if (!broker.waitFor(20, TimeUnit.SECONDS)) {
                broker.destroyForcibly();
            }
        }
    }

    private static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static double num(Map<String, Object> r, String key) {
        Object v = r.get(key);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static String report(Map<String, String> o, List<Map<Config, Map<String, Object>>> storms,
                                 List<Map<Config, Map<String, Object>>> overloads) {
        StringBuilder md = new StringBuilder();
        md.append("## Reconnect storm: adaptive admission\n\n");
        md.append(String.format(Locale.ROOT, "%s MQTT 3.1.1 clients over TCP all connecting at once (within 100 ms, "
                + "as after a broker restart), each staying once in; a refused or failed attempt backs off 10 ms "
                + "doubling to 2 s with jitter, an attempt without CONNACK within 10 s is a timeout. The rate is the "
                + "clients over the time until the last one got in (at most %s s). A fresh broker per run, "
                + "configurations interleaved in each round.%n%n", o.get("clients"), o.get("stay-duration")));
        md.append("| round | configuration | connects/s | vs no admission control | attempts | refused (closed or told no) "
                + "| timed out | refused % | failed % (refused + timed out) | clients in | connect p50 | connect p99 | broker CPU | load avg |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (int r = 0; r < storms.size(); r++) {
            double base = num(storms.get(r).get(UNLIMITED), "connects_per_s");
            for (Map.Entry<Config, Map<String, Object>> e : storms.get(r).entrySet()) {
                Map<String, Object> x = e.getValue();
                md.append(String.format(Locale.ROOT, "| %d | %s | %.0f | %.2f | %.0f | %.0f | %.0f | %.2f | %.2f | %.0f | %.2f s | %.2f s | %.0f%% | %.1f |%n",
                        r + 1, e.getKey().name(), num(x, "connects_per_s"), num(x, "connects_per_s") / base,
                        num(x, "attempts"), num(x, "refusals") + num(x, "errors"), num(x, "timeouts"),
                        num(x, "refused_pct"), num(x, "failed_pct"),
                        num(x, "clients_admitted"), num(x, "connect_p50_us") / 1e6, num(x, "connect_p99_us") / 1e6,
                        num(x, "broker_cpu_pct"), num(x, "load_average")));
            }
        }
        md.append(String.format(Locale.ROOT, "%nOverload: the broker held to %s I/O thread (`--io-threads %s`) under a storm "
                        + "that never ends, %s clients each connecting, staying 20 to 120 ms and connecting again for "
                        + "%s s (far more than one thread serves), and %s bystander clients connected before it, each "
                        + "publishing every 100 ms to a topic it alone subscribes to; their round trips while the "
                        + "storm lasts:%n%n", o.get("overload-io-threads"), o.get("overload-io-threads"),
                o.get("overload-clients"), o.get("duration"), o.get("bystanders")));
        md.append("| round | configuration | bystander p50 | bystander p99 | bystander max | bystander messages not back by the end | "
                + "storm connects/s | refused | timed out | load avg |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (int r = 0; r < overloads.size(); r++) {
            for (Map.Entry<Config, Map<String, Object>> e : overloads.get(r).entrySet()) {
                Map<String, Object> x = e.getValue();
                md.append(String.format(Locale.ROOT, "| %d | %s | %.1f ms | %.1f ms | %.1f ms | %.0f of %.0f | %.0f | %.0f | %.0f | %.1f |%n",
                        r + 1, e.getKey().name(), num(x, "bystander_rtt_p50_us") / 1e3, num(x, "bystander_rtt_p99_us") / 1e3,
                        num(x, "bystander_rtt_max_us") / 1e3, num(x, "bystander_lost"), num(x, "bystander_sent"),
                        num(x, "connects_per_s"), num(x, "refusals") + num(x, "errors"), num(x, "timeouts"),
                        num(x, "load_average")));
            }
        }
        md.append("\nCommand:\n\n    mvn -B -q -DskipTests package && java -jar benchmarks/target/benchmarks.jar storm-admission");
        List<String> flags = new ArrayList<>();
        o.forEach((k, v) -> {
            if (!List.of("sluice-jar", "out").contains(k)) {
                flags.add("--" + k + " " + v);
            }
        });
        md.append(" ").append(String.join(" ", flags)).append("\n");
        return md.toString();
    }
}
