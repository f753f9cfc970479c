package io.sluice.server.cluster;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import io.sluice.server.Sluice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.cluster.ClusterFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MQTT's per-topic order from one publisher (MQTT 3.1.1 and 5, section 4.6) holds across nodes when JetStream does not
 * take a pipelined publish at once and it is sent again, whether JetStream refused it (the node's share of the stream
 * full) or it was lost with NATS: the publisher's later messages to the same node do not overtake it.
 */
class ClusterOrderTest {
    @RegisterExtension
    final ClusterFixture cluster = new ClusterFixture();

    /**
     * JetStream keeps 100 messages for node 2 and node 2 takes 100 at a time, for a subscriber whose queue holds 5:
     * two pipelined publishers on node 1 (up to 64 unanswered each) with 1000 messages each fill that share again and
     * again, so JetStream refuses publishes and takes later ones as soon as node 2 frees room, and node 2's fan-out
     * waits for room in the subscriber's queue. Each publisher's messages reach the subscriber all, in publish order.
     * (Node 1 sends without a window, so that JetStream refuses: as it does when several nodes send to one whose
     * share is smaller than their windows together, or when NATS is away.)
     */
    @Test
    void aPublishJetStreamRefusedIsNotOvertakenByTheSamePublishersLaterOnes() throws Exception {
        // each message alone: the stream's bound counts JetStream messages, and 128 pipelined messages in batches never
        // reach 100 of them
        Sluice n1 = cluster.node("or1", "cluster-max-pending", "100", "cluster-send-window", "0", "cluster-batch", "1");
        Sluice n2 = cluster.node("or2", "cluster-max-pending", "100", "cluster-max-ack-pending", "100",
                "max-queued-messages", "5");
        Map<String, List<Integer>> got = subscriber(n2, "order/+");
        await(() -> n1.server().cluster().nodesFor("order/a").contains("or2"), "the route to or2");

        int n = 1000;
        List<Set<Integer>> acked = new ArrayList<>();
        for (String topic : List.of("order/a", "order/b")) {
            acked.add(ClusterFixture.publishInBackground(publisher(n1, "or-pub-" + topic.substring(6)), topic, n, 64));
        }
        await(() -> acked.stream().allMatch(a -> a.size() == n), "every PUBACK, got "
                + acked.stream().map(Set::size).toList(), 60);
        await(() -> firstSeen(got, "order/a").size() == n && firstSeen(got, "order/b").size() == n,
                "every message on node 2", 30);
        assertTrue(n1.server().cluster().retried() > 0, "JetStream never refused a publish: the test did not test");
        for (String topic : List.of("order/a", "order/b")) {
            assertInOrder(n, firstSeen(got, topic), topic);
        }
    }

    /**
     * The same with node 1 packing (the default): JetStream keeps 10 JetStream messages for node 2 and hands it 10, so
     * batches are refused again and again, a later batch stored before an earlier refused one is held by node 2 until
     * the earlier arrives, and each publisher's messages reach the subscriber all, in publish order.
     */
    @Test
    void aBatchJetStreamRefusedIsNotOvertakenByTheSamePublishersLaterOnes() throws Exception {
        Sluice n1 = cluster.node("ob1", "cluster-max-pending", "10", "cluster-send-window", "0");
        Sluice n2 = cluster.node("ob2", "cluster-max-pending", "10", "cluster-max-ack-pending", "10",
                "max-queued-messages", "5");
        Map<String, List<Integer>> got = subscriber(n2, "border/+");
        await(() -> n1.server().cluster().nodesFor("border/a").contains("ob2"), "the route to ob2");

        int n = 1000;
        List<Set<Integer>> acked = new ArrayList<>();
        for (String topic : List.of("border/a", "border/b")) {
            acked.add(ClusterFixture.publishInBackground(publisher(n1, "ob-pub-" + topic.substring(7)), topic, n, 64));
        }
        await(() -> acked.stream().allMatch(a -> a.size() == n), "every PUBACK, got "
                + acked.stream().map(Set::size).toList(), 60);
        await(() -> firstSeen(got, "border/a").size() == n && firstSeen(got, "border/b").size() == n,
                "every message on node 2", 30);
        assertTrue(n1.server().cluster().retried() > 0, "JetStream never refused a publish: the test did not test");
        assertTrue(n1.server().cluster().packedSends() > 0, "nothing went out packed: the test did not test");
        for (String topic : List.of("border/a", "border/b")) {
            assertInOrder(n, firstSeen(got, topic), topic);
        }
    }

    /**
     * The same two publishers with node 1's window of 20 ahead of node 2's reports of room: node 1 waits for node 2's
     * room instead of filling its share of the stream, so JetStream refuses nothing, holds for node 2 at most the window
     * and what node 2 has been handed (its max-ack-pending, 10) and not yet put into the subscriber's queue, and each
     * publisher's messages reach the subscriber all, in publish order.
     */
    @Test
    void aNodeWaitsForTheReceivingNodesRoomAndJetStreamRefusesNothing() throws Exception {
        NatsServer nats = cluster.nats();
        int window = 20;
        int handed = 10;
        Sluice n1 = cluster.node("ow1", "cluster-max-pending", "100", "cluster-send-window", Integer.toString(window));
        Sluice n2 = cluster.node("ow2", "cluster-max-pending", "100", "cluster-max-ack-pending", Integer.toString(handed),
                "max-queued-messages", "5");
        Map<String, List<Integer>> got = subscriber(n2, "window/+");
        await(() -> n1.server().cluster().nodesFor("window/a").contains("ow2"), "the route to ow2");

        int n = 1000;
        List<Set<Integer>> acked = new ArrayList<>();
        java.util.concurrent.atomic.AtomicLong most = new java.util.concurrent.atomic.AtomicLong();
        try (io.nats.client.Connection c = io.nats.client.Nats.connect(nats.url())) {
            for (String topic : List.of("window/a", "window/b")) {
                acked.add(ClusterFixture.publishInBackground(publisher(n1, "ow-pub-" + topic.substring(7)), topic, n, 64));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!acked.stream().allMatch(a -> a.size() == n) && System.nanoTime() < deadline) {
                long held = c.jetStreamManagement().getStreamInfo(NatsCluster.STREAM).getStreamState().getMsgCount();
                most.accumulateAndGet(held, Math::max);
                Thread.sleep(5);
            }
        }
        await(() -> acked.stream().allMatch(a -> a.size() == n), "every PUBACK, got "
                + acked.stream().map(Set::size).toList(), 5);
        await(() -> firstSeen(got, "window/a").size() == n && firstSeen(got, "window/b").size() == n,
                "every message on node 2", 30);
        assertTrue(n1.server().cluster().heldForRoom() > 0, "node 1 never waited for node 2's room: the test did not test");
        assertEquals(0, n1.server().cluster().refusedAtBound(), "JetStream refused sends node 1 held to its window");
        // a send past the window when no report came for a second may add one now and then
        assertTrue(most.get() <= window + handed + 2, "JetStream held " + most.get() + " for node 2, past the window "
                + window + " and the " + handed + " handed to it");
        assertTrue(most.get() > 0, "nothing seen in the stream: the test did not look");
        for (String topic : List.of("window/a", "window/b")) {
            assertInOrder(n, firstSeen(got, topic), topic);
        }
    }

    /**
     * Two nodes sending to a slow third with the default window (1000) and a stream bound of 100 per node: each
     * sends at most its part of half the bound ahead of the third's reports, so their windows together never fill the
     * third's share of the stream, JetStream refuses neither (at the bound, nats-server 2.9 on a NATS cluster may
     * acknowledge a publish and not store it), and every message arrives, in order per publisher.
     */
    @Test
    void theWindowsOfTheNodesSendingToOneStayUnderItsBound() throws Exception {
        NatsServer nats = cluster.nats();
        int bound = 100;
        Sluice s1 = cluster.node("sw1", "cluster-max-pending", Integer.toString(bound));
        Sluice s2 = cluster.node("sw2", "cluster-max-pending", Integer.toString(bound));
        Sluice r = cluster.node("sw3", "cluster-max-pending", Integer.toString(bound), "cluster-max-ack-pending", "10",
                "max-queued-messages", "5");
        Map<String, List<Integer>> got = subscriber(r, "shared/+");
        for (Sluice s : List.of(s1, s2)) {
            await(() -> s.server().cluster().nodesFor("shared/a").contains("sw3")
                    && s.server().cluster().otherNodes().size() == 2, "each sender to know both other nodes");
        }
        // the window follows the nodes known within a second
        await(() -> s1.server().cluster().window() < bound / 2 && s2.server().cluster().window() < bound / 2,
                "the windows shared out");

        int n = 600;
        List<Set<Integer>> acked = new ArrayList<>();
        java.util.concurrent.atomic.AtomicLong most = new java.util.concurrent.atomic.AtomicLong();
        try (io.nats.client.Connection c = io.nats.client.Nats.connect(nats.url())) {
            acked.add(ClusterFixture.publishInBackground(publisher(s1, "sw-pub-a"), "shared/a", n, 64));
            acked.add(ClusterFixture.publishInBackground(publisher(s2, "sw-pub-b"), "shared/b", n, 64));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!acked.stream().allMatch(a -> a.size() == n) && System.nanoTime() < deadline) {
                long held = c.jetStreamManagement().getStreamInfo(NatsCluster.STREAM).getStreamState().getMsgCount();
                most.accumulateAndGet(held, Math::max);
                Thread.sleep(5);
            }
        }
        await(() -> acked.stream().allMatch(a -> a.size() == n), "every PUBACK, got "
                + acked.stream().map(Set::size).toList(), 5);
        await(() -> firstSeen(got, "shared/a").size() == n && firstSeen(got, "shared/b").size() == n,
                "every message on the third node", 30);
        for (Sluice s : List.of(s1, s2)) {
            assertTrue(s.server().cluster().heldForRoom() > 0, "a sender never waited for room: the test did not test");
            // (a send may time out on a loaded machine and go again: that is not the bound)
            assertEquals(0, s.server().cluster().refusedAtBound(), "JetStream refused sends of "
                    + s.server().cluster().nodeId() + ": the windows together reached the bound");
        }
        assertTrue(most.get() > 0 && most.get() < bound, "JetStream held " + most.get() + " for the third node, "
                + "bound " + bound);
        assertTrue(s1.server().cluster().window() == bound / 2 / 2 - 1, "window " + s1.server().cluster().window());
        for (String topic : List.of("shared/a", "shared/b")) {
            assertInOrder(n, firstSeen(got, topic), topic);
        }
    }

    /**
     * A rolling upgrade: a node of a version without reports of room (played here by a NATS client that speaks its
     * part: a route, heartbeats without the line that says it reports, no reports) would hold a sender's lane at its
     * window for good, one send past it a second. Its heartbeat says what it is, so the sender sends it without a window
     * (the stream's bound holding publishers, as before windows): 200 messages acknowledged at once, all in the stream
     * (packed: fewer JetStream messages).
     */
    @Test
    void aNodeThatReportsNoRoomIsSentToWithoutAWindow() throws Exception {
        NatsServer nats = cluster.nats();
        Sluice n1 = cluster.node("up1", "cluster-send-window", "20");
        java.util.concurrent.ScheduledExecutorService beats = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        try (io.nats.client.Connection old = io.nats.client.Nats.connect(nats.url())) {
            old.keyValue(NatsCluster.ROUTES).put("old1." + java.util.Base64.getUrlEncoder().withoutPadding()
                    .encodeToString("old/x".getBytes(StandardCharsets.UTF_8)), "old/x".getBytes(StandardCharsets.UTF_8));
            beats.scheduleAtFixedRate(() -> old.publish("sluice.alive.old1",
                    "clients/connected=0\n".getBytes(StandardCharsets.UTF_8)), 0, 500, TimeUnit.MILLISECONDS);
            await(() -> n1.server().cluster().nodesFor("old/x").contains("old1")
                    && Boolean.TRUE.equals(n1.server().cluster().otherNodes().get("old1")), "the older node known");
            int n = 200;
            Set<Integer> acked = ClusterFixture.publishInBackground(publisher(n1, "up-pub"), "old/x", n, 64);
            await(() -> acked.size() == n, "every PUBACK, got " + acked.size(), 20);
            // (the only node with routes: all the stream holds is for it; packed, fewer JetStream messages than sent)
            long held = old.jetStreamManagement().getStreamInfo(NatsCluster.STREAM).getStreamState().getMsgCount();
            assertTrue(held > 0 && held <= n, "what JetStream holds for the older node: " + held);
        } finally {
            beats.shutdownNow();
        }
    }

    /** The rule for every bound, number of senders and setting: within the setting, at least 1, together under the bound. */
    @Test
    void eachSendersWindowIsItsPartOfTheBound() {
        assertEquals(0, NatsCluster.window(0, 100, 3), "no window stays none");
        for (int configured : new int[] {1, 7, 1000, Integer.MAX_VALUE}) {
            for (int bound = 1; bound <= 300; bound++) {
                for (int senders = 0; senders <= 12; senders++) {
                    int w = NatsCluster.window(configured, bound, senders);
                    int n = Math.max(1, senders);
                    assertTrue(w >= 1 && w <= configured, "window " + w);
                    if (bound >= 4 * n) {
                        // with one send past its window each (no report for a second), still under half the bound
                        assertTrue(2 * n * (w + 1) <= bound, configured + "/" + bound + "/" + senders + ": " + w);
                        assertTrue(w >= Math.min(configured, bound / 2 / n - 1), "no smaller than needed: " + w);
                    }
                }
            }
        }
    }

    /**
     * NATS killed with SIGKILL while a publisher's messages are on their way between nodes, and started again: what
     * was lost in the dead connection is sent again, and what jnats kept for the new one must not pass it.
     */
    @Test
    void aPublishLostWithNatsIsNotOvertakenByTheSamePublishersLaterOnes() throws Exception {
        NatsServer nats = cluster.nats();
        Sluice n1 = cluster.node("ok1");
        Sluice n2 = cluster.node("ok2");
        Map<String, List<Integer>> got = subscriber(n2, "kill/+");
        await(() -> n1.server().cluster().nodesFor("kill/a").contains("ok2"), "the route to ok2");

        int n = 600;
        Set<Integer> acked = ClusterFixture.publishInBackground(publisher(n1, "ok-pub"), "kill/a", n, 64);
        await(() -> firstSeen(got, "kill/a").size() >= 100, "the first 100 deliveries");
        nats.kill();
        // the publishes in flight when NATS died are not acknowledged: they are sent again (behind what jnats
        // buffered for the next connection)
        await(() -> n1.server().cluster().retried() > 0, "a publish to be tried again");
        nats.restart();
        await(() -> acked.size() == n, "every PUBACK after NATS came back, got " + acked.size(), 60);
        await(() -> firstSeen(got, "kill/a").size() == n, "every message on node 2, got "
                + firstSeen(got, "kill/a").size(), 30);
        assertInOrder(n, firstSeen(got, "kill/a"), "kill/a");
    }

    /**
     * A persistent session connected to node 2 (the cluster keeps it: its messages go through JetStream on the session's
     * own subject, and node 2 feeds them from its consumer) and two pipelined QoS 1 publishers on node 1, NATS killed
     * with SIGKILL mid-stream and started again: every message a publisher was acknowledged for reaches the session,
     * each publisher's in publish order, and a message that comes twice comes again with DUP (Paho shows the flag).
     */
    @Test
    void aKeptSessionsMessagesStayInOrderWhenNatsRestarts() throws Exception {
        NatsServer nats = cluster.nats();
        Sluice n1 = cluster.node("kr1");
        Sluice n2 = cluster.node("kr2");
        Arrivals arrivals = new Arrivals();
        org.eclipse.paho.client.mqttv3.MqttAsyncClient sub = new org.eclipse.paho.client.mqttv3.MqttAsyncClient(
                "tcp://127.0.0.1:" + n2.urls().mqttPort(), "kept-reader",
                new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
        sub.setCallback(arrivals);
        org.eclipse.paho.client.mqttv3.MqttConnectOptions options = new org.eclipse.paho.client.mqttv3.MqttConnectOptions();
        options.setCleanSession(false);
        options.setMqttVersion(org.eclipse.paho.client.mqttv3.MqttConnectOptions.MQTT_VERSION_3_1_1);
        sub.connect(options).waitForCompletion(10_000);
        cluster.closeLater(() -> {
            sub.disconnectForcibly(2_000);
            sub.close();
        });
        sub.subscribe("kept/+", 1).waitForCompletion(10_000);
        io.sluice.server.broker.SessionId id = new io.sluice.server.broker.SessionId("mqtt", "kept-reader");
        await(() -> n1.server().cluster().recordedSession(id) != null
                && !n1.server().cluster().recordedSession(id).subscriptions().isEmpty(), "node 1 to know the session");

        int n = 600;
        List<Set<Integer>> acked = new ArrayList<>();
        for (String topic : List.of("kept/a", "kept/b")) {
            acked.add(ClusterFixture.publishInBackground(publisher(n1, "kr-pub-" + topic.substring(5)), topic, n, 64));
        }
        await(() -> arrivals.firstSeen("kept/a").size() >= 100 && arrivals.firstSeen("kept/b").size() >= 100,
                "the first 100 deliveries of each publisher");
        long before = n1.server().cluster().retried();
        nats.kill();
        await(() -> n1.server().cluster().retried() > before, "a send to the session to be tried again");
        nats.restart();
        await(() -> acked.stream().allMatch(a -> a.size() == n), "every PUBACK after NATS came back, got "
                + acked.stream().map(Set::size).toList(), 60);
        await(() -> arrivals.firstSeen("kept/a").size() == n && arrivals.firstSeen("kept/b").size() == n,
                "every message in the session, got " + arrivals.firstSeen("kept/a").size() + " and "
                + arrivals.firstSeen("kept/b").size(), 30);
        for (String topic : List.of("kept/a", "kept/b")) {
            assertInOrder(n, arrivals.firstSeen(topic), topic);
            arrivals.assertRepeatsFlagged(topic);
        }
    }

    /**
     * A parked session's queue (3,000 QoS 1 messages kept in JetStream) fed to it on the other node when it resumes, and
     * NATS killed with SIGKILL and started again mid-feed: every message arrives within 30 s of NATS being back, well
     * under the session consumer's ack wait (an hour), each in publish order, a repeat with DUP. A message JetStream
     * pushed to the feed as NATS went away counts as handed out and would come again only after the ack wait: the
     * node makes the feed's consumer anew when NATS is back, passing over what the feed already has.
     */
    @Test
    void aParkedSessionFedWhileNatsRestartsGetsEveryMessageWellBeforeTheAckWait() throws Exception {
        NatsServer nats = cluster.nats();
        Sluice n1 = cluster.node("pf1", "max-queued-messages", "5000");
        Sluice n2 = cluster.node("pf2", "max-queued-messages", "5000");
        org.eclipse.paho.client.mqttv3.MqttConnectOptions options = new org.eclipse.paho.client.mqttv3.MqttConnectOptions();
        options.setCleanSession(false);
        options.setMqttVersion(org.eclipse.paho.client.mqttv3.MqttConnectOptions.MQTT_VERSION_3_1_1);
        org.eclipse.paho.client.mqttv3.MqttAsyncClient first = new org.eclipse.paho.client.mqttv3.MqttAsyncClient(
                "tcp://127.0.0.1:" + n2.urls().mqttPort(), "parked-feed",
                new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
        first.connect(options).waitForCompletion(10_000);
        first.subscribe("parked/x", 1).waitForCompletion(10_000);
        first.disconnect().waitForCompletion(10_000);
        first.close();
        io.sluice.server.broker.SessionId id = new io.sluice.server.broker.SessionId("mqtt", "parked-feed");
        await(() -> n1.server().cluster().offlineSince(id) > 0, "node 1 to see the session offline");

        int n = 3000;
        Set<Integer> acked = ClusterFixture.publishInBackground(publisher(n1, "pf-pub"), "parked/x", n, 64);
        await(() -> acked.size() == n, "every PUBACK, got " + acked.size(), 60);

        Arrivals arrivals = new Arrivals();
        org.eclipse.paho.client.mqttv3.MqttAsyncClient back = new org.eclipse.paho.client.mqttv3.MqttAsyncClient(
                "tcp://127.0.0.1:" + n1.urls().mqttPort(), "parked-feed",
                new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
        back.setCallback(arrivals);
        back.connect(options).waitForCompletion(10_000);
        cluster.closeLater(() -> {
            back.disconnectForcibly(2_000);
            back.close();
        });
        await(() -> arrivals.firstSeen("parked/x").size() >= 300, "the first 300 of the queue");
        nats.kill();
        nats.restart();
        await(() -> arrivals.firstSeen("parked/x").size() == n, "every message within 30 s of NATS being back, got "
                + arrivals.firstSeen("parked/x").size(), 30);
        assertInOrder(n, arrivals.firstSeen("parked/x"), "parked/x");
        arrivals.assertRepeatsFlagged("parked/x");
    }

    /**
     * Messages JetStream pushed to a kept session's feed in the moment its node's link to NATS broke, and that never
     * arrived, count as handed out: the session's consumer would hand them again only after its ack wait (an hour).
     * Node 1's link to NATS drops what NATS sends (a proxy swallows it) while 50 messages for the session, connected
     * there, are published on node 2 and pushed into the hole; then the link breaks and comes back: all 50 reach the
     * client within 30 s, in publish order, because the node makes the feed's consumer anew when NATS is back.
     */
    @Test
    void whatAKeptSessionsFeedLostAsNatsWentAwayComesWhenItIsBack() throws Exception {
        NatsServer nats = cluster.nats();
        int natsPort = Integer.parseInt(nats.url().substring(nats.url().lastIndexOf(':') + 1));
        TcpCut link = cluster.closeLater(new TcpCut(natsPort));
        Sluice n1 = cluster.node(List.of("nats://127.0.0.1:" + link.port()), "sw1");
        Sluice n2 = cluster.node("sw2");
        Arrivals arrivals = new Arrivals();
        org.eclipse.paho.client.mqttv3.MqttAsyncClient sub = new org.eclipse.paho.client.mqttv3.MqttAsyncClient(
                "tcp://127.0.0.1:" + n1.urls().mqttPort(), "swallowed-feed",
                new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
        sub.setCallback(arrivals);
        org.eclipse.paho.client.mqttv3.MqttConnectOptions options = new org.eclipse.paho.client.mqttv3.MqttConnectOptions();
        options.setCleanSession(false);
        options.setMqttVersion(org.eclipse.paho.client.mqttv3.MqttConnectOptions.MQTT_VERSION_3_1_1);
        sub.connect(options).waitForCompletion(10_000);
        cluster.closeLater(() -> {
            sub.disconnectForcibly(2_000);
            sub.close();
        });
        sub.subscribe("swallowed/x", 1).waitForCompletion(10_000);
        io.sluice.server.broker.SessionId id = new io.sluice.server.broker.SessionId("mqtt", "swallowed-feed");
        String durable = "s-" + ClusterSessions.hash(id);
        try (io.nats.client.Connection watch = io.nats.client.Nats.connect(nats.url())) {
            io.nats.client.JetStreamManagement jsm = watch.jetStreamManagement();
            await(() -> n2.server().cluster().recordedSession(id) != null
                    && !n2.server().cluster().recordedSession(id).subscriptions().isEmpty()
                    && pushBound(jsm, durable), "node 2 to know the session, its feed's consumer bound on node 1");
            link.swallow();
            int n = 50;
            Set<Integer> acked = ClusterFixture.publishInBackground(publisher(n2, "sw-pub"), "swallowed/x", n, 64);
            await(() -> acked.size() == n, "every PUBACK, got " + acked.size());
            await(() -> ackPending(jsm, durable) == n, "JetStream to push all " + n + " into the hole");
            assertEquals(List.of(), arrivals.firstSeen("swallowed/x"), "none through the hole");
            link.cut();
            link.heal();
            await(() -> arrivals.firstSeen("swallowed/x").size() == n, "every message within 30 s of NATS being "
                    + "back (the ack wait is an hour), got " + arrivals.firstSeen("swallowed/x").size(), 30);
            assertInOrder(n, arrivals.firstSeen("swallowed/x"), "swallowed/x");
        }
    }

    private static boolean pushBound(io.nats.client.JetStreamManagement jsm, String durable) {
        try {
            return jsm.getConsumerInfo(ClusterSessions.STREAM, durable).isPushBound();
        } catch (Exception e) {
            return false;
        }
    }

    private static long ackPending(io.nats.client.JetStreamManagement jsm, String durable) {
        try {
            return jsm.getConsumerInfo(ClusterSessions.STREAM, durable).getNumAckPending();
        } catch (Exception e) {
            return -1;
        }
    }

    /** What a Paho subscriber got, per topic, in arrival order, each with its DUP flag. */
    private static final class Arrivals implements org.eclipse.paho.client.mqttv3.MqttCallback {
        private final Map<String, List<int[]>> got = new ConcurrentHashMap<>();

        @Override
        public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage m) {
            got.computeIfAbsent(topic, t -> new CopyOnWriteArrayList<>()).add(new int[] {
                    Integer.parseInt(new String(m.getPayload(), StandardCharsets.UTF_8)), m.isDuplicate() ? 1 : 0});
        }

        List<Integer> firstSeen(String topic) {
            LinkedHashSet<Integer> first = new LinkedHashSet<>();
            got.getOrDefault(topic, List.of()).forEach(a -> first.add(a[0]));
            return new ArrayList<>(first);
        }

        /** A message delivered again (at least once) carries DUP; its first delivery need not. */
        void assertRepeatsFlagged(String topic) {
            Set<Integer> seen = new java.util.HashSet<>();
            for (int[] a : got.getOrDefault(topic, List.of())) {
                if (!seen.add(a[0])) {
                    assertEquals(1, a[1], topic + ": message " + a[0] + " delivered again without DUP");
                }
            }
        }

        @Override
        public void connectionLost(Throwable cause) {
        }

        @Override
        public void deliveryComplete(org.eclipse.paho.client.mqttv3.IMqttDeliveryToken token) {
        }
    }

    /** A clean-session subscriber on {@code node} (HiveMQ client, QoS 1): the payloads it gets per topic, in order. */
    private Map<String, List<Integer>> subscriber(Sluice node, String filter) {
        Mqtt3AsyncClient sub = Mqtt3Client.builder().identifier("order-sub-" + node.server().cluster().nodeId())
                .serverHost("127.0.0.1").serverPort(node.urls().mqttPort()).buildAsync();
        sub.connect().join();
        cluster.closeLater(() -> sub.disconnect().get(5, TimeUnit.SECONDS));
        Map<String, List<Integer>> got = new ConcurrentHashMap<>();
        sub.subscribeWith().topicFilter(filter).qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> got.computeIfAbsent(p.getTopic().toString(), t -> new CopyOnWriteArrayList<>())
                        .add(Integer.parseInt(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))))
                .send().join();
        return got;
    }

    private Mqtt3AsyncClient publisher(Sluice node, String id) {
        Mqtt3AsyncClient pub = Mqtt3Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(node.urls().mqttPort()).buildAsync();
        pub.connect().join();
        cluster.closeLater(() -> pub.disconnect().get(5, TimeUnit.SECONDS));
        return pub;
    }

    /**
     * What arrived on {@code topic}, each payload at its first arrival: a repeat (at least once) is not a reordering,
     * a later message before an earlier one is.
     */
    private static List<Integer> firstSeen(Map<String, List<Integer>> got, String topic) {
        return new ArrayList<>(new LinkedHashSet<>(got.getOrDefault(topic, List.of())));
    }

    /** {@code got} is 0..n-1; if not, the message shows where it first differs. */
    private static void assertInOrder(int n, List<Integer> got, String topic) {
        for (int i = 0; i < Math.min(n, got.size()); i++) {
            if (got.get(i) != i) {
                throw new AssertionError(topic + " out of publish order at position " + i + ": "
                        + got.subList(Math.max(0, i - 3), Math.min(got.size(), i + 8)));
            }
        }
        assertEquals(n, got.size(), "messages on " + topic);
    }
}
