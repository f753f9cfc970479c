package io.sluice.server.cluster;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.Nats;
import io.sluice.server.BrokerProcess;
import io.sluice.server.Sluice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.sluice.server.cluster.ClusterFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Messages of a lane packed into one JetStream message: a batch is stored whole or not at all, once, so what its
 * publishers were acknowledged for arrives whatever dies on the way, and nothing arrives twice unless a node that had
 * it in hand dies before acknowledging it (at least once).
 */
class ClusterBatchTest {
    @RegisterExtension
    final ClusterFixture cluster = new ClusterFixture();

    /**
     * Four pipelined publishers on a node run as a process of its own, their subscriber on a second node; the batches
     * going to the second node are watched on NATS (a core subscription to its subject sees each JetStream publish).
     * Once batches of several messages went out and the subscriber got some, the publishers' node is killed with
     * SIGKILL: every message a publisher was acknowledged for reaches the subscriber, each message once, in each
     * publisher's order.
     */
    @Test
    void theSendersNodeKilledWhileItsBatchesAreOnTheirWayLosesNoAcknowledgedMessageAndRepeatsNone() throws Exception {
        NatsServer nats = cluster.nats();
        Sluice receiver = cluster.node("bk2");
        Map<String, List<Integer>> got = subscriber(receiver, "batch/+");
        AtomicInteger batches = new AtomicInteger();
        AtomicInteger packed = new AtomicInteger();
        try (Connection tap = Nats.connect(nats.url())) {
            // the sender reads the routes as it starts: node 2's must be there by then
            await(() -> routeAnnounced(tap, "bk2."), "node 2's route in the bucket");
            BrokerProcess sender = cluster.process("bk1", 0);
            int port = sender.port("mqtt");
            Dispatcher d = tap.createDispatcher(msg -> {
                String count = msg.getHeaders() == null ? null : msg.getHeaders().getFirst(LaneBatch.HEADER);
                if (count != null) {
                    batches.incrementAndGet();
                    packed.addAndGet(Integer.parseInt(count));
                }
            });
            d.subscribe(NatsCluster.NODE_SUBJECT + "bk2");
            tap.flush(java.time.Duration.ofSeconds(5));

            int n = 3000;
            List<String> topics = List.of("batch/a", "batch/b", "batch/c", "batch/d");
            List<Set<Integer>> acked = new ArrayList<>();
            for (String topic : topics) {
                Mqtt3AsyncClient pub = Mqtt3Client.builder().identifier("bk-pub-" + topic.substring(6))
                        .serverHost("127.0.0.1").serverPort(port).buildAsync();
                ClusterFixture.connectRetryingWhileBusy(pub::connect);
                acked.add(ClusterFixture.publishInBackground(pub, topic, n, 64));
            }
            await(() -> batches.get() >= 3 && total(got) >= 400, "batches of several messages on their way and the "
                    + "first deliveries (batches " + batches.get() + ", delivered " + total(got) + ")", 60);
            sender.kill();
            List<Set<Integer>> ackedAtKill = new ArrayList<>();
            for (Set<Integer> a : acked) {
                ackedAtKill.add(new HashSet<>(a));
            }
            assertTrue(ackedAtKill.stream().allMatch(a -> a.size() < n), "the publishers were done before the kill: "
                    + "the test did not test");
            for (int i = 0; i < topics.size(); i++) {
                String topic = topics.get(i);
                Set<Integer> mustArrive = ackedAtKill.get(i);
                await(() -> new HashSet<>(got.getOrDefault(topic, List.of())).containsAll(mustArrive),
                        "every acknowledged message of " + topic + " (" + mustArrive.size() + ")", 30);
            }
            // everything JetStream took for node 2 is in its subscriber's queue and acknowledged: nothing more comes
            await(() -> streamEmpty(tap), "JetStream to hold nothing more for node 2", 30);
            assertTrue(packed.get() > batches.get(), "no batch went out: the test did not test");
            for (String topic : topics) {
                List<Integer> seen = got.getOrDefault(topic, List.of());
                assertEquals(new HashSet<>(seen).size(), seen.size(), topic + " got a message twice: " + seen);
                for (int j = 1; j < seen.size(); j++) {
                    assertTrue(seen.get(j) > seen.get(j - 1), topic + " out of publish order at " + j + ": "
                            + seen.subList(Math.max(0, j - 3), Math.min(seen.size(), j + 3)));
                }
            }
        }
    }

    /**
     * The receiving node (its sessions in its own store) killed with SIGKILL while batches are in its fan-out, and
     * started again: JetStream hands it again every batch it had not acknowledged, whole, so every message the
     * publisher was acknowledged for reaches the persistent subscriber, in publish order; a message of a batch the node
     * had partly queued may come twice (at least once), nothing more.
     */
    @Test
    void theReceiversNodeKilledMidBatchGetsEveryAcknowledgedMessageAgain() throws Exception {
        NatsServer nats = cluster.nats();
        Sluice sender = cluster.node("br1", "cluster-node-timeout", "2m");
        // the node restarts on the same port: one below the ephemeral range, which a client socket cannot take meanwhile
        int port = io.sluice.server.StablePorts.free();
        // the session is offline from the node's start until its client is back: its queue holds the whole stream
        String[] flags = {"--cluster-sessions", "node", "--persistence", "rocksdb", "--max-queued-messages", "10000",
                "--data-dir", cluster.dir().resolve("br2").toString()};
        BrokerProcess receiver = cluster.process("br2", port, flags);
        List<Integer> got = new CopyOnWriteArrayList<>();
        // each delivery as the client saw it, for the message of a failure: the connection (before or after the kill)
        List<String> seen = new CopyOnWriteArrayList<>();
        Mqtt3AsyncClient sub = persistentSubscriber(port, got, seen, "before");
        sub.subscribeWith().topicFilter("rbatch/x").qos(MqttQos.AT_LEAST_ONCE).send().join();
        await(() -> sender.server().cluster().nodesFor("rbatch/x").contains("br2"), "the route to br2", 60);

        AtomicInteger batches = new AtomicInteger();
        try (Connection tap = Nats.connect(nats.url())) {
            Dispatcher d = tap.createDispatcher(msg -> {
                if (msg.getHeaders() != null && msg.getHeaders().getFirst(LaneBatch.HEADER) != null) {
                    batches.incrementAndGet();
                }
            });
            d.subscribe(NatsCluster.NODE_SUBJECT + "br2");
            tap.flush(java.time.Duration.ofSeconds(5));
            Mqtt3AsyncClient pub = Mqtt3Client.builder().identifier("br-pub").serverHost("127.0.0.1")
                    .serverPort(sender.urls().mqttPort()).buildAsync();
            pub.connect().join();
            cluster.closeLater(() -> pub.disconnect().get(5, TimeUnit.SECONDS));
            int n = 3000;
            Set<Integer> acked = ClusterFixture.publishInBackground(pub, "rbatch/x", n, 64);
            await(() -> batches.get() >= 3 && got.size() >= 300, () -> "batches on their way and the first deliveries "
                    + "(batches " + batches.get() + ", delivered " + got.size() + ", acknowledged " + acked.size() + ")", 60);
            receiver.kill();
            int ackedAtKill = acked.size();
            assertTrue(ackedAtKill < n, "the publisher was done before the kill: the test did not test");
            cluster.process("br2", port, flags);
            Mqtt3AsyncClient back = persistentSubscriber(port, got, seen, "after");
            cluster.closeLater(() -> back.disconnect().get(5, TimeUnit.SECONDS));
            await(() -> acked.size() == n, () -> "every PUBACK once node 2 is back, got " + acked.size() + " (at the kill "
                    + ackedAtKill + "), delivered " + new HashSet<>(got).size(), 60);
            await(() -> new HashSet<>(got).size() == n, () -> "every message on node 2, got " + new HashSet<>(got).size()
                    + ", missing " + missing(got, n), 60);
            List<Integer> first = new ArrayList<>(new java.util.LinkedHashSet<>(got));
            for (int j = 0; j < n; j++) {
                if (first.get(j) != j) {
                    int at = j;
                    int where = 0;
                    while (where < seen.size() - 1 && !seen.get(where).startsWith(first.get(at) + " ")) {
                        where++;
                    }
                    List<String> around = seen.subList(Math.max(0, where - 12), Math.min(seen.size(), where + 12));
                    throw new AssertionError("out of publish order at " + at + ": " + first.get(at) + " came before "
                            + at + " (the kill after " + ackedAtKill + " PUBACKs); deliveries around it: " + around
                            + "; what the receiving node warned of: " + warnings("br2") + "; the nodes' logs: "
                            + cluster.dir());
                }
            }
        }
    }

    /** The warnings and errors in the logs of the node processes named {@code id} (at most 40 lines). */
    private List<String> warnings(String id) {
        List<String> out = new ArrayList<>();
        try (var files = java.nio.file.Files.list(cluster.dir())) {
            for (java.nio.file.Path f : files.filter(f -> f.getFileName().toString().startsWith(id + "-")).sorted()
                    .toList()) {
                for (String line : java.nio.file.Files.readAllLines(f)) {
                    if ((line.contains(" WARN ") || line.contains(" ERROR ")) && out.size() < 40) {
                        out.add(f.getFileName() + ": " + line);
                    }
                }
            }
        } catch (java.io.IOException e) {
            out.add("(the logs could not be read: " + e + ")");
        }
        return out;
    }

    /** The first few of 0..n-1 not in {@code got}. */
    private static List<Integer> missing(List<Integer> got, int n) {
        Set<Integer> seen = new HashSet<>(got);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n && out.size() < 20; i++) {
            if (!seen.contains(i)) {
                out.add(i);
            }
        }
        return out;
    }

    /** A client with a persistent session (clean session 0) on {@code port} that acknowledges what it gets. */
    private Mqtt3AsyncClient persistentSubscriber(int port, List<Integer> got) {
        return persistentSubscriber(port, got, new CopyOnWriteArrayList<>(), "");
    }

    /** ... noting each delivery in {@code seen} as "{@code <number> <connection>}". */
    private Mqtt3AsyncClient persistentSubscriber(int port, List<Integer> got, List<String> seen, String connection) {
        Mqtt3AsyncClient c = Mqtt3Client.builder().identifier("br-sub").serverHost("127.0.0.1").serverPort(port)
                .buildAsync();
        c.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL,
                p -> {
                    int number = Integer.parseInt(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8));
                    seen.add(number + " " + connection);
                    got.add(number);
                });
        ClusterFixture.connectRetryingWhileBusy(() -> c.connectWith().cleanSession(false).send());
        return c;
    }

    private static boolean routeAnnounced(Connection c, String prefix) {
        try {
            return c.keyValue(NatsCluster.ROUTES).keys().stream().anyMatch(k -> k.startsWith(prefix));
        } catch (Exception e) {
            return false;
        }
    }

    private static boolean streamEmpty(Connection c) {
        try {
            var jsm = c.jetStreamManagement();
            return jsm.getStreamInfo(NatsCluster.STREAM).getStreamState().getMsgCount() == 0
                    && jsm.getConsumerInfo(NatsCluster.STREAM, "node-bk2").getNumAckPending() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    private static int total(Map<String, List<Integer>> got) {
        return got.values().stream().mapToInt(List::size).sum();
    }

    /** A clean-session subscriber on {@code node} (QoS 1): the payloads it gets per topic, in order. */
    private Map<String, List<Integer>> subscriber(Sluice node, String filter) {
        Mqtt3AsyncClient sub = Mqtt3Client.builder().identifier("batch-sub").serverHost("127.0.0.1")
                .serverPort(node.urls().mqttPort()).buildAsync();
        sub.connect().join();
        cluster.closeLater(() -> sub.disconnect().get(5, TimeUnit.SECONDS));
        Map<String, List<Integer>> got = new ConcurrentHashMap<>();
        sub.subscribeWith().topicFilter(filter).qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> got.computeIfAbsent(p.getTopic().toString(), t -> new CopyOnWriteArrayList<>())
                        .add(Integer.parseInt(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))))
                .send().join();
        return got;
    }
}
