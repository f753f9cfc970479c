package io.sluice.bench.load;

import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Cross-node throughput of a cluster (docs/cluster.md): for 1, 2 and 3 nodes on one {@code nats-server -js} (or, with
 * {@code --nats-servers 3}, a cluster of three with JetStream replicas 3), point-to-point pairs whose publishers are
 * on node 1 and subscribers on the other nodes (with 1 node: a single broker, no cluster, the baseline), run by the
 * load generator; delivered msg/s and the publish-to-deliver p99.
 * <pre>
 *   java -jar benchmarks.jar cluster [--nodes 1,2,3] [--qos 1] [--clients 10] [--duration 5] [--payload 64]
 *                                    [--nats-servers 1|3] [--send-window N] [--batch N] [--batches-in-flight N]
 * </pre>
 * {@code --send-window}, {@code --batch}, {@code --batches-in-flight}: the nodes' {@code --cluster-send-window} (0:
 * none), {@code --cluster-batch} (1: each message alone) and {@code --cluster-batches-in-flight} (default: the
 * server's defaults).
 * Every node runs in this JVM (as does the generator): on a small machine the figures are ratios between the
 * rows, not a capacity.
 */
public final class ClusterBench {
    private static final Pattern LISTENING = Pattern.compile("Listening for client connections on 127\\.0\\.0\\.1:(\\d+)");

    private ClusterBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> flags = new LinkedHashMap<>(Map.of("nodes", "1,2,3", "qos", "1", "clients", "10",
                "duration", "5", "payload", "64", "nats-server", "/usr/sbin/nats-server", "nats-servers", "1",
                "send-window", "", "batch", "", "batches-in-flight", ""));
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--") || !flags.containsKey(args[i].substring(2))) {
                System.err.println("flags: --nodes 1,2,3 --qos 0|1 --clients N --duration S --payload B --nats-server PATH "
                        + "--nats-servers 1|3 --send-window N --batch N --batches-in-flight N");
                System.exit(2);
            }
            flags.put(args[i].substring(2), args[i + 1]);
        }
        int natsServers = Integer.parseInt(flags.get("nats-servers"));
        System.out.println("NATS: " + natsServers + " server" + (natsServers == 1 ? "" : "s") + ", JetStream replicas "
                + natsServers + " (nodes > 1)");
        System.out.println("| nodes | publishers on | subscribers on | QoS | pairs | delivered msg/s | lost | unacknowledged | p50 us | p99 us |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (String n : flags.get("nodes").split(",")) {
            Map<String, Object> r = run(Integer.parseInt(n.trim()), flags);
            System.out.printf("| %s | node 1 | %s | %s | %s | %.0f | %s | %s | %s | %s |%n", n.trim(),
                    n.trim().equals("1") ? "node 1 (no cluster)" : "nodes 2.." + n.trim(), flags.get("qos"),
                    flags.get("clients"), ((Number) r.get("msgs_per_s")).doubleValue(), r.get("lost"), r.get("unacknowledged"),
                    r.get("latency_p50_us"), r.get("latency_p99_us"));
        }
        System.exit(0);
    }

    private static Map<String, Object> run(int nodes, Map<String, String> flags) throws Exception {
        Path dir = Files.createTempDirectory("sluice-cluster-bench");
        List<Process> nats = new ArrayList<>();
        List<SluiceServer> servers = new ArrayList<>();
        int natsServers = Integer.parseInt(flags.get("nats-servers"));
        try {
            List<String> urls = new ArrayList<>();
            if (nodes > 1) {
                int[] routes = freePorts(natsServers);
                for (int i = 0; i < natsServers; i++) {
                    List<String> cmd = new ArrayList<>(List.of(flags.get("nats-server"), "-js", "-a", "127.0.0.1", "-p",
                            "-1", "-sd", dir.resolve("s" + i).toString()));
                    if (natsServers > 1) {
                        // a NATS cluster: every server routes to the others; JetStream elects its leaders among them
                        List<String> others = new ArrayList<>();
                        for (int j = 0; j < natsServers; j++) {
                            if (j != i) {
                                others.add("nats://127.0.0.1:" + routes[j]);
                            }
                        }
                        cmd.addAll(List.of("--server_name", "s" + i, "--cluster_name", "sluice-bench", "--cluster",
                                "nats://127.0.0.1:" + routes[i], "--routes", String.join(",", others)));
                    }
                    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                    nats.add(p);
                    urls.add("nats://127.0.0.1:" + natsPort(p));
                }
            }
            for (int i = 1; i <= nodes; i++) {
                Settings s = Settings.defaults().with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, 0)
                        .with(Settings.HTTP_PORT, -1).with(Settings.STOMP_PORT, -1).with(Settings.PERSISTENCE, "none")
                        .with(Settings.SYS_INTERVAL, 0L).with(Settings.SHUTDOWN_DRAIN, 0L);
                if (!urls.isEmpty()) {
                    s = s.with(Settings.CLUSTER_NATS, urls).with(Settings.NODE_ID, "bench" + i)
                            .with(Settings.CLUSTER_REPLICAS, natsServers);
                    if (!flags.get("send-window").isEmpty()) {
                        s = s.with(Settings.CLUSTER_SEND_WINDOW, Integer.parseInt(flags.get("send-window")));
                    }
                    if (!flags.get("batch").isEmpty()) {
                        s = s.with(Settings.CLUSTER_BATCH, Integer.parseInt(flags.get("batch")));
                    }
                    if (!flags.get("batches-in-flight").isEmpty()) {
                        s = s.with(Settings.CLUSTER_BATCHES_IN_FLIGHT, Integer.parseInt(flags.get("batches-in-flight")));
                    }
                }
                servers.add(SluiceServer.start(s));
            }
            StringBuilder subPorts = new StringBuilder();
            for (int i = nodes == 1 ? 0 : 1; i < nodes; i++) {
                subPorts.append(subPorts.length() == 0 ? "" : ",").append(servers.get(i).port("mqtt"));
            }
            Map<String, Object> result = LoadGenerator.run("--scenario", "p2p", "--transport", "tcp", "--qos",
                    flags.get("qos"), "--clients", flags.get("clients"), "--duration", flags.get("duration"),
                    "--payload", flags.get("payload"), "--port", Integer.toString(servers.get(0).port("mqtt")),
                    "--sub-ports", subPorts.toString(), "--settle", "1", "--drain", "30", "--label", "cluster-" + nodes);
            if (servers.get(0).cluster() != null) {
                var c = servers.get(0).cluster();
                System.out.println("node 1: " + c.retried() + " sends refused by JetStream and tried again, "
                        + c.heldForRoom() + " waits for another node's room, " + c.sentPastWindow()
                        + " sends past the window; " + c.sent() + " messages to other nodes in " + c.jetStreamSends()
                        + " JetStream messages (" + c.packedSends() + " of them packed)");
            }
            return result;
        } finally {
            for (SluiceServer s : servers) {
                s.close();
            }
            for (Process p : nats) {
                p.destroy();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Loopback ports free now (a NATS server's route port must be known to the others before it starts). */
    private static int[] freePorts(int n) throws IOException {
        int[] ports = new int[n];
        List<java.net.ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                held.add(s);
                ports[i] = s.getLocalPort();
            }
        } finally {
            for (java.net.ServerSocket s : held) {
                s.close();
            }
        }
        return ports;
    }

    private static int natsPort(Process nats) throws Exception {
        CompletableFuture<Integer> port = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(nats.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        port.complete(Integer.parseInt(m.group(1)));
                    }
                }
            } catch (IOException e) {
                port.completeExceptionally(e);
            }
            port.complete(-1);
        });
        t.setDaemon(true);
        t.start();
        int p = port.get(20, TimeUnit.SECONDS);
        if (p <= 0) {
            throw new IllegalStateException("nats-server did not start");
        }
        return p;
    }
}
