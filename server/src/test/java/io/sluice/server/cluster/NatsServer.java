package io.sluice.server.cluster;

import org.junit.jupiter.api.Assumptions;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real {@code nats-server -js} process on a loopback port with its JetStream store in a directory of the test:
 * started, killed and started again on the same port and store, as an operator would.
 */
public final class NatsServer implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("Listening for client connections on 127\\.0\\.0\\.1:(\\d+)");

    private final Path storeDir;
    /** Extra flags: the cluster ones of a member of a NATS cluster. */
    private final List<String> extra;
    private int port;
    private Process process;
    private final List<String> log = new ArrayList<>();

    private NatsServer(Path storeDir, List<String> extra) {
        this.storeDir = storeDir;
        this.extra = extra;
    }

    /** The nats-server binary on this machine (the Debian package's), or the test is skipped saying what to install. */
    static String binary() {
        for (String candidate : List.of("/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server")) {
            if (Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        String message = "nats-server is not installed (apt-get install nats-server)";
        if (Boolean.getBoolean("sluice.requireAllClients")) {
            throw new IllegalStateException(message);
        }
        Assumptions.abort(message);
        return null;
    }

    /** Start on an ephemeral port (the server picks it) with JetStream in {@code storeDir}. */
    public static NatsServer start(Path storeDir) throws IOException {
        NatsServer s = new NatsServer(storeDir, List.of());
        s.launch(-1);
        s.awaitJetStream();
        return s;
    }

    /**
     * A NATS cluster of {@code size} servers with JetStream (each its own store under {@code dir}), routed to each
     * other on loopback ports chosen now.
     */
    static List<NatsServer> startCluster(Path dir, int size) throws IOException {
        int[] client = new int[size];
        int[] route = new int[size];
        for (int i = 0; i < size; i++) {
            client[i] = freePort();
            route[i] = freePort();
        }
        List<NatsServer> servers = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            List<String> routes = new ArrayList<>();
            for (int j = 0; j < size; j++) {
                if (j != i) {
                    routes.add("nats://127.0.0.1:" + route[j]);
                }
            }
            NatsServer s = new NatsServer(dir.resolve("s" + i), List.of("--server_name", "s" + i, "--cluster_name",
                    "sluice-test", "--cluster", "nats://127.0.0.1:" + route[i], "--routes", String.join(",", routes)));
            s.launch(client[i]);
            servers.add(s);
        }
        // JetStream answers once the servers elected a leader among themselves, which takes all of them started
        for (NatsServer s : servers) {
            s.awaitJetStream();
        }
        return servers;
    }

    private static int freePort() throws IOException {
        return io.sluice.server.StablePorts.free();
    }

    private void launch(int wanted) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(binary(), "-js", "-a", "127.0.0.1", "-p", Integer.toString(wanted),
                "-sd", storeDir.toString()));
        cmd.addAll(extra);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        CompletableFuture<Integer> bound = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (log) {
                        log.add(line);
                    }
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        bound.complete(Integer.parseInt(m.group(1)));
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
            bound.complete(-1);
        }, "nats-server-log");
        reader.setDaemon(true);
        reader.start();
        int got;
        try {
            got = bound.get(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            p.destroyForcibly();
            throw new IOException("nats-server did not start: " + lines(), e);
        }
        if (got <= 0) {
            throw new IOException("nats-server did not start: " + lines());
        }
        // ready for clients once JetStream is up: its log says so before the client port opens
        this.port = got;
        this.process = p;
    }

    /**
     * Until JetStream answers a client (a request of the account's JetStream statistics): the client port opens a
     * moment before, and on a busy machine a node started at once could meet a server that does not answer yet.
     */
    private void awaitJetStream() throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            io.nats.client.Options options = new io.nats.client.Options.Builder().server(url())
                    .connectionTimeout(java.time.Duration.ofSeconds(5)).build();
            try (io.nats.client.Connection c = io.nats.client.Nats.connect(options)) {
                c.jetStreamManagement().getAccountStatistics();
                return;
            } catch (IOException | io.nats.client.JetStreamApiException | RuntimeException e) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("nats-server's JetStream did not answer within 30 s: " + lines(), e);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
    }

    public String url() {
        return "nats://127.0.0.1:" + port;
    }

    /** SIGKILL, as a crash. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Start again on the same port and store (after {@link #kill}). */
    void restart() throws IOException {
        launch(port);
    }

    List<String> lines() {
        synchronized (log) {
            return new ArrayList<>(log);
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
