package io.sluice.bench.side;

import io.sluice.bench.DocSections;
import io.sluice.bench.load.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.sluice.bench.side.SideBySide.num;

/**
 * What TLS and a 1,000-rule ACL cost, Sluice beside Mosquitto with the same certificate, key and ACL files
 * ({@code java -jar benchmarks/target/benchmarks.jar tls}): new MQTT connections per second over TLS (full
 * handshakes, then resumed ones), delivered messages per second over TLS against the same load in clear, and with
 * the ACL file against without. The certificate (EC P-256, for 127.0.0.1) is made at run time with openssl; each
 * broker runs as its own process on loopback; loads alternate between the brokers, the order rotating each round,
 * and the figures are medians of the rounds. Writes the {@code ## TLS} and {@code ## ACL end to end} sections of
 * docs/benchmarks.md (with {@code --doc}), leaving the others as they are.
 */
public final class TlsBench {
    private static final String SLUICE = "Sluice";
    private static final String MOSQUITTO = "Mosquitto";
    private static final List<String> LOADS = List.of("connects-clear", "handshakes-full", "handshakes-resumed",
            "wss-full", "wss-resumed", "plain", "tls", "acl");
    private static final List<String> WSS_LOADS = List.of("wss-full", "wss-resumed");
    private static final String WSS_HEADING = "## TLS over WebSocket (WSS)";

    private Path sluiceJar = Path.of("server/target/sluice.jar");
    private Path benchJar = Path.of("benchmarks/target/benchmarks.jar");
    private Path work = Path.of("benchmarks/target/tls");
    private Path doc;
    private int rounds = 3;
    private double duration = 5;
    private double warmup = 2;
    private int clients = 8;
    private int concurrency = 8;
    /** Only the WSS loads, writing only their section ({@code --only wss}). */
    private boolean wssOnly;

    private final Map<String, Map<String, List<Map<String, Object>>>> results = new LinkedHashMap<>();
    /** Each broker's WebSocket-over-TLS port (Sluice's HTTPS port, a Mosquitto {@code protocol websockets} listener). */
    private final Map<String, Integer> wssPorts = new LinkedHashMap<>();
    private final List<Double> loadAverages = new ArrayList<>();

    private TlsBench() {
    }

    public static void main(String[] args) throws Exception {
        TlsBench b = new TlsBench();
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--sluice-jar" -> b.sluiceJar = Path.of(v);
                case "--bench-jar" -> b.benchJar = Path.of(v);
                case "--work" -> b.work = Path.of(v);
                case "--doc" -> b.doc = Path.of(v);
                case "--rounds" -> b.rounds = Integer.parseInt(v);
                case "--duration" -> b.duration = Double.parseDouble(v);
                case "--warmup" -> b.warmup = Double.parseDouble(v);
                case "--clients" -> b.clients = Integer.parseInt(v);
                case "--concurrency" -> b.concurrency = Integer.parseInt(v);
                case "--only" -> b.wssOnly = "wss".equals(v);
                default -> {
                    System.err.println("flags: --sluice-jar JAR --bench-jar JAR --work DIR --doc docs/benchmarks.md --rounds N (3)"
                            + " --duration S (5) --warmup S (2) --clients N (8 pairs) --concurrency N (8 handshakes at a time)"
                            + " --only wss (the WSS loads and their section alone)");
                    System.exit(2);
                }
            }
            i++;
        }
        b.run();
    }

    private void run() throws Exception {
        Files.createDirectories(work);
        Path jsonl = work.resolve("results.jsonl");
        Files.deleteIfExists(jsonl);
        Path cert = work.resolve("cert.pem");
        Path key = work.resolve("key.pem");
        exec(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key.toString(), "-out", cert.toString(), "-days", "2", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"));
        if (!Files.isRegularFile(cert) || !Files.isRegularFile(key)) {
            throw new IllegalStateException("openssl did not write " + cert + " and " + key + " (is openssl installed?)");
        }
        Path acl = work.resolve("acl");
        List<String> rules = new ArrayList<>(List.of("# 999 rules that never match the benchmark's topics, then the one that does"));
        for (int i = 0; i < 998; i++) {
            rules.add("topic readwrite fleet/" + i + "/#");
        }
        rules.add("pattern readwrite devices/%c/#");
        rules.add("topic readwrite bench/#");
        Files.write(acl, rules);

        Map<String, Broker[]> brokers = new LinkedHashMap<>(); // name -> {plain + TLS, with the ACL}
        int sPlain = SideBySide.freePort(), sTls = SideBySide.freePort(), sWss = SideBySide.freePort(), sAcl = SideBySide.freePort();
        String java = SideBySide.java();
        List<String> sluice = List.of(java, "-jar", sluiceJar.toAbsolutePath().toString(), "--bind", "127.0.0.1",
                "--http-port", "-1", "--stomp-port", "-1", "--persistence", "none", "--log-level", "warn");
        wssPorts.put(SLUICE, sWss);
        brokers.put(SLUICE, new Broker[] {
                new Broker(SLUICE, false, false, sPlain, sTls, -1, "/mqtt", concat(sluice, "--mqtt-port", sPlain, "--mqtts-port", sTls,
                        "--https-port", sWss, "--tls-cert-file", cert, "--tls-key-file", key), work.resolve("sluice.log")),
                new Broker(SLUICE + " ACL", false, false, sAcl, sAcl, -1, "/mqtt", concat(sluice, "--mqtt-port", sAcl,
                        "--mqtts-port", -1, "--https-port", -1, "--acl-file", acl), work.resolve("sluice-acl.log"))});
        int mPlain = SideBySide.freePort(), mTls = SideBySide.freePort(), mWss = wildcardPort(), mAcl = SideBySide.freePort();
        wssPorts.put(MOSQUITTO, mWss);
        Path conf = work.resolve("mosquitto.conf");
        // run as the user who made the key file (Mosquitto started as root would switch to its own user, who may not read it)
        List<String> common = List.of("user " + System.getProperty("user.name"), "allow_anonymous true", "persistence false",
                "set_tcp_nodelay true", "log_dest stdout", "log_type error", "log_type warning");
        List<String> lines = new ArrayList<>(List.of("# written by benchmarks.jar tls: the same certificate and key as Sluice",
                "listener " + mPlain + " 127.0.0.1", "listener " + mTls + " 127.0.0.1", "certfile " + cert.toAbsolutePath(),
                "keyfile " + key.toAbsolutePath(),
                // MQTT over WebSocket over TLS (libwebsockets), the same certificate and key
                "listener " + mWss + " 127.0.0.1", "protocol websockets", "certfile " + cert.toAbsolutePath(),
                "keyfile " + key.toAbsolutePath()));
        lines.addAll(common);
        Files.write(conf, lines);
        Path confAcl = work.resolve("mosquitto-acl.conf");
        List<String> aclLines = new ArrayList<>(List.of("# written by benchmarks.jar tls: the same ACL file as Sluice",
                "listener " + mAcl + " 127.0.0.1", "acl_file " + acl.toAbsolutePath()));
        aclLines.addAll(common);
        Files.write(confAcl, aclLines);
        brokers.put(MOSQUITTO, new Broker[] {
                new Broker(MOSQUITTO, false, false, mPlain, mTls, -1, "/mqtt", List.of("mosquitto", "-c", conf.toString()),
                        work.resolve("mosquitto.log")),
                new Broker(MOSQUITTO + " ACL", false, false, mAcl, mAcl, -1, "/mqtt", List.of("mosquitto", "-c", confAcl.toString()),
                        work.resolve("mosquitto-acl.log"))});
        try {
            for (Broker[] b : brokers.values()) {
                b[0].start();
                b[1].start();
            }
            // one unrecorded load on each broker process first: a JVM's first seconds are its JIT's, not its steady state
            for (Map.Entry<String, Broker[]> e : brokers.entrySet()) {
                if (!wssOnly) {
                    load("plain", e.getKey(), e.getValue(), cert);
                    load("acl", e.getKey(), e.getValue(), cert);
                    load("tls", e.getKey(), e.getValue(), cert);
                    load("handshakes-full", e.getKey(), e.getValue(), cert);
                }
                load("wss-full", e.getKey(), e.getValue(), cert);
            }
            List<String> order = new ArrayList<>(brokers.keySet());
            for (int round = 0; round < rounds; round++) {
                for (String load : wssOnly ? WSS_LOADS : LOADS) {
                    for (int k = 0; k < order.size(); k++) {
                        String name = order.get((k + round) % order.size());
                        Broker[] b = brokers.get(name);
                        Map<String, Object> r = load(load, name, b, cert);
                        r.put("round", round);
                        r.put("load", load);
                        Files.writeString(jsonl, Json.write(r) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                        results.computeIfAbsent(load, x -> new LinkedHashMap<>()).computeIfAbsent(name, x -> new ArrayList<>()).add(r);
                        System.out.printf(Locale.ROOT, "round %d  %-20s %-10s %s%n", round + 1, load, name, summary(load, r));
                    }
                }
            }
        } finally {
            for (Broker[] b : brokers.values()) {
                b[0].stop();
                b[1].stop();
            }
        }
        String wssSection = wssSection();
        System.out.println(wssSection);
        if (!wssOnly) {
            String tlsSection = tlsSection();
            String aclSection = aclSection();
            System.out.println(tlsSection);
            System.out.println(aclSection);
            if (doc != null) {
                DocSections.replace(doc, "## TLS", tlsSection);
                DocSections.replace(doc, "## ACL end to end", aclSection);
            }
        }
        if (doc != null) {
            DocSections.replace(doc, WSS_HEADING, wssSection);
            System.out.println("written to " + doc);
        }
    }

    private Map<String, Object> load(String load, String name, Broker[] b, Path cert) throws Exception {
        b[0].ensureRunning();
        b[1].ensureRunning();
        loadAverages.add(SideBySide.loadAverage());
        String java = SideBySide.java();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx1g", "-jar", benchJar.toString()));
        Broker target = load.equals("acl") ? b[1] : b[0];
        if (load.equals("connects-clear")) {
            cmd.addAll(List.of("tls-handshakes", "--port", Integer.toString(b[0].tcpPort), "--concurrency", Integer.toString(concurrency)));
        } else if (load.startsWith("handshakes")) {
            cmd.addAll(List.of("tls-handshakes", "--port", Integer.toString(b[0].wsPort), "--ca", cert.toString(),
                    "--resume", Boolean.toString(load.endsWith("resumed")), "--concurrency", Integer.toString(concurrency)));
        } else if (load.startsWith("wss")) {
            cmd.addAll(List.of("tls-handshakes", "--port", Integer.toString(wssPorts.get(name)), "--ws", "/mqtt", "--ca",
                    cert.toString(), "--resume", Boolean.toString(load.endsWith("resumed")), "--concurrency", Integer.toString(concurrency)));
        } else {
            cmd.addAll(List.of("load", "--scenario", "p2p", "--transport", "tcp", "--qos", "1",
                    "--clients", Integer.toString(clients), "--port", Integer.toString(load.equals("tls") ? b[0].wsPort : target.tcpPort)));
            if (load.equals("tls")) {
                cmd.addAll(List.of("--tls-ca", cert.toString()));
            }
        }
        cmd.addAll(List.of("--duration", Double.toString(duration), "--warmup", Double.toString(warmup),
                "--broker-pid", Long.toString(target.pid()), "--label", name));
        Path log = work.resolve("load.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long limit = (long) (duration * 2 + warmup + 60);
        boolean finished = p.waitFor(limit, TimeUnit.SECONDS);
        if (!finished) {
            p.destroyForcibly();
        }
        Map<String, Object> r = SideBySide.lastJson(log);
        if (!finished || r == null || !name.equals(r.get("label"))) {
            r = new LinkedHashMap<>();
            r.put("label", name);
            r.put("error", finished ? "no result line (see " + log + ")" : "timed out after " + limit + " s");
        }
        Thread.sleep(300);
        return r;
    }

    private static String summary(String load, Map<String, Object> r) {
        if (r.containsKey("error")) {
            return "FAILED: " + r.get("error");
        }
        return connects(load)
                ? String.format(Locale.ROOT, "%.0f connections/s, %.0f%% resumed, %s failed", num(r, "handshakes_per_s"),
                100 * num(r, "resumed_fraction"), r.get("failed"))
                : String.format(Locale.ROOT, "%.0f msg/s, lost %d", num(r, "msgs_per_s"), (long) num(r, "lost"));
    }

    private double median(String load, String broker, java.util.function.ToDoubleFunction<Map<String, Object>> f) {
        List<Map<String, Object>> rs = results.getOrDefault(load, Map.of()).getOrDefault(broker, List.of());
        double[] v = rs.stream().filter(r -> !r.containsKey("error")).mapToDouble(f).filter(d -> !Double.isNaN(d)).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private double rate(String load, String broker) {
        return median(load, broker, r -> num(r, connects(load) ? "handshakes_per_s" : "msgs_per_s"));
    }

    private static boolean connects(String load) {
        return load.startsWith("handshakes") || load.startsWith("connects") || load.startsWith("wss");
    }

    private double cpuPerMessage(String load, String broker) {
        return median(load, broker, r -> num(r, "delivered") > 0 ? num(r, "broker_cpu_s") * 1e6 / num(r, "delivered") : Double.NaN);
    }

    private String header() throws Exception {
        double[] la = loadAverages.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return String.format(Locale.ROOT, "Run %s on %d cores, %d rounds of %.0f s (+%.0f s warm-up) per load, medians; "
                        + "load average before each load %.1f-%.1f (median %.1f). %s; %s. Command: "
                        + "`java -jar benchmarks/target/benchmarks.jar tls" + (wssOnly ? " --only wss" : "") + " --doc docs/benchmarks.md` "
                        + "(raw results: benchmarks/target/tls/results.jsonl).\n\n",
                java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS), Runtime.getRuntime().availableProcessors(),
                rounds, duration, warmup, la.length == 0 ? 0 : la[0], la.length == 0 ? 0 : la[la.length - 1],
                la.length == 0 ? 0 : la[la.length / 2], firstLine(exec(List.of("mosquitto", "-h"))),
                "the same certificate (EC P-256) and key for both")
                + (la.length > 0 && la[la.length / 2] > Runtime.getRuntime().availableProcessors() ? NOISY : "");
    }

    private static final String NOISY = "**Other work was running on the machine (load average above its core count): "
            + "one configuration's rate moved by several times between rounds (benchmarks/target/tls/results.jsonl), so "
            + "these ratios are not a result; run it again on a quiet machine.**\n\n";

    private String tlsSection() throws Exception {
        StringBuilder md = new StringBuilder("## TLS\n\n<!-- Generated by `java -jar benchmarks/target/benchmarks.jar tls`; run it again rather than edit. -->\n\n");
        md.append(header());
        md.append("New connections over mqtts, each a TCP connect, a TLS handshake and an MQTT CONNECT answered by CONNACK, ")
                .append(concurrency).append(" at a time from one client thread (BoringSSL); resumed: the client offers the session ")
                .append("(TLS 1.3 ticket) it got before; in clear: the same connections on the plain port. Broker CPU per connection is ")
                .append("the steadier figure on a shared machine, and its difference from the clear row is what TLS costs a connection. ")
                .append("The same over a WebSocket: the next section.\n\n");
        handshakeRows(md, List.of("connects-clear", "handshakes-full", "handshakes-resumed"));
        md.append("\nDelivered messages per second, p2p over TCP, QoS 1, ").append(clients)
                .append(" pairs, 64-byte payloads, in clear and over TLS on the same broker process:\n\n");
        md.append("| broker | in clear msg/s | TLS msg/s | TLS / clear | CPU µs per delivered msg (clear / TLS) | lost (clear / TLS) |\n|---|---:|---:|---:|---|---|\n");
        for (String b : List.of(SLUICE, MOSQUITTO)) {
            md.append("| ").append(b).append(" | ").append(f0(rate("plain", b))).append(" | ").append(f0(rate("tls", b))).append(" | ")
                    .append(ratio(rate("tls", b), rate("plain", b))).append(" | ")
                    .append(f1(cpuPerMessage("plain", b))).append(" / ").append(f1(cpuPerMessage("tls", b))).append(" | ")
                    .append(maxLost("plain", b)).append(" / ").append(maxLost("tls", b)).append(" |\n");
        }
        return md.toString();
    }

    /** The WSS loads: the handshakes' table for MQTT connections over a WebSocket. */
    private String wssSection() throws Exception {
        StringBuilder md = new StringBuilder(WSS_HEADING + "\n\n<!-- Generated by `java -jar benchmarks/target/benchmarks.jar tls` "
                + "(or `tls --only wss`); run it again rather than edit. -->\n\n");
        md.append(header());
        md.append("New MQTT connections over WebSocket and TLS, each a TCP connect, a TLS handshake, an HTTP upgrade to subprotocol ")
                .append("`mqtt` on `/mqtt` and an MQTT CONNECT in a binary frame answered by CONNACK, ").append(concurrency)
                .append(" at a time from one client thread (BoringSSL), on Sluice's HTTPS port and on a Mosquitto ")
                .append("`protocol websockets` listener with the same certificate and key; resumed: the client offers the session ")
                .append("(TLS 1.3 ticket) it got before. Mosquitto's WSS rate is bound by latency, not CPU: its websockets listener ")
                .append("(libwebsockets, serviced from Mosquitto's main loop) answered a WebSocket upgrade in clear 0.17 s after the ")
                .append("request where Sluice took 0.008 s (`curl` with the upgrade headers), and its WSS rate rose with the connections ")
                .append("in flight (2, 24 and 67 connections/s at 1, 8 and 32 at a time, `tls-handshakes --ws /mqtt --concurrency N`); ")
                .append("for it, compare the CPU column.\n\n");
        handshakeRows(md, WSS_LOADS);
        return md.toString();
    }

    private void handshakeRows(StringBuilder md, List<String> loads) {
        md.append("| load | Sluice | Mosquitto | Sluice / Mosquitto | resumed (S / Mq) | broker CPU µs per connection (S / Mq) |\n|---|---:|---:|---:|---|---|\n");
        for (String load : loads) {
            md.append("| ").append(switch (load) {
                        case "connects-clear" -> "in clear (no TLS), to compare";
                        case "handshakes-full" -> "full handshakes";
                        case "handshakes-resumed" -> "resumption offered";
                        case "wss-full" -> "full handshakes";
                        default -> "resumption offered";
                    }).append(" | ")
                    .append(f0(rate(load, SLUICE))).append(" | ").append(f0(rate(load, MOSQUITTO))).append(" | ")
                    .append(ratio(rate(load, SLUICE), rate(load, MOSQUITTO))).append(" | ")
                    .append(pct(median(load, SLUICE, r -> num(r, "resumed_fraction")))).append(" / ")
                    .append(pct(median(load, MOSQUITTO, r -> num(r, "resumed_fraction")))).append(" | ")
                    .append(f0(median(load, SLUICE, r -> num(r, "broker_cpu_us_per_handshake")))).append(" / ")
                    .append(f0(median(load, MOSQUITTO, r -> num(r, "broker_cpu_us_per_handshake")))).append(" |\n");
        }
    }

    private String aclSection() throws Exception {
        StringBuilder md = new StringBuilder("## ACL end to end\n\n<!-- Generated by `java -jar benchmarks/target/benchmarks.jar tls`; run it again rather than edit. -->\n\n");
        md.append("The same p2p load (TCP, QoS 1, ").append(clients).append(" pairs) against a broker with a 1,000-rule ACL file ")
                .append("(999 rules that never match, then the one that does: the worst case for a walk; the same file for both) ")
                .append("and against the same broker without one, in the same rounds as the TLS loads. Target: at least 90%.\n\n");
        md.append("| broker | no ACL msg/s | 1,000-rule ACL msg/s | ACL / no ACL | CPU µs per delivered msg (no ACL / ACL) | lost |\n|---|---:|---:|---:|---|---|\n");
        for (String b : List.of(SLUICE, MOSQUITTO)) {
            md.append("| ").append(b).append(" | ").append(f0(rate("plain", b))).append(" | ").append(f0(rate("acl", b))).append(" | ")
                    .append(ratio(rate("acl", b), rate("plain", b))).append(" | ")
                    .append(f1(cpuPerMessage("plain", b))).append(" / ").append(f1(cpuPerMessage("acl", b))).append(" | ")
                    .append(maxLost("acl", b)).append(" |\n");
        }
        return md.toString();
    }

    private long maxLost(String load, String broker) {
        return results.getOrDefault(load, Map.of()).getOrDefault(broker, List.of()).stream()
                .mapToLong(r -> (long) num(r, "lost")).max().orElse(0);
    }

    private static String f0(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%,.0f", v);
    }

    private static String f1(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String ratio(double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) || b == 0 ? "-" : String.format(Locale.ROOT, "%.2fx", a / b);
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * v);
    }

    /**
     * A port for Mosquitto's websockets listener: libwebsockets binds it on every address whatever the listener line
     * says, so it must be free on the wildcard address and outside the ephemeral range, where any client socket of
     * the machine (the load's own) may hold it.
     */
    private static int wildcardPort() throws IOException {
        java.util.Random random = new java.util.Random();
        for (int i = 0; i < 200; i++) {
            int port = 20_000 + random.nextInt(12_000);
            try (java.net.ServerSocket s = new java.net.ServerSocket(port)) {
                return s.getLocalPort();
            } catch (IOException inUse) {
                // taken: try another
            }
        }
        throw new IOException("no free port between 20000 and 32000 for Mosquitto's websockets listener");
    }

    private static List<String> concat(List<String> base, Object... more) {
        List<String> out = new ArrayList<>(base);
        for (Object o : more) {
            out.add(o.toString());
        }
        return out;
    }

    private static String firstLine(String text) {
        return text.lines().filter(l -> l.startsWith("mosquitto version")).findFirst().orElse("mosquitto ?");
    }

    private static String exec(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish");
        }
        return out;
    }
}
