package io.sluice.server.cluster;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import io.sluice.server.BrokerProcess;
import io.sluice.server.Sluice;
import io.sluice.server.SluiceBuilder;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * What a cluster test runs on: real {@code nats-server -js} processes, Sluice nodes in this JVM and as processes of
 * their own (for SIGKILL), each given its cluster settings, and everything closed again, last started first.
 *
 * <p>Registered with {@code @RegisterExtension}: on a static field what is started in {@code @BeforeAll} lives for the
 * class and what a test starts ends with that test; on an instance field everything ends with the test.
 */
final class ClusterFixture implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, AfterAllCallback, AutoCloseable {
    private final Path dir;
    /** What the class started (in {@code @BeforeAll}), closed after the last test. */
    private final List<AutoCloseable> forClass = new ArrayList<>();
    /** What the running test started, closed after it. */
    private final List<AutoCloseable> forTest = new ArrayList<>();
    private boolean inTest;
    private NatsServer nats;
    private final AtomicInteger logs = new AtomicInteger();

    ClusterFixture() {
        try {
            this.dir = Files.createTempDirectory("sluice-cluster-test");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A directory of the fixture's, deleted with it. */
    Path dir() {
        return dir;
    }

    /** The fixture's NATS server ({@code nats-server -js}), started at the first call. */
    synchronized NatsServer nats() throws IOException {
        if (nats == null) {
            nats = startNats("nats");
        }
        return nats;
    }

    /** Another NATS server of its own, with its store in {@code name}. */
    NatsServer startNats(String name) throws IOException {
        NatsServer server = NatsServer.start(dir.resolve(name));
        natsServers.put(server, name);
        return closeLater(server);
    }

    /** A NATS cluster of {@code size} servers, JetStream on each, routed to each other. */
    List<NatsServer> startNatsCluster(String name, int size) throws IOException {
        List<NatsServer> servers = NatsServer.startCluster(dir.resolve(name), size);
        for (int i = 0; i < servers.size(); i++) {
            natsServers.put(servers.get(i), name + "-" + (i + 1));
        }
        servers.forEach(this::closeLater);
        return servers;
    }

    /** Every NATS server started, by name: what each logged is written next to the nodes' logs when a test fails. */
    private final java.util.Map<NatsServer, String> natsServers = new java.util.concurrent.ConcurrentHashMap<>();
    /** A test failed: the directory (the node processes' logs, NATS's) is kept and its place printed. */
    private volatile boolean failed;

    /** A node in this JVM on the fixture's NATS server; {@code settings}: pairs of setting name and value. */
    Sluice node(String id, String... settings) throws IOException {
        return node(nats(), id, settings);
    }

    Sluice node(NatsServer on, String id, String... settings) {
        return node(List.of(on.url()), id, settings);
    }

    Sluice node(List<String> urls, String id, String... settings) {
        SluiceBuilder b = Sluice.builder().set(Settings.CLUSTER_NATS, urls).set(Settings.NODE_ID, id);
        for (int i = 0; i < settings.length; i += 2) {
            b.set(settings[i], settings[i + 1]);
        }
        return closeLater(b.start());
    }

    /**
     * A node as a process of its own on the fixture's NATS server, MQTT on {@code mqttPort} (the same port for a
     * restart), no other listener; {@code flags} as on the command line.
     */
    BrokerProcess process(String id, int mqttPort, String... flags) throws IOException {
        return process(nats(), id, mqttPort, flags);
    }

    BrokerProcess process(NatsServer on, String id, int mqttPort, String... flags) throws IOException {
        List<String> all = new ArrayList<>(List.of("--cluster-nats", on.url(), "--node-id", id,
                "--mqtt-port", Integer.toString(mqttPort), "--http-port", "-1", "--stomp-port", "-1",
                "--sys-interval", "0"));
        all.addAll(List.of(flags));
        Path log = dir.resolve(id + "-" + logs.incrementAndGet() + ".log");
        return closeLater(BrokerProcess.start(log, all.toArray(String[]::new)));
    }

    /** Closed with the test that calls this (with the class, from {@code @BeforeAll}), in reverse order. */
    synchronized <T extends AutoCloseable> T closeLater(T c) {
        (inTest || !classScoped ? forTest : forClass).add(c);
        return c;
    }

    private boolean classScoped;

    @Override
    public synchronized void beforeAll(ExtensionContext context) {
        classScoped = true;
    }

    /** What a test starts (after {@code @BeforeAll}) is its own. */
    @Override
    public synchronized void beforeEach(ExtensionContext context) {
        inTest = true;
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        if (context.getExecutionException().isPresent()) {
            failed = true;
        }
        List<AutoCloseable> these;
        synchronized (this) {
            these = new ArrayList<>(forTest);
            forTest.clear();
            inTest = false;
        }
        closeAll(these);
        if (!classScoped) {
            close();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (context.getExecutionException().isPresent()) {
            failed = true;
        }
        close();
    }

    @Override
    public void close() throws Exception {
        List<AutoCloseable> all;
        synchronized (this) {
            all = new ArrayList<>(forClass);
            all.addAll(forTest);
            forClass.clear();
            forTest.clear();
            nats = null;
        }
        try {
            closeAll(all);
        } finally {
            if (failed) {
                keepLogs();
            } else {
                try (Stream<Path> tree = Files.walk(dir)) {
                    tree.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException e) {
                    // a temporary directory left behind
                }
            }
        }
    }

    /** After a failure: NATS's logs written beside the nodes', and where they are said on stderr. */
    private void keepLogs() {
        for (java.util.Map.Entry<NatsServer, String> e : natsServers.entrySet()) {
            try {
                Files.write(dir.resolve(e.getValue() + "-nats.log"), e.getKey().lines());
            } catch (IOException ex) {
                // the nodes' logs are there still
            }
        }
        System.err.println("cluster test failed: the node processes' and NATS servers' logs are kept in " + dir);
    }

    /** Close each, last first; every one is tried, and the first failure is thrown. */
    private static void closeAll(List<AutoCloseable> list) throws Exception {
        Exception first = null;
        for (int i = list.size() - 1; i >= 0; i--) {
            try {
                list.get(i).close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Wait up to 15 s for {@code condition}, polling; fails saying what it waited for. */
    static void await(BooleanSupplier condition, String what) {
        await(condition, what, 15);
    }

    static void await(BooleanSupplier condition, String what, int seconds) {
        await(condition, () -> what, seconds);
    }

    /** As above, {@code what} told as it stands when the time is up (counts then, not when the wait began). */
    static void await(BooleanSupplier condition, java.util.function.Supplier<String> what, int seconds) {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + seconds + " s waiting for " + what.get());
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    /**
     * {@code connect} (a client's CONNECT, sent again on each try), retried as a client does while the broker answers
     * that it is busy (MQTT 5 CONNACK 0x89, 3.1.1 0x03): a node refuses new connections while its I/O threads run
     * later than --overload-lag, which a freshly started node process on a loaded two-core machine (or one paused
     * with the whole machine for seconds) can be for a moment; the refusal is right then, and the client's part is
     * to come back after a backoff. Any other answer, or busy past 30 s, fails.
     */
    static <T> T connectRetryingWhileBusy(java.util.function.Supplier<java.util.concurrent.CompletableFuture<T>> connect) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long backoffMillis = 50;
        while (true) {
            try {
                return connect.get().join();
            } catch (java.util.concurrent.CompletionException e) {
                if (!busy(e.getCause()) || System.nanoTime() > deadline) {
                    throw e;
                }
            }
            try {
                Thread.sleep(backoffMillis);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            backoffMillis = Math.min(backoffMillis * 2, 1000);
        }
    }

    private static boolean busy(Throwable t) {
        if (t instanceof com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException e5) {
            return e5.getMqttMessage().getReasonCode()
                    == com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode.SERVER_BUSY;
        }
        if (t instanceof com.hivemq.client.mqtt.mqtt3.exceptions.Mqtt3ConnAckException e3) {
            return e3.getMqttMessage().getReturnCode()
                    == com.hivemq.client.mqtt.mqtt3.message.connect.connack.Mqtt3ConnAckReturnCode.SERVER_UNAVAILABLE;
        }
        return false;
    }

    /**
     * Publish "0".."n-1" to {@code topic} at QoS 1 from a thread of its own, at most {@code window} unacknowledged;
     * returns the acknowledged ones as they come.
     */
    static Set<Integer> publishInBackground(Mqtt3AsyncClient pub, String topic, int n, int window) {
        Set<Integer> acked = ConcurrentHashMap.newKeySet();
        Semaphore room = new Semaphore(window);
        Thread t = new Thread(() -> {
            for (int i = 0; i < n; i++) {
                int seq = i;
                try {
                    if (!room.tryAcquire(60, TimeUnit.SECONDS)) {
                        return;
                    }
                } catch (InterruptedException e) {
                    return;
                }
                pub.publishWith().topic(topic).qos(MqttQos.AT_LEAST_ONCE).payload(Integer.toString(i).getBytes())
                        .send().whenComplete((r, err) -> {
                            if (err == null) {
                                acked.add(seq);
                            }
                            room.release();
                        });
            }
        }, "publisher-" + topic);
        t.setDaemon(true);
        t.start();
        return acked;
    }
}
