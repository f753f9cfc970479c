package io.sluice.server.cluster;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5DisconnectException;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.sluice.protocol.topic.TopicFilter;
import io.sluice.server.Sluice;
import io.sluice.server.security.StompWire;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static io.sluice.server.cluster.ClusterFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three Sluice nodes on one real {@code nats-server -js}: routing at QoS 0 and 1 (each matching node once, topics of
 * any shape unchanged), MQTT and STOMP across nodes, takeover across nodes, retained messages and wills.
 */
class ClusterTest {
    @RegisterExtension
    static final ClusterFixture fixture = new ClusterFixture();
    static Sluice n1;
    static Sluice n2;
    static Sluice n3;
    private final List<Mqtt5BlockingClient> clients = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        n1 = fixture.node("n1", "sys-interval", "500ms");
        n2 = fixture.node("n2", "sys-interval", "500ms");
        n3 = fixture.node("n3", "sys-interval", "500ms");
    }

    @AfterEach
    void disconnectClients() {
        for (Mqtt5BlockingClient c : clients) {
            if (c.getState().isConnected()) {
                c.disconnect();
            }
        }
    }

    private Mqtt5BlockingClient mqtt(Sluice node, String id) {
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(node.urls().mqttPort()).buildBlocking();
        c.connect();
        clients.add(c);
        return c;
    }

    /**
     * Each node's $SYS and metrics are its own; {@code $SYS/broker/cluster/...} and {@code sluice_cluster_total_...}
     * on every node are the sums over the nodes alive, from their heartbeats.
     */
    @Test
    void everyNodeShowsItsOwnCountersAndTheClusterTotals() throws Exception {
        mqtt(n1, "sys-a");
        mqtt(n2, "sys-b");
        mqtt(n2, "sys-c");
        Mqtt5BlockingClient reader = mqtt(n3, "sys-reader");
        Sluice[] nodes = {n1, n2, n3};
        // polled, not read once: the clients of the test before may still be leaving (their DISCONNECT is handled
        // after the client returned), and the other nodes' counters reach a node with their next heartbeat
        await(() -> List.of(1L, 2L, 1L).equals(List.of(connected(n1), connected(n2), connected(n3))),
                "each node to count its own clients (1, 2, 1)");
        for (Sluice node : nodes) {
            await(() -> cluster(node).totals().get("nodes") == 3
                    && cluster(node).totals().get("clients/connected") == 4, "totals on " + cluster(node).nodeId()
                    + ": " + cluster(node).totals());
        }
        Map<String, String> sys = new ConcurrentHashMap<>();
        reader.toAsync().subscribeWith().topicFilter("$SYS/broker/#")
                .callback(p -> sys.put(p.getTopic().toString(), new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)))
                .send().join();
        await(() -> "3".equals(sys.get("$SYS/broker/cluster/nodes"))
                && "4".equals(sys.get("$SYS/broker/cluster/clients/connected"))
                && "1".equals(sys.get("$SYS/broker/clients/connected")), "$SYS on n3: " + sys);
        AtomicReference<String> metrics = new AtomicReference<>("");
        await(() -> {
            metrics.set(scrape(n3));
            return metrics.get().contains("sluice_cluster_nodes 3.0")
                    && metrics.get().contains("sluice_cluster_total_clients_connected 4.0");
        }, "the cluster totals (3 nodes, 4 clients) in n3's metrics");
    }

    private static long connected(Sluice node) {
        return cluster(node).ownCounters().get("clients/connected");
    }

    private static String scrape(Sluice node) {
        try (var in = java.net.URI.create(node.urls().http() + "/metrics").toURL().openStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static NatsCluster cluster(Sluice node) {
        return node.server().cluster();
    }

    /** Wait until {@code from} routes {@code topic} to each of {@code to} (a subscription's route reaches it via KV). */
    private static void awaitRoute(Sluice from, String topic, Sluice... to) {
        List<String> want = new ArrayList<>();
        for (Sluice t : to) {
            want.add(cluster(t).nodeId());
        }
        await(() -> cluster(from).nodesFor(topic).containsAll(want), "routes of " + topic + " to " + want);
    }

    private static Map<String, AtomicInteger> counting(Mqtt5BlockingClient c, String filter, MqttQos qos) {
        Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();
        c.toAsync().subscribeWith().topicFilter(filter).qos(qos)
                .callback(p -> seen.computeIfAbsent(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8),
                        k -> new AtomicInteger()).incrementAndGet())
                .send().join();
        return seen;
    }

    @Test
    void credentialsWrittenIntoAUrlNeverReachALogLine() {
        assertEquals("nats://h:4222,tls://h2:4222,nats://h3",
                NatsCluster.shown(List.of("nats://u:p@h:4222", "tls://user@h2:4222", "nats://h3")));
    }

    @Test
    void aPublishReachesEachMatchingNodeOnceWhateverItsSubscribers() {
        Mqtt5BlockingClient a = mqtt(n2, "route-a");
        Map<String, AtomicInteger> seenA = new ConcurrentHashMap<>();
        // two overlapping subscriptions of one client: one delivery (MQTT 5 section 3.3.4), one message over NATS
        a.toAsync().publishes(MqttGlobalPublishFilter.ALL, p -> seenA.computeIfAbsent(
                new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8), k -> new AtomicInteger()).incrementAndGet());
        a.subscribeWith().topicFilter("route/+/x").qos(MqttQos.AT_LEAST_ONCE).send();
        a.subscribeWith().topicFilter("route/#").qos(MqttQos.AT_LEAST_ONCE).send();
        Map<String, AtomicInteger> seenB = counting(mqtt(n2, "route-b"), "route/1/x", MqttQos.AT_LEAST_ONCE);
        Map<String, AtomicInteger> seenC = counting(mqtt(n3, "route-c"), "route/#", MqttQos.AT_LEAST_ONCE);
        awaitRoute(n1, "route/1/x", n2, n3);
        assertEquals(List.of(), cluster(n1).nodesFor("other/1/x"), "a topic no filter matches goes nowhere");

        long sentBefore = cluster(n1).sent();
        long receivedBefore2 = cluster(n2).received();
        Mqtt5BlockingClient pub = mqtt(n1, "route-pub");
        int n = 100;
        for (int i = 0; i < n; i++) {
            pub.publishWith().topic("route/1/x").qos(MqttQos.AT_LEAST_ONCE).payload(("q1-" + i).getBytes()).send();
            pub.publishWith().topic("route/1/x").qos(MqttQos.AT_MOST_ONCE).payload(("q0-" + i).getBytes()).send();
        }
        for (Map<String, AtomicInteger> seen : List.of(seenA, seenB, seenC)) {
            await(() -> seen.size() == 2 * n, "all " + 2 * n + " messages, got " + seen.size());
        }
        // QoS 1 acknowledged to the publisher only once the other nodes held it: every one arrived once
        for (Map<String, AtomicInteger> seen : List.of(seenA, seenB, seenC)) {
            assertEquals(List.of(), seen.entrySet().stream().filter(e -> e.getValue().get() != 1)
                    .map(Map.Entry::getKey).collect(Collectors.toList()), "delivered more than once");
        }
        assertEquals(2 * n * 2, cluster(n1).sent() - sentBefore, "once per matching node (n2, n3), not per subscriber");
        assertEquals(2 * n, cluster(n2).received() - receivedBefore2, "n2 got each message once for its 3 subscriptions");
    }

    @Test
    void topicsOfAnyShapeCrossUnchangedAndMatchAsOnOneNode() {
        List<String> topics = List.of("shape/a.b", "shape/*", "shape/>", "shape/sp ace", "shape//x", "shape/x/",
                "shape/ünï.cödé", "shape/a/b/c", "shape", "shape/%2E");
        List<String> filters = List.of("shape/#", "shape/+", "shape/+/x", "shape/+/+", "shape/a.b", "shape/*");
        Map<String, List<String>> got = new ConcurrentHashMap<>();
        Map<String, Sluice> on = new ConcurrentHashMap<>();
        int i = 0;
        for (String f : filters) {
            List<String> list = new CopyOnWriteArrayList<>();
            got.put(f, list);
            on.put(f, i % 2 == 0 ? n2 : n3);
            Mqtt5BlockingClient c = mqtt(i++ % 2 == 0 ? n2 : n3, "shape-" + i);
            // every publish the client gets (its own matching of empty levels is not what is tested here)
            c.toAsync().publishes(MqttGlobalPublishFilter.ALL, p -> list.add(p.getTopic().toString()));
            c.subscribeWith().topicFilter(f).qos(MqttQos.AT_LEAST_ONCE).send();
        }
        Mqtt5BlockingClient pub = mqtt(n1, "shape-pub");
        for (String f : filters) {
            String sample = topics.stream().filter(t -> TopicFilter.matches(f, t)).findFirst().orElseThrow();
            // the route of this filter's node: another filter's may match the sample already
            awaitRoute(n1, sample, on.get(f));
        }
        for (String t : topics) {
            pub.publishWith().topic(t).qos(MqttQos.AT_LEAST_ONCE).payload(t.getBytes(StandardCharsets.UTF_8)).send();
        }
        for (String f : filters) {
            List<String> expected = topics.stream().filter(t -> TopicFilter.matches(f, t)).collect(Collectors.toList());
            await(() -> got.get(f).size() >= expected.size(), f + " to get " + expected + ", got " + got.get(f));
            assertEquals(expected, got.get(f), "what " + f + " received on another node");
        }
    }

    @Test
    void mqttOnOneNodeAndStompOnAnotherExchangeMessages() throws Exception {
        Mqtt5BlockingClient m = mqtt(n1, "cp-mqtt");
        List<String> toMqtt = new CopyOnWriteArrayList<>();
        m.toAsync().subscribeWith().topicFilter("cp/to-mqtt").qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> toMqtt.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))).send().join();
        try (StompWire stomp = StompWire.open(n2.urls().stompPort())) {
            assertEquals("CONNECTED", stomp.connect(null, null).command());
            stomp.subscribe("/topic/cp/to-stomp", "s1", "r1");
            assertEquals("RECEIPT", stomp.next().command());
            awaitRoute(n1, "cp/to-stomp", n2);
            awaitRoute(n2, "cp/to-mqtt", n1);

            m.publishWith().topic("cp/to-stomp").qos(MqttQos.AT_LEAST_ONCE).payload("from mqtt".getBytes()).send();
            StompWire.Frame f = stomp.next();
            assertEquals("MESSAGE", f.command());
            assertEquals("/topic/cp/to-stomp", f.header("destination"));
            assertEquals("from mqtt", f.body());

            stomp.send("/topic/cp/to-mqtt", "from stomp", "r2");
            assertEquals("RECEIPT", stomp.next().command());
            await(() -> toMqtt.contains("from stomp"), "the STOMP message on the MQTT client of another node");
        }
    }

    @Test
    void aClientIdConnectingToAnotherNodeTakesTheSessionOver() {
        AtomicReference<Throwable> cause = new AtomicReference<>();
        Mqtt5BlockingClient first = Mqtt5Client.builder().identifier("roaming").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort())
                .addDisconnectedListener(ctx -> cause.compareAndSet(null, ctx.getCause())).buildBlocking();
        first.connect();
        await(() -> registryOwner("roaming").equals("n1"), "the registry to name n1");
        Mqtt5BlockingClient second = mqtt(n2, "roaming");
        await(() -> cause.get() != null, "the first connection to end");
        assertTrue(cause.get() instanceof Mqtt5DisconnectException, "ended by the server's DISCONNECT: " + cause.get());
        assertEquals(Mqtt5DisconnectReasonCode.SESSION_TAKEN_OVER,
                ((Mqtt5DisconnectException) cause.get()).getMqttMessage().getReasonCode());
        assertTrue(second.getState().isConnected(), "the new connection stays");
        await(() -> registryOwner("roaming").equals("n2"), "the registry to name n2");
        second.disconnect();
        await(() -> registryOwner("roaming").isEmpty(), "a clean disconnect to leave the registry");
    }

    /** Which node the cluster's registry names for an MQTT client id ("" for none), read through n3's broker. */
    private static String registryOwner(String clientId) {
        return cluster(n3).registryOwner(new io.sluice.server.broker.SessionId("mqtt", clientId));
    }

    @Test
    void retainedMessagesAreTheSameOnEveryNode() {
        Mqtt5BlockingClient pub = mqtt(n1, "ret-pub");
        pub.publishWith().topic("ret/1").qos(MqttQos.AT_LEAST_ONCE).retain(true).payload("kept".getBytes()).send();
        await(() -> n3.server().broker().retained().match("ret/1").size() == 1, "the retained message on n3");
        Mqtt5BlockingClient sub = mqtt(n3, "ret-sub");
        try (Mqtt5BlockingClient.Mqtt5Publishes publishes = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("ret/+").qos(MqttQos.AT_LEAST_ONCE).send();
            Mqtt5Publish p = publishes.receive(10, java.util.concurrent.TimeUnit.SECONDS).orElseThrow();
            assertEquals("kept", new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8));
            assertTrue(p.isRetain());
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        // cleared on another node: cleared everywhere
        mqtt(n2, "ret-clear").publishWith().topic("ret/1").qos(MqttQos.AT_LEAST_ONCE).retain(true).payload(new byte[0]).send();
        await(() -> n3.server().broker().retained().match("ret/1").isEmpty()
                && n1.server().broker().retained().match("ret/1").isEmpty(), "the retained message cleared on n1 and n3");
    }

    @Test
    void aWillIsPublishedOnceToEachSubscriberOnEveryNode() {
        Map<String, AtomicInteger> on1 = counting(mqtt(n1, "will-sub1"), "will/#", MqttQos.AT_LEAST_ONCE);
        Map<String, AtomicInteger> on2 = counting(mqtt(n2, "will-sub2"), "will/#", MqttQos.AT_LEAST_ONCE);
        awaitRoute(n1, "will/w1", n2);
        Mqtt5BlockingClient dying = Mqtt5Client.builder().identifier("will-client").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).willPublish().topic("will/w1").payload("gone".getBytes())
                .qos(MqttQos.AT_LEAST_ONCE).applyWillPublish().buildBlocking();
        dying.connect();
        dying.disconnectWith().reasonCode(Mqtt5DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE).send();
        // the will is published by the node once it has handled the DISCONNECT, which another client's publish does
        // not wait for: the will is awaited on each node, then a marker published after it (from n1, so behind it on
        // the way to n2) shows that no second copy follows
        for (Map<String, AtomicInteger> seen : List.of(on1, on2)) {
            await(() -> seen.containsKey("gone"), "the will: " + seen);
        }
        mqtt(n1, "will-marker").publishWith().topic("will/marker").qos(MqttQos.AT_LEAST_ONCE).payload("marker".getBytes()).send();
        for (Map<String, AtomicInteger> seen : List.of(on1, on2)) {
            await(() -> seen.containsKey("marker"), "the marker");
            assertEquals(1, seen.get("gone").get(), "the will, once: " + seen);
        }
    }
}
