package io.sluice.server.cluster;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5PubAckException;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PublishResult;
import com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode;
import io.nats.client.Connection;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.server.mqtt.RawMqttClient;
import io.nats.client.Nats;
import io.sluice.server.BrokerProcess;
import io.sluice.server.Sluice;
import io.sluice.server.StablePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static io.sluice.server.cluster.ClusterFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a cluster promises when something fails or is slow: a slow subscriber on one node holds publishers on
 * another within a bound; NATS restarted mid-stream and a node killed with SIGKILL mid-stream lose no QoS 1
 * message its publisher got a PUBACK for.
 */
class ClusterFailureTest {
    @RegisterExtension
    final ClusterFixture cluster = new ClusterFixture();

    private static Set<Integer> numbers(List<String> payloads) {
        Set<Integer> s = new TreeSet<>();
        for (String p : payloads) {
            if (p.chars().allMatch(Character::isDigit)) {
                s.add(Integer.parseInt(p));
            }
        }
        return s;
    }

    /**
     * The bound: the subscriber's window (5) and queue (5) on node 2, and what node 1 sends node 2 ahead of its reports
     * of room (its window: a part of the 10 JetStream keeps for node 2, unacknowledged share included): past 20
     * messages the publisher on node 1 gets no PUBACK until the subscriber acknowledges, and then every message
     * arrives.
     */
    @Test
    void aSlowSubscriberOnOneNodeHoldsThePublisherOnAnotherWithinTheBound() throws Exception {
        NatsServer nats = cluster.nats();
        // each message alone: the bound counts JetStream messages, a batch once
        Sluice n1 = cluster.node("bp1", "cluster-max-pending", "10", "cluster-batch", "1");
        Sluice n2 = cluster.node("bp2", "cluster-max-pending", "10", "cluster-max-ack-pending", "5",
                "max-queued-messages", "5", "cluster-ack-wait", "500ms");
        Mqtt5AsyncClient sub = Mqtt5Client.builder().identifier("bp-sub").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        sub.connectWith().restrictions().receiveMaximum(5).applyRestrictions().send().join();
        List<Mqtt5Publish> held = new CopyOnWriteArrayList<>();
        sub.subscribeWith().topicFilter("bp/x").qos(MqttQos.AT_LEAST_ONCE).callback(held::add)
                .manualAcknowledgement(true).send().join();
        await(() -> n1.server().cluster().nodesFor("bp/x").contains("bp2"), "the route to bp2");

        Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier("bp-pub").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        pub.connect().join();
        int n = 100;
        Set<Integer> acked = ConcurrentHashMap.newKeySet();
        for (int i = 0; i < n; i++) {
            int seq = i;
            pub.publishWith().topic("bp/x").qos(MqttQos.AT_LEAST_ONCE).payload(Integer.toString(i).getBytes())
                    .send().thenAccept(r -> acked.add(seq));
        }
        try (Connection c = Nats.connect(nats.url())) {
            int window = n1.server().cluster().window();
            assertTrue(window > 0 && window < 10, "node 1's window, a part of node 2's bound: " + window);
            await(() -> streamMessages(c) >= window, "JetStream to hold node 1's window for node 2, " + window);
        }
        // the pipelined publisher can fill JetStream's share before node 2's deliveries reach the subscriber
        await(() -> held.size() == 5, "the subscriber's window of 5, got " + held.size());
        assertTrue(acked.size() <= 20, "acknowledged past the bound: " + acked.size());
        assertTrue(acked.size() < n);
        // held for several ack waits: "in progress" keeps JetStream from handing the held messages again
        Thread.sleep(2_000);
        try (Connection c = Nats.connect(nats.url())) {
            assertEquals(0, c.jetStreamManagement().getConsumerInfo(NatsCluster.STREAM, "node-bp2").getRedelivered(),
                    "messages handed again while node 2 held them for room");
        }
        assertEquals(5, held.size(), "the subscriber's window, still");

        // the subscriber catches up: the publisher is released and nothing was lost on the way
        Set<Integer> got = ConcurrentHashMap.newKeySet();
        Thread acker = new Thread(() -> {
            int next = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (got.size() < n && System.nanoTime() < deadline) {
                if (next < held.size()) {
                    Mqtt5Publish p = held.get(next++);
                    got.add(Integer.parseInt(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)));
                    p.acknowledge();
                } else {
                    Thread.onSpinWait();
                }
            }
        });
        acker.start();
        await(() -> acked.size() == n && got.size() == n, "every message acknowledged and delivered, got "
                + got.size() + ", acked " + acked.size());
        acker.join();
        assertEquals(n, held.size(), "each message delivered once");
        sub.disconnect().join();
        pub.disconnect().join();
    }

    /**
     * A publisher reads on while other nodes take its messages (pipelined), and its PUBACKs still go out in the order
     * of its PUBLISHes (MQTT 3.1.1 section 4.6): one that a full node holds back holds back the acknowledgements of
     * those after it, though they were delivered; released, every PUBACK comes, in order.
     */
    @Test
    void publishesPipelineAcrossNodesAndTheirPubacksKeepTheirOrder() throws Exception {
        Sluice n1 = cluster.node("po1", "cluster-max-pending", "2");
        Sluice n2 = cluster.node("po2", "cluster-max-pending", "2", "cluster-max-ack-pending", "1",
                "max-queued-messages", "1");
        Mqtt5AsyncClient slow = Mqtt5Client.builder().identifier("po-slow").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        slow.connectWith().restrictions().receiveMaximum(1).applyRestrictions().send().join();
        List<Mqtt5Publish> held = new CopyOnWriteArrayList<>();
        slow.subscribeWith().topicFilter("po/slow").qos(MqttQos.AT_LEAST_ONCE).callback(held::add)
                .manualAcknowledgement(true).send().join();
        Mqtt3AsyncClient fast = Mqtt3Client.builder().identifier("po-fast").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        fast.connect().join();
        List<String> fastGot = new CopyOnWriteArrayList<>();
        fast.subscribeWith().topicFilter("po/fast").qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> fastGot.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))).send().join();
        await(() -> n1.server().cluster().nodesFor("po/slow").contains("po2"), "the route to po2");

        int slowCount = 8;
        int total = 28;
        try (RawMqttClient pub = RawMqttClient.connected(n1.urls().mqttPort(), MqttVersion.MQTT_3_1_1, "po-pub", true)) {
            for (int id = 1; id <= total; id++) {
                pub.send(MqttMessageBuilders.publish().topicName(id <= slowCount ? "po/slow" : "po/fast")
                        .qos(io.netty.handler.codec.mqtt.MqttQoS.AT_LEAST_ONCE).messageId(id)
                        .payload(Unpooled.copiedBuffer(Integer.toString(id), StandardCharsets.UTF_8)).build());
            }
            // read on past the publishes node 2 cannot take yet: the later ones are delivered here
            await(() -> fastGot.size() == total - slowCount, "the publishes behind the held ones, got " + fastGot.size());
            List<Integer> acks = new ArrayList<>();
            for (MqttMessage m; (m = pub.next(200)) != null; ) {
                acks.add(((MqttMessageIdVariableHeader) m.variableHeader()).messageId());
            }
            assertTrue(acks.size() < slowCount, "PUBACKs past the held publish: " + acks);
            assertEquals(IntStream.rangeClosed(1, acks.size()).boxed().toList(), acks, "PUBACKs in PUBLISH order");

            Thread acker = new Thread(() -> {
                int next = 0;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (next < slowCount && System.nanoTime() < deadline) {
                    if (next < held.size()) {
                        held.get(next++).acknowledge();
                    } else {
                        Thread.onSpinWait();
                    }
                }
            });
            acker.start();
            while (acks.size() < total) {
                MqttMessage m = pub.expect(MqttMessageType.PUBACK);
                acks.add(((MqttMessageIdVariableHeader) m.variableHeader()).messageId());
            }
            acker.join();
            assertEquals(IntStream.rangeClosed(1, total).boxed().toList(), acks, "PUBACKs in PUBLISH order");
            assertEquals(slowCount, held.size(), "every held publish delivered once");
        }
        slow.disconnect().join();
        fast.disconnect().join();
    }

    private static long streamMessages(Connection c) {
        try {
            return c.jetStreamManagement().getStreamInfo(NatsCluster.STREAM).getStreamState().getMsgCount();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void natsRestartedMidStreamLosesNoAcknowledgedMessage() throws Exception {
        NatsServer nats = cluster.nats();
        Sluice n1 = cluster.node("r1", "cluster-publish-timeout", "1s");
        Sluice n2 = cluster.node("r2");
        Mqtt3AsyncClient sub = Mqtt3Client.builder().identifier("restart-sub").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        sub.connect().join();
        List<String> got = new CopyOnWriteArrayList<>();
        sub.subscribeWith().topicFilter("restart/x").qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> got.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))).send().join();
        await(() -> n1.server().cluster().nodesFor("restart/x").contains("r2"), "the route to r2");

        Mqtt3AsyncClient pub = Mqtt3Client.builder().identifier("restart-pub").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        pub.connect().join();
        int n = 300;
        Set<Integer> acked = ClusterFixture.publishInBackground(pub, "restart/x", n, 10);
        await(() -> acked.size() >= 50, "the first 50 PUBACKs");
        nats.kill();

        // while NATS is away: local traffic goes on; an MQTT 5 publish for another node is refused with 0x97
        Mqtt5AsyncClient v5 = Mqtt5Client.builder().identifier("restart-v5").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        v5.connect().join();
        Mqtt5PubAckReasonCode reason;
        try {
            var result = v5.publishWith().topic("restart/x").qos(MqttQos.AT_LEAST_ONCE).payload("v5".getBytes()).send()
                    .get(20, TimeUnit.SECONDS);
            reason = ((Mqtt5PublishResult.Mqtt5Qos1Result) result).getPubAck().getReasonCode();
        } catch (java.util.concurrent.ExecutionException e) {
            // the client reports an error reason code as a failure
            reason = ((Mqtt5PubAckException) e.getCause()).getMqttMessage().getReasonCode();
        }
        assertEquals(Mqtt5PubAckReasonCode.QUOTA_EXCEEDED, reason);
        int ackedWhileDown = acked.size();
        assertTrue(ackedWhileDown < n, "publishes for another node are held while NATS is away");

        nats.restart();
        await(() -> acked.size() == n, "every PUBACK after NATS came back, got " + acked.size());
        await(() -> numbers(got).size() == n, "every message on node 2, got " + numbers(got).size());
        assertTrue(numbers(got).containsAll(acked));
        v5.disconnect().join();
        pub.disconnect().join();
        sub.disconnect().join();
    }

    /**
     * Blocking cluster work on a node (a slow KV read or JetStream call on its retry thread, three node timeouts long
     * here) delays neither its heartbeats nor its check of the others: the other node never sees it down.
     */
    @Test
    void blockingClusterWorkLongerThanTheNodeTimeoutLeavesTheNodeAlive() throws Exception {
        Sluice a = cluster.node("busy-a", "cluster-node-timeout", "1s");
        Sluice b = cluster.node("busy-b", "cluster-node-timeout", "1s");
        await(() -> Boolean.TRUE.equals(a.server().cluster().otherNodes().get("busy-b"))
                && Boolean.TRUE.equals(b.server().cluster().otherNodes().get("busy-a")), "the nodes to hear each other");
        java.util.concurrent.CountDownLatch released = new java.util.concurrent.CountDownLatch(1);
        b.server().cluster().onRetryThread(() -> {
            try {
                Thread.sleep(3000); // stands for a JetStream call that takes long to answer
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            released.countDown();
        });
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!released.await(20, TimeUnit.MILLISECONDS)) {
            assertEquals(Boolean.TRUE, a.server().cluster().otherNodes().get("busy-b"), "node b seen alive by a");
            assertEquals(Boolean.TRUE, b.server().cluster().otherNodes().get("busy-a"), "node a seen alive by b");
            assertTrue(System.nanoTime() < until, "the blocking task to end");
        }
    }

    /**
     * A node whose NATS does not answer as it starts (its link cut, as a NATS server still starting or a machine busy
     * for a moment would) keeps trying and joins the cluster once NATS answers, instead of failing its start.
     */
    @Test
    void aNodeStartedWhileNatsDoesNotAnswerJoinsOnceItDoes() throws Exception {
        NatsServer nats = cluster.nats();
        TcpCut link = cluster.closeLater(new TcpCut(Integer.parseInt(nats.url().substring(nats.url().lastIndexOf(':') + 1))));
        link.cut();
        java.util.concurrent.CompletableFuture<Sluice> starting = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> cluster.node(List.of("nats://127.0.0.1:" + link.port()), "late1"));
        await(() -> link.turnedAway() >= 2, "the starting node to try NATS twice");
        assertTrue(!starting.isDone(), "the start waits for NATS");
        link.heal();
        Sluice late = starting.get(60, TimeUnit.SECONDS);
        Sluice other = cluster.node("late2");
        Mqtt3AsyncClient sub = Mqtt3Client.builder().identifier("late-sub").serverHost("127.0.0.1")
                .serverPort(late.urls().mqttPort()).buildAsync();
        sub.connect().join();
        sub.subscribeWith().topicFilter("late/x").qos(MqttQos.AT_LEAST_ONCE).send().join();
        await(() -> other.server().cluster().nodesFor("late/x").contains("late1"), "the late node's route on node 2");
        sub.disconnect().join();
    }

    /** A node back within the node timeout (long here) misses nothing: JetStream kept what was routed to it. */
    @Test
    void aSubscribersNodeKilledMidStreamLosesNoAcknowledgedMessage() throws Exception {
        Sluice n1 = cluster.node("k1", "cluster-node-timeout", "2m");
        // the node restarts on the same port: one below the ephemeral range, which a client socket cannot take meanwhile
        int port = StablePorts.free();
        String[] flags = {"--persistence", "rocksdb", "--data-dir", cluster.dir().resolve("k2").toString()};
        BrokerProcess n2 = cluster.process("k2", port, flags);
        List<String> got = new CopyOnWriteArrayList<>();
        Mqtt3AsyncClient sub = persistentSubscriber(port, got);
        sub.subscribeWith().topicFilter("kill/x").qos(MqttQos.AT_LEAST_ONCE).send().join();
        // a persistent session is kept by the cluster: node 1 routes to it, not to node 2
        io.sluice.server.broker.SessionId kept = new io.sluice.server.broker.SessionId("mqtt", "kill-sub-" + port);
        await(() -> n1.server().cluster().keptSession(kept) != null
                && !n1.server().cluster().keptSession(kept).subscriptions().isEmpty(), "node 1 to know the persistent session");

        Mqtt3AsyncClient pub = Mqtt3Client.builder().identifier("kill-pub").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        pub.connect().join();
        int n = 300;
        Set<Integer> acked = ClusterFixture.publishInBackground(pub, "kill/x", n, 10);
        await(() -> got.size() >= 50, "the first 50 deliveries on node 2");
        n2.kill();
        // the publisher goes on: what node 2 must deliver waits in JetStream, acknowledged
        await(() -> acked.size() == n, "every PUBACK with node 2 down, got " + acked.size());

        cluster.process("k2", port, flags);
        Mqtt3AsyncClient back = persistentSubscriber(port, got);
        await(() -> numbers(got).size() == n, "every acknowledged message after node 2 came back, got "
                + numbers(got).size() + " of " + n);
        assertTrue(numbers(got).containsAll(acked));
        back.disconnect().join();
        pub.disconnect().join();
    }

    @Test
    void oneOfThreeNatsServersKilledMidStreamWithReplicasThreeLosesNoAcknowledgedMessage() throws Exception {
        List<NatsServer> servers = cluster.startNatsCluster("nats3", 3);
        List<String> urls = servers.stream().map(NatsServer::url).toList();
        long ackWait = 2_000;
        Sluice n1 = cluster.node(urls, "t1", "cluster-replicas", "3", "cluster-ack-wait", ackWait + "ms");
        Sluice n2 = cluster.node(urls, "t2", "cluster-replicas", "3", "cluster-ack-wait", ackWait + "ms");
        Mqtt3AsyncClient sub = Mqtt3Client.builder().identifier("r3-sub").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        sub.connect().join();
        List<String> got = new CopyOnWriteArrayList<>();
        sub.subscribeWith().topicFilter("r3/x").qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> got.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))).send().join();
        await(() -> n1.server().cluster().nodesFor("r3/x").contains("t2"), "the route to t2");

        Mqtt3AsyncClient pub = Mqtt3Client.builder().identifier("r3-pub").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        pub.connect().join();
        int n = 200;
        Set<Integer> acked = ClusterFixture.publishInBackground(pub, "r3/x", n, 10);
        await(() -> acked.size() >= 50, "the first 50 PUBACKs");
        servers.get(0).kill();
        await(() -> acked.size() == n, "every PUBACK with two NATS servers of three, got " + acked.size());
        // a delivery to node 2 that went through the killed server is lost on the way and JetStream hands it again
        // once node 2's ack wait (--cluster-ack-wait) has passed: allow for that on top of the usual path
        await(() -> numbers(got).size() == n, "every message on node 2 (some handed again after the ack wait)",
                15 + (int) (ackWait / 1000));
        assertTrue(numbers(got).containsAll(acked));
        pub.disconnect().join();
        sub.disconnect().join();
    }

    /**
     * A node killed with SIGKILL holds no one for longer than the node timeout, and its share of the stream never
     * reaches its bound (10): node 1 holds its lane to lv3 to its window, the publisher waits, and once lv3 is not heard
     * for 2 s its routes are set aside, what node 1 held for lv3's room is given up for it (never put into JetStream)
     * and the publisher flows again to node 2. What JetStream took for lv3 stays there for it, and reaches it when it
     * returns, with its routes. At the bound, nats-server 2.9 on a NATS cluster may acknowledge a publish it does not
     * keep, so a dead node's share must stay under it whatever the publishers do.
     */
    @Test
    void aDeadNodeHoldsPublishersOnlyUntilTheNodeTimeoutAndItsShareStaysUnderTheBound() throws Exception {
        NatsServer nats = cluster.nats();
        // each message alone: the bound counts JetStream messages, a batch once
        String[] common = {"cluster-max-pending", "10", "cluster-node-timeout", "2s", "cluster-batch", "1"};
        Sluice n1 = cluster.node("lv1", common);
        Sluice n2 = cluster.node("lv2", common);
        // the node restarts on the same port: one below the ephemeral range, which a client socket cannot take meanwhile
        int port = StablePorts.free();
        // the persistent session stays on lv3 (in its store), so lv3 has a route of its own
        String[] flags = {"--cluster-max-pending", "10", "--cluster-sessions", "node", "--cluster-node-timeout", "2s",
                "--persistence", "rocksdb", "--data-dir", cluster.dir().resolve("lv3").toString()};
        BrokerProcess n3 = cluster.process("lv3", port, flags);
        List<String> on3 = new CopyOnWriteArrayList<>();
        Mqtt3AsyncClient sub3 = persistentSubscriber(port, on3);
        sub3.subscribeWith().topicFilter("live/x").qos(MqttQos.AT_LEAST_ONCE).send().join();
        Mqtt3AsyncClient sub2 = Mqtt3Client.builder().identifier("live-sub2").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        sub2.connect().join();
        List<String> on2 = new CopyOnWriteArrayList<>();
        sub2.subscribeWith().topicFilter("live/x").qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> on2.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))).send().join();
        await(() -> n1.server().cluster().nodesFor("live/x").containsAll(List.of("lv2", "lv3")), "the routes to lv2, lv3");
        await(() -> n1.server().cluster().otherNodes().getOrDefault("lv3", false), "lv3 heard");
        // two nodes may send to each: (10 / 2 - 2) / 2 = 1 each (the window follows the nodes known every second)
        await(() -> n1.server().cluster().window() == 1, "node 1's window for two senders to a bound of 10, is "
                + n1.server().cluster().window());
        int window = n1.server().cluster().window();

        n3.kill();
        Mqtt3AsyncClient pub = Mqtt3Client.builder().identifier("live-pub").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        pub.connect().join();
        int n = 100;
        long most = 0;
        Set<Integer> acked;
        try (Connection c = Nats.connect(nats.url())) {
            acked = ClusterFixture.publishInBackground(pub, "live/x", n, 10);
            // the publisher waits for lv3 until the node timeout releases it; lv3's share is watched all the while
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (acked.size() < n && System.nanoTime() < deadline) {
                most = Math.max(most, heldFor(c, "lv3"));
                Thread.sleep(5);
            }
            Set<Integer> a = acked;
            await(() -> a.size() == n, "every PUBACK with lv3 dead, got " + a.size());
            await(() -> numbers(on2).size() == n, "every message on lv2, got " + numbers(on2).size());
            assertEquals(List.of("lv2"), n1.server().cluster().nodesFor("live/x"), "lv3's routes set aside");
            assertEquals(false, n1.server().cluster().otherNodes().get("lv3"));
            long kept = heldFor(c, "lv3");
            most = Math.max(most, kept);
            // within the window and the sends past it while no report came (one a second until the timeout)
            long past = n1.server().cluster().sentPastWindow();
            assertTrue(kept >= 1 && most < 10 && most <= window + past + 1, "JetStream held " + most + " for lv3 at "
                    + "most (bound 10, window " + window + ", " + past + " sent past it), " + kept + " now");
            assertEquals(0, n1.server().cluster().refusedAtBound(), "JetStream refused nothing at lv3's bound");
            assertTrue(n1.server().cluster().gaveUpForDownNodes() > 0,
                    "nothing waited for lv3's room when it was found down: the test did not test");

            // lv3 returns: heard again, its routes are back, and it gets what JetStream kept for it
            BrokerProcess again = cluster.process("lv3", port, flags);
            Mqtt3AsyncClient back = persistentSubscriber(port, on3);
            await(() -> n1.server().cluster().nodesFor("live/x").contains("lv3"), "lv3's routes back");
            await(() -> numbers(on3).size() == kept, "the " + kept + " messages JetStream kept for lv3 delivered "
                    + "there, got " + numbers(on3).size());
            assertTrue(acked.containsAll(numbers(on3)));
            await(() -> heldFor(c, "lv3") == 0, "JetStream to hold nothing more for lv3");
            back.disconnect().join();
            assertTrue(again.isAlive());
        }
        pub.disconnect().join();
        sub2.disconnect().join();
    }

    /**
     * Without a window only the stream's per-node bound holds publishers, and on a NATS cluster nats-server 2.9 may
     * acknowledge a publish refused at that bound and not keep it: a node asked for no window on a replicated stream
     * does not start, and says why.
     */
    @Test
    void noWindowOnAReplicatedStreamIsRefusedAtStart() throws Exception {
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> cluster.process("nowin", 0, "--cluster-send-window", "0", "--cluster-replicas", "3"));
        assertTrue(e.getMessage().contains("--cluster-send-window 0 needs --cluster-replicas 1"), e.getMessage());
        // one replica, where JetStream refuses at the bound as it should: it starts
        BrokerProcess ok = cluster.process("nowin1", 0, "--cluster-send-window", "0");
        assertTrue(ok.isAlive());
    }

    /** The messages the stream holds for {@code node}. */
    private static long heldFor(Connection c, String node) {
        try {
            String subject = NatsCluster.NODE_SUBJECT + node;
            return c.jetStreamManagement().getStreamInfo(NatsCluster.STREAM,
                    io.nats.client.api.StreamInfoOptions.filterSubjects(subject)).getStreamState().getSubjectMap()
                    .getOrDefault(subject, 0L);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** A client with a persistent session (clean session 0) that acknowledges what it gets, on node 2. */
    private static Mqtt3AsyncClient persistentSubscriber(int port, List<String> got) {
        Mqtt3AsyncClient c = Mqtt3Client.builder().identifier("kill-sub-" + port).serverHost("127.0.0.1").serverPort(port)
                .buildAsync();
        c.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL,
                p -> got.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)));
        c.connectWith().cleanSession(false).send().join();
        return c;
    }
}
