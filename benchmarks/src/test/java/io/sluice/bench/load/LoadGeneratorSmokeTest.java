package io.sluice.bench.load;

import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.netty.channel.Channel;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The load generator against an in-process broker, briefly: it must count every QoS 1 message through, none
 * lost or duplicated, over WebSocket and TCP, MQTT and STOMP. Counts only; speed is the benchmarks' business.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LoadGeneratorSmokeTest {
    private static SluiceServer server;

    @BeforeAll
    static void start() {
        server = SluiceServer.start(Settings.parse("--bind", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0",
                "--stomp-port", "0", "--log-level", "warn"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Map<String, Object> run(String... extra) throws Exception {
        String[] base = {"--duration", "1", "--warmup", "0.2", "--drain", "10", "--clients", "2", "--qos", "1"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return LoadGenerator.run(args);
    }

    private static void assertAllDelivered(Map<String, Object> r) {
        long sent = ((Number) r.get("sent")).longValue();
        assertTrue(sent > 0, "nothing was published: " + r);
        assertEquals(((Number) r.get("expected")).longValue(), ((Number) r.get("delivered")).longValue(), r.toString());
        assertEquals(0L, ((Number) r.get("lost")).longValue(), r.toString());
        assertEquals(0L, ((Number) r.get("duplicated")).longValue(), r.toString());
        assertEquals(Boolean.TRUE, r.get("ok"), r.toString());
    }

    @Test
    void mqttOverWebSocketFanIn() throws Exception {
        Map<String, Object> r = run("--scenario", "fanin", "--port", Integer.toString(server.port("http")));
        assertAllDelivered(r);
        assertTrue(((Number) r.get("latency_p99_us")).longValue() >= 0, r.toString());
    }

    @Test
    void mqttOverTcpFanOut() throws Exception {
        Map<String, Object> r = run("--scenario", "fanout", "--transport", "tcp", "--port", Integer.toString(server.port("mqtt")));
        assertAllDelivered(r);
        assertEquals(2 * ((Number) r.get("sent")).longValue(), ((Number) r.get("delivered")).longValue(), r.toString());
    }

    @Test
    void stompOverTcpPairs() throws Exception {
        assertAllDelivered(run("--scenario", "p2p", "--protocol", "stomp", "--transport", "tcp",
                "--port", Integer.toString(server.port("stomp"))));
    }

    /**
     * A first-minute run: the generator warms up against its own forwarder, says so, waits for the file that
     * says the broker is up (a pid in it) without connecting, and then counts only the measured run: every
     * message it sent reached the broker and came back, and its 5 s slices of p99 are there in us.
     */
    @Test
    void prewarmsAgainstItsOwnForwarderThenWaitsForTheBroker(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path go = dir.resolve("started");
        int port = server.port("http");
        java.io.ByteArrayOutputStream said = new java.io.ByteArrayOutputStream();
        java.io.PrintStream out = System.out;
        System.setOut(new java.io.PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) {
                out.write(b);
                synchronized (said) {
                    said.write(b);
                }
            }
        }, true));
        try {
            long connectedBefore = connectionsTo(port);
            CompletableFuture<Map<String, Object>> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return LoadGenerator.run("--scenario", "p2p", "--qos", "1", "--clients", "2", "--rate", "500",
                            "--prewarm", "1", "--await", go.toString(), "--duration", "1", "--warmup", "0",
                            "--port", Integer.toString(port));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!said.toString().contains("prewarmed, awaiting " + go) && System.nanoTime() < deadline && !run.isDone()) {
                Thread.sleep(20);
            }
            assertTrue(said.toString().contains("prewarmed, awaiting " + go), said.toString());
            assertTrue(!run.isDone(), "the generator waits for the broker");
            assertEquals(connectedBefore, connectionsTo(port), "nothing connects to the broker before the file appears");
            java.nio.file.Files.writeString(go, Long.toString(ProcessHandle.current().pid()));
            Map<String, Object> r = run.get(40, TimeUnit.SECONDS);
            assertAllDelivered(r);
            // the pid from the file: this JVM's CPU was read
            assertTrue(((Number) r.get("broker_cpu_s")).doubleValue() > 0, r.toString());
            assertTrue(String.valueOf(r.get("latency_p99_by_5s_us")).matches("\\d+"), r.toString());
        } finally {
            System.setOut(out);
        }
    }

    private static long connectionsTo(int port) {
        return server.connections().stream()
                .filter(ch -> ((InetSocketAddress) ch.localAddress()).getPort() == port).count();
    }

    /**
     * Idle connections spread over several loopback source addresses (one address pair has about 28,000
     * ephemeral ports, so 100,000 connections need four), all held, and the RSS readings' fields present.
     */
    @Test
    void idleConnectionsComeFromSeveralLoopbackAddresses() throws Exception {
        int port = server.port("http");
        CompletableFuture<Map<String, Object>> run = CompletableFuture.supplyAsync(() -> {
            try {
                return LoadGenerator.run("--scenario", "idle", "--clients", "30", "--source-addresses", "3",
                        "--duration", "2", "--port", Integer.toString(port),
                        "--broker-pid", Long.toString(ProcessHandle.current().pid()));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Set<String> sources = new TreeSet<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (sources.size() < 3 && !run.isDone() && System.nanoTime() < deadline) {
            for (Channel ch : server.connections()) {
                if (ch.remoteAddress() instanceof InetSocketAddress a && ((InetSocketAddress) ch.localAddress()).getPort() == port) {
                    sources.add(a.getAddress().getHostAddress());
                }
            }
            Thread.sleep(20);
        }
        Map<String, Object> r = run.get(50, TimeUnit.SECONDS);
        assertEquals(Set.of("127.0.0.1", "127.0.0.2", "127.0.0.3"), sources, r.toString());
        assertEquals(Boolean.TRUE, r.get("ok"), r.toString());
        assertEquals(30, ((Number) r.get("still_open")).intValue(), r.toString());
        assertTrue(((Number) r.get("broker_rss_after_kb")).longValue() > 0, r.toString());
        assertTrue(r.containsKey("rss_bytes_per_conn_marginal") && r.containsKey("rss_projected_kb"), r.toString());
    }
}
