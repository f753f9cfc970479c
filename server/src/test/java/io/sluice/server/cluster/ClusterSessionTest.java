package io.sluice.server.cluster;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5PubAckException;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode;
import io.sluice.server.BrokerProcess;
import io.sluice.server.Sluice;
import io.sluice.server.broker.BrokerStats;
import io.sluice.server.broker.ClusterBus;
import io.sluice.server.broker.SessionId;
import io.sluice.server.broker.SubscriptionOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.cluster.ClusterFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Persistent sessions kept by the cluster: one resumes on another node with its subscriptions (options and
 * identifiers) and its queued messages after a clean disconnect, and after the node that had it was killed with
 * SIGKILL, losing no message its publisher got a PUBACK for and keeping their order.
 */
class ClusterSessionTest {
    @RegisterExtension
    static final ClusterFixture cluster = new ClusterFixture();
    static Sluice n1;
    static Sluice n2;

    @BeforeAll
    static void start() throws Exception {
        n1 = cluster.node("s1");
        n2 = cluster.node("s2");
    }

    /** What the node's view holds of a kept session (a look that, unlike a connect's, never ends an expired one). */
    private static ClusterBus.KeptSession kept(Sluice node, String clientId) {
        return node.server().cluster().recordedSession(new SessionId("mqtt", clientId));
    }

    private static String text(Mqtt5Publish p) {
        return new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void aPersistentSessionMovesToAnotherNodeWithItsSubscriptionsAndQueuedMessages() throws Exception {
        Mqtt5AsyncClient first = Mqtt5Client.builder().identifier("mover").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        List<Mqtt5Publish> before = new CopyOnWriteArrayList<>();
        first.publishes(MqttGlobalPublishFilter.ALL, before::add);
        first.connectWith().cleanStart(false).sessionExpiryInterval(300).send().join();
        first.subscribeWith().topicFilter("move/a").qos(MqttQos.AT_LEAST_ONCE).send().join();
        first.subscribeWith().addSubscription().topicFilter("move/b/+").qos(MqttQos.AT_MOST_ONCE).noLocal(true)
                .applySubscription().send().join();
        await(() -> kept(n2, "mover") != null && kept(n2, "mover").subscriptions().size() == 2,
                "node 2 to know the session's two subscriptions");

        Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier("mover-pub").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        pub.connect().join();
        pub.publishWith().topic("move/a").qos(MqttQos.AT_LEAST_ONCE).payload("online".getBytes()).send().join();
        await(() -> before.size() == 1, "the message while connected to node 1");
        // what node 2 knows of the session: every subscription with its options
        List<ClusterBus.KeptSubscription> subs = new ArrayList<>(kept(n2, "mover").subscriptions());
        subs.sort(java.util.Comparator.comparing(ClusterBus.KeptSubscription::filter));
        // (the HiveMQ client gives each subscription an identifier of its own)
        assertEquals(List.of(new ClusterBus.KeptSubscription("move/a", null,
                        new SubscriptionOptions(1, false, false, 0, subs.get(0).options().subscriptionId())),
                new ClusterBus.KeptSubscription("move/b/+", null,
                        new SubscriptionOptions(0, true, false, 0, subs.get(1).options().subscriptionId()))), subs);
        assertTrue(subs.get(0).options().subscriptionId() != 0 && subs.get(1).options().subscriptionId() != 0,
                "subscription identifiers kept: " + subs);
        first.disconnect().join();

        // queued while the session is offline: acknowledged to the publisher once JetStream holds them
        int n = 50;
        for (int i = 0; i < n; i++) {
            pub.publishWith().topic("move/a").qos(MqttQos.AT_LEAST_ONCE).payload(Integer.toString(i).getBytes())
                    .send().join();
        }
        for (int i = 0; i < 5; i++) {
            pub.publishWith().topic("move/b/" + i).qos(MqttQos.AT_LEAST_ONCE).payload(("b" + i).getBytes()).send().join();
        }
        await(() -> kept(n2, "mover") != null, "the session still kept");

        Mqtt5AsyncClient second = Mqtt5Client.builder().identifier("mover").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        List<Mqtt5Publish> after = new CopyOnWriteArrayList<>();
        second.publishes(MqttGlobalPublishFilter.ALL, after::add);
        Mqtt5ConnAck ack = second.connectWith().cleanStart(false).sessionExpiryInterval(300).send().join();
        assertTrue(ack.isSessionPresent(), "the session is present on node 2");
        await(() -> after.size() == n + 5, "every queued message on node 2, got " + after.size());

        List<String> a = after.stream().filter(p -> p.getTopic().toString().equals("move/a")).map(ClusterSessionTest::text).toList();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            expected.add(Integer.toString(i));
        }
        assertEquals(expected, a, "every queued message, once, in order");
        for (Mqtt5Publish p : after) {
            if (p.getTopic().toString().equals("move/a")) {
                assertEquals(MqttQos.AT_LEAST_ONCE, p.getQos());
            } else {
                assertEquals(MqttQos.AT_MOST_ONCE, p.getQos(), "the subscription's QoS 0 kept");
            }
        }

        // the subscriptions are live on node 2: a publish from node 1 reaches it there
        Mqtt5AsyncClient pub1 = Mqtt5Client.builder().identifier("mover-pub1").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        pub1.connect().join();
        pub1.publishWith().topic("move/a").qos(MqttQos.AT_LEAST_ONCE).payload("later".getBytes()).send().join();
        await(() -> after.stream().anyMatch(p -> text(p).equals("later")), "a later publish from node 1");

        // a clean start ends it everywhere
        second.disconnect().join();
        Mqtt5AsyncClient fresh = Mqtt5Client.builder().identifier("mover").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        assertTrue(!fresh.connectWith().cleanStart(true).send().join().isSessionPresent());
        await(() -> kept(n2, "mover") == null, "the ended session gone from node 2");
        fresh.disconnect().join();
        pub.disconnect().join();
        pub1.disconnect().join();
    }

    @Test
    void aSessionOfflinePastItsExpiryIsGoneOnEveryNodeWithItsMessages() {
        Mqtt5AsyncClient first = Mqtt5Client.builder().identifier("expiring").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        first.connectWith().cleanStart(false).sessionExpiryInterval(1).send().join();
        first.subscribeWith().topicFilter("expire/x").qos(MqttQos.AT_LEAST_ONCE).send().join();
        await(() -> kept(n2, "expiring") != null, "node 2 to know the session");
        first.disconnect().join();
        Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier("expiring-pub").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        pub.connect().join();
        for (int i = 0; i < 3; i++) {
            pub.publishWith().topic("expire/x").qos(MqttQos.AT_LEAST_ONCE).payload(("old-" + i).getBytes()).send().join();
        }
        await(() -> kept(n1, "expiring") == null && kept(n2, "expiring") == null, "the session expired on both nodes");

        Mqtt5AsyncClient again = Mqtt5Client.builder().identifier("expiring").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        List<String> got = new CopyOnWriteArrayList<>();
        again.publishes(MqttGlobalPublishFilter.ALL, p -> got.add(text(p)));
        assertTrue(!again.connectWith().cleanStart(false).sessionExpiryInterval(60).send().join().isSessionPresent(),
                "no session present after its expiry");
        again.subscribeWith().topicFilter("expire/x").qos(MqttQos.AT_LEAST_ONCE).send().join();
        pub.publishWith().topic("expire/x").qos(MqttQos.AT_LEAST_ONCE).payload("new".getBytes()).send().join();
        // the new session's queue is the same subject: what the expired one held would come first
        await(() -> !got.isEmpty(), "the new message");
        assertEquals(List.of("new"), got, "none of the expired session's messages");
        again.disconnectWith().sessionExpiryInterval(0).send().join();
        pub.disconnect().join();
    }

    /**
     * The bound of a kept session's queue is --max-queued-messages (5 here, on a NATS of its own: the stream's bound
     * is cluster-wide): offline and full, a message is dropped for it alone (its publisher acknowledged, the drop
     * counted) and it gets the first 5 when it returns; connected and not acknowledging, its publisher is held at
     * the bound (an MQTT 5 one refused with 0x97 after --cluster-publish-timeout), and once it acknowledges the
     * next messages arrive.
     */
    @Test
    void aKeptSessionsQueueIsBoundedDroppingWhileOfflineHoldingWhileConnected() throws Exception {
        NatsServer own = cluster.startNats("nats-bound");
        Sluice b = cluster.node(own, "b1", "max-queued-messages", "5", "cluster-publish-timeout", "1000ms");
        Mqtt5AsyncClient sub = Mqtt5Client.builder().identifier("bounded").serverHost("127.0.0.1")
                .serverPort(b.urls().mqttPort()).buildAsync();
        sub.connectWith().cleanStart(false).sessionExpiryInterval(300).send().join();
        sub.subscribeWith().topicFilter("bound/x").qos(MqttQos.AT_LEAST_ONCE).send().join();
        sub.disconnect().join();
        // the client's DISCONNECT is sent, not yet handled: the drops below need the node to see it offline
        await(() -> b.server().cluster().offlineSince(new SessionId("mqtt", "bounded")) > 0,
                "the node to see the session offline");
        Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier("bounded-pub").serverHost("127.0.0.1")
                .serverPort(b.urls().mqttPort()).buildAsync();
        pub.connect().join();
        long droppedBefore = b.server().broker().stats().drops(BrokerStats.Drop.OFFLINE_QUEUE_FULL);
        for (int i = 0; i < 8; i++) {
            pub.publishWith().topic("bound/x").qos(MqttQos.AT_LEAST_ONCE).payload(("off-" + i).getBytes())
                    .send().get(30, TimeUnit.SECONDS);
        }
        assertEquals(3, b.server().broker().stats().drops(BrokerStats.Drop.OFFLINE_QUEUE_FULL) - droppedBefore,
                "dropped for the offline session past its bound");

        Mqtt5AsyncClient back = Mqtt5Client.builder().identifier("bounded").serverHost("127.0.0.1")
                .serverPort(b.urls().mqttPort()).buildAsync();
        List<Mqtt5Publish> held = new CopyOnWriteArrayList<>();
        back.publishes(MqttGlobalPublishFilter.ALL, held::add, true);
        back.connectWith().cleanStart(false).sessionExpiryInterval(300).send().join();
        await(() -> held.size() == 5, "the 5 kept while offline, got " + held.size());
        assertEquals(List.of("off-0", "off-1", "off-2", "off-3", "off-4"),
                held.stream().map(ClusterSessionTest::text).toList());

        // connected, acknowledging nothing: its 5 are unacknowledged, so the next publish is held at the bound,
        // and refused with 0x97 once --cluster-publish-timeout passed (an MQTT 3.1.1 publisher would wait on)
        try {
            pub.publishWith().topic("bound/x").qos(MqttQos.AT_LEAST_ONCE).payload("on-0".getBytes()).send()
                    .get(30, TimeUnit.SECONDS);
            throw new AssertionError("a publish past a connected session's bound was accepted");
        } catch (java.util.concurrent.ExecutionException e) {
            assertEquals(Mqtt5PubAckReasonCode.QUOTA_EXCEEDED,
                    ((Mqtt5PubAckException) e.getCause()).getMqttMessage().getReasonCode());
        }
        assertEquals(5, held.size(), "nothing past the client's unacknowledged messages");
        held.forEach(Mqtt5Publish::acknowledge);
        for (int i = 1; i <= 3; i++) {
            pub.publishWith().topic("bound/x").qos(MqttQos.AT_LEAST_ONCE).payload(("on-" + i).getBytes()).send()
                    .get(30, TimeUnit.SECONDS);
        }
        await(() -> held.size() == 8, "the later messages once it acknowledged, got " + held.size());
        assertEquals(List.of("on-1", "on-2", "on-3"), held.subList(5, 8).stream().map(ClusterSessionTest::text).toList());
        held.subList(5, 8).forEach(Mqtt5Publish::acknowledge);
        back.disconnectWith().sessionExpiryInterval(0).send().join();
        pub.disconnect().join();
    }

    @Test
    void aPersistentSessionContinuesOnAnotherNodeAfterItsNodeWasKilled() throws Exception {
        BrokerProcess.Ports ports = BrokerProcess.Ports.free();
        BrokerProcess doomed = cluster.process("s3", ports.mqtt());
        List<String> got = new CopyOnWriteArrayList<>();
        Mqtt3AsyncClient sub = subscriber(ports.mqtt(), got);
        sub.subscribeWith().topicFilter("kill/s").qos(MqttQos.AT_LEAST_ONCE).send().join();
        await(() -> kept(n2, "survivor") != null && !kept(n2, "survivor").subscriptions().isEmpty(),
                "node 2 to know the session");

        Mqtt3AsyncClient pub = Mqtt3Client.builder().identifier("survivor-pub").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        pub.connect().join();
        int n = 300;
        Set<Integer> acked = ClusterFixture.publishInBackground(pub, "kill/s", n, 10);
        // what it holds unacknowledged at the kill was handed out: on node 2 it comes again, with DUP
        await(() -> got.size() > 50, "more than the first 50 deliveries on the node to be killed");
        doomed.kill();
        await(() -> acked.size() == n, "every PUBACK with the session's node dead, got " + acked.size());

        // Paho, which shows DUP: what the killed node had handed out comes again, flagged as a repeat
        Set<Integer> before = firstSeen(got);
        List<Integer> again = new CopyOnWriteArrayList<>();
        List<Integer> flagged = new CopyOnWriteArrayList<>();
        org.eclipse.paho.client.mqttv3.MqttAsyncClient back = new org.eclipse.paho.client.mqttv3.MqttAsyncClient(
                "tcp://127.0.0.1:" + n2.urls().mqttPort(), "survivor",
                new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
        back.setCallback(new org.eclipse.paho.client.mqttv3.MqttCallback() {
            @Override
            public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage m) {
                String p = new String(m.getPayload(), StandardCharsets.UTF_8);
                if (m.isDuplicate()) {
                    flagged.add(Integer.parseInt(p));
                }
                if (!m.isDuplicate() && (before.contains(Integer.parseInt(p)) || got.contains(p))) {
                    again.add(Integer.parseInt(p));
                }
                got.add(p);
            }

            @Override
            public void connectionLost(Throwable cause) {
            }

            @Override
            public void deliveryComplete(org.eclipse.paho.client.mqttv3.IMqttDeliveryToken token) {
            }
        });
        org.eclipse.paho.client.mqttv3.MqttConnectOptions options = new org.eclipse.paho.client.mqttv3.MqttConnectOptions();
        options.setCleanSession(false);
        options.setMqttVersion(org.eclipse.paho.client.mqttv3.MqttConnectOptions.MQTT_VERSION_3_1_1);
        back.connect(options).waitForCompletion(10_000);
        await(() -> firstSeen(got).size() == n, "every acknowledged message on node 2, got " + firstSeen(got).size());
        List<Integer> order = new ArrayList<>(firstSeen(got));
        List<Integer> sorted = new ArrayList<>(order);
        sorted.sort(null);
        assertEquals(sorted, order, "in publish order (a repeat of one in flight at the kill aside)");
        assertTrue(firstSeen(got).containsAll(acked));
        assertEquals(List.of(), again, "delivered again without DUP");
        assertTrue(flagged.containsAll(new ArrayList<>(before).subList(50, before.size())),
                "what the first connection held unacknowledged comes again with DUP: " + flagged);
        back.disconnect().waitForCompletion(5_000);
        back.close();
        pub.disconnect().join();
    }

    /**
     * A kept session's shared subscription moves with it: it leaves its group on the node the client left and joins
     * it on the node the client reaches, with its options, and gets the group's messages published on any node.
     */
    @Test
    void aKeptSessionsSharedSubscriptionResumesOnTheNodeTheClientReaches() throws Exception {
        Mqtt5AsyncClient first = Mqtt5Client.builder().identifier("sharer").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        first.connectWith().cleanStart(false).sessionExpiryInterval(60).send().join();
        first.subscribeWith().topicFilter("$share/grp/shared/x").qos(MqttQos.AT_LEAST_ONCE).send().join();
        String node1 = n1.server().cluster().nodeId();
        String node2 = n2.server().cluster().nodeId();
        await(() -> n2.server().cluster().groupNodesFor("grp", "shared/x").contains(node1), "node 2 to know node 1's member");
        first.disconnect().join();
        await(() -> !n2.server().cluster().groupNodesFor("grp", "shared/x").contains(node1), "the member gone from node 1");

        Mqtt5AsyncClient second = Mqtt5Client.builder().identifier("sharer").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        List<Mqtt5Publish> got = new CopyOnWriteArrayList<>();
        second.publishes(MqttGlobalPublishFilter.ALL, got::add);
        assertTrue(second.connectWith().cleanStart(false).sessionExpiryInterval(60).send().join().isSessionPresent());
        await(() -> n1.server().cluster().groupNodesFor("grp", "shared/x").contains(node2), "node 1 to know the member on node 2");
        Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier("sharer-pub").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        pub.connect().join();
        for (int i = 0; i < 5; i++) {
            pub.publishWith().topic("shared/x").qos(MqttQos.AT_LEAST_ONCE).payload(("s" + i).getBytes()).send().join();
        }
        await(() -> got.size() == 5, "the group's messages on node 2, got " + got.size());
        assertEquals(List.of("s0", "s1", "s2", "s3", "s4"), got.stream().map(ClusterSessionTest::text).toList());
        assertTrue(got.stream().allMatch(p -> p.getQos() == MqttQos.AT_LEAST_ONCE), "its QoS kept");
        pub.disconnect().join();
        second.disconnectWith().sessionExpiryInterval(0).send().join();
    }

    /**
     * A will with a delay (MQTT 5 section 3.1.3.2.2) of a session the cluster keeps: not sent when the client connects
     * again within the delay, also on another node than the one it left (MQTT-3.1.3-9); otherwise sent after the
     * delay, once in the cluster (each subscriber, on each node, gets it once).
     */
    @Test
    void aDelayedWillIsCancelledByAReconnectOnAnotherNodeAndOtherwisePublishedOnce() throws Exception {
        List<String> on1 = new CopyOnWriteArrayList<>();
        List<String> on2 = new CopyOnWriteArrayList<>();
        for (Object[] n : new Object[][] {{n1, on1, "will-sub-1"}, {n2, on2, "will-sub-2"}}) {
            Mqtt5AsyncClient c = Mqtt5Client.builder().identifier((String) n[2]).serverHost("127.0.0.1")
                    .serverPort(((Sluice) n[0]).urls().mqttPort()).buildAsync();
            @SuppressWarnings("unchecked")
            List<String> got = (List<String>) n[1];
            c.publishes(MqttGlobalPublishFilter.ALL, p -> got.add(p.getTopic() + "=" + text(p)));
            c.connect().join();
            c.subscribeWith().topicFilter("will/d/#").qos(MqttQos.AT_LEAST_ONCE).send().join();
            cluster.closeLater(() -> c.disconnect().join());
        }
        String node1 = n1.server().cluster().nodeId();
        String node2 = n2.server().cluster().nodeId();
        await(() -> n1.server().cluster().nodesFor("will/d/x").contains(node2)
                && n2.server().cluster().nodesFor("will/d/x").contains(node1), "both nodes to route will/d/#");

        // leaves node 1 with a will due in 2 s, and is back on node 2 before that
        Mqtt5AsyncClient stays = willClient("will-stays", "will/d/stays", 2);
        stays.disconnectWith().reasonCode(
                com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE)
                .send().join();
        long staysLeft = System.currentTimeMillis();
        SessionId staysId = new SessionId("mqtt", "will-stays");
        await(() -> n2.server().cluster().offlineSince(staysId) > 0, "node 2 to see the session offline");
        Mqtt5AsyncClient back = Mqtt5Client.builder().identifier("will-stays").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        assertTrue(back.connectWith().cleanStart(false).sessionExpiryInterval(60).send().join().isSessionPresent());
        assertTrue(System.currentTimeMillis() - staysLeft < 2000, "back within the will delay");

        // leaves node 1 with a will due in 1 s, and stays away
        Mqtt5AsyncClient goes = willClient("will-goes", "will/d/goes", 1);
        goes.disconnectWith().reasonCode(
                com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE)
                .send().join();
        await(() -> on1.contains("will/d/goes=gone") && on2.contains("will/d/goes=gone"), "the will on both nodes");

        // the cancelled will was due 2 s after its client left, and a node looks for due wills every second
        await(() -> System.currentTimeMillis() > staysLeft + 2000 + 2500, "the cancelled will's time to pass");
        Mqtt5AsyncClient marker = Mqtt5Client.builder().identifier("will-marker").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        marker.connect().join();
        marker.publishWith().topic("will/d/marker").qos(MqttQos.AT_LEAST_ONCE).payload("m".getBytes()).send().join();
        await(() -> on1.contains("will/d/marker=m") && on2.contains("will/d/marker=m"), "the marker on both nodes");
        assertEquals(List.of("will/d/goes=gone", "will/d/marker=m"), on1, "on node 1: the will once, none cancelled");
        assertEquals(List.of("will/d/goes=gone", "will/d/marker=m"), on2, "on node 2: the will once, none cancelled");
        marker.disconnect().join();
        back.disconnectWith().sessionExpiryInterval(0).send().join();
        endSession("will-goes");
    }

    /** An MQTT 5 persistent session on node 1 with a will on {@code topic} ("gone") delayed {@code delay} s. */
    private static Mqtt5AsyncClient willClient(String id, String topic, long delay) {
        Mqtt5AsyncClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        c.connectWith().cleanStart(false).sessionExpiryInterval(60)
                .willPublish().topic(topic).payload("gone".getBytes()).qos(MqttQos.AT_LEAST_ONCE).delayInterval(delay)
                .applyWillPublish().send().join();
        return c;
    }

    /**
     * A node killed with SIGKILL does not take the expiry of its sessions with it: once the others see it down
     * (--cluster-node-timeout), a session that was connected there is offline from then, and it
     * expires on the nodes that are left (its expiry after that, however late the finding came), its record and queued messages deleted, without the node or the client
     * coming back. Once it has been gone for --cluster-forget-node-after, the nodes left forget it: its routes, the
     * client ids the registry gives it, what the stream holds for it and its consumer are deleted.
     */
    @Test
    void theSessionsOfAKilledNodeExpireOnTheNodesLeftWhichForgetItLater() throws Exception {
        NatsServer own = cluster.startNats("nats-dead");
        // a node timeout a loaded two-core machine's scheduling does not reach (its heartbeats, every quarter of it,
        // can be starved for well over a second); the session's expiry counts from when the node is found down, so
        // it leaves the test that long to see its messages queued, however late the finding; everything after the
        // kill waits by deadline
        Sluice a = cluster.node(own, "left-a", "cluster-node-timeout", "3000ms", "cluster-forget-node-after", "8000ms");
        Sluice b = cluster.node(own, "left-b", "cluster-node-timeout", "3000ms", "cluster-forget-node-after", "8000ms");
        io.nats.client.Connection look = io.nats.client.Nats.connect(own.url());
        cluster.closeLater(look);
        BrokerProcess.Ports ports = BrokerProcess.Ports.free();
        BrokerProcess doomed = cluster.process(own, "dead", ports.mqtt(), "--cluster-node-timeout", "3000");
        SessionId id = new SessionId("mqtt", "orphan");
        // its will: the node dies, not the client's connection, and the nodes left publish it once
        List<String> willOnA = new CopyOnWriteArrayList<>();
        List<String> willOnB = new CopyOnWriteArrayList<>();
        for (Object[] n : new Object[][] {{a, willOnA}, {b, willOnB}}) {
            Mqtt5AsyncClient w = Mqtt5Client.builder().serverHost("127.0.0.1")
                    .serverPort(((Sluice) n[0]).urls().mqttPort()).buildAsync();
            @SuppressWarnings("unchecked")
            List<String> into = (List<String>) n[1];
            w.publishes(MqttGlobalPublishFilter.ALL, p -> into.add(text(p)));
            w.connect().join();
            w.subscribeWith().topicFilter("orphan/will").qos(MqttQos.AT_LEAST_ONCE).send().join();
            cluster.closeLater(() -> w.disconnect());
        }
        await(() -> a.server().cluster().nodesFor("orphan/will").contains("left-b")
                && b.server().cluster().nodesFor("orphan/will").contains("left-a"), "both nodes to route the will");
        Mqtt5AsyncClient orphan = Mqtt5Client.builder().identifier("orphan").serverHost("127.0.0.1")
                .serverPort(ports.mqtt()).buildAsync();
        ClusterFixture.connectRetryingWhileBusy(() -> orphan.connectWith().cleanStart(false).sessionExpiryInterval(8)
                .willPublish().topic("orphan/will").payload("orphaned".getBytes()).qos(MqttQos.AT_LEAST_ONCE)
                .applyWillPublish().send());
        orphan.subscribeWith().topicFilter("orphan/x").qos(MqttQos.AT_LEAST_ONCE).send().join();
        for (Sluice node : new Sluice[] {a, b}) {
            await(() -> node.server().cluster().recordedSession(id) != null
                    && node.server().cluster().offlineSince(id) == 0
                    && !node.server().cluster().recordedSession(id).subscriptions().isEmpty(),
                    "the session connected on the node to be killed, as the others see it");
        }
        // an ordinary client of the node: a route and a client id in the registry, and messages JetStream holds
        Mqtt5AsyncClient plain = Mqtt5Client.builder().identifier("plain-on-dead").serverHost("127.0.0.1")
                .serverPort(ports.mqtt()).buildAsync();
        ClusterFixture.connectRetryingWhileBusy(plain::connect);
        plain.subscribeWith().topicFilter("dead/route").qos(MqttQos.AT_LEAST_ONCE).send().join();
        io.nats.client.KeyValue routeKv = look.keyValue(NatsCluster.ROUTES);
        io.nats.client.KeyValue registry = look.keyValue(NatsCluster.SESSIONS);
        await(() -> keysOf(routeKv).stream().anyMatch(k -> k.startsWith("dead."))
                && valuesOf(registry).contains("dead"), "the node's route and client id recorded");
        String deadSubject = NatsCluster.NODE_SUBJECT + "dead";
        long killedAt = System.currentTimeMillis();
        doomed.kill();
        for (int i = 0; i < 3; i++) {
            look.jetStream().publish(deadSubject, ("held-" + i).getBytes());
        }
        assertEquals(3, queued(look, NatsCluster.STREAM, deadSubject), "held in JetStream for the dead node");
        for (Sluice node : new Sluice[] {a, b}) {
            await(() -> node.server().cluster().offlineSince(id) > 0, "the session offline once its node is down");
            long since = node.server().cluster().offlineSince(id);
            // from when the cluster found the node down, however late a loaded machine let it look: the expiry counts
            // from then, so the session cannot expire in the moment it is found offline
            assertTrue(since >= killedAt, "offline from when its node was found down, after the kill: "
                    + (killedAt - since) + " ms before it");
        }
        Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier("orphan-pub").serverHost("127.0.0.1")
                .serverPort(a.urls().mqttPort()).buildAsync();
        pub.connect().join();
        for (int i = 0; i < 2; i++) {
            pub.publishWith().topic("orphan/x").qos(MqttQos.AT_LEAST_ONCE).payload(("queued-" + i).getBytes())
                    .send().get(10, TimeUnit.SECONDS);
        }
        String subject = ClusterSessions.SUBJECT + ClusterSessions.hash(id);
        assertEquals(2, queued(look, ClusterSessions.STREAM, subject), "queued for the offline session");

        for (Sluice node : new Sluice[] {a, b}) {
            await(() -> node.server().cluster().recordedSession(id) == null, "the session expired on every node");
        }
        pub.publishWith().topic("orphan/will").qos(MqttQos.AT_LEAST_ONCE).payload("marker".getBytes()).send().join();
        await(() -> willOnA.contains("marker") && willOnB.contains("marker"), "a marker after the will");
        assertEquals(List.of("orphaned", "marker"), willOnA, "the will of the dead node's client once on node a");
        assertEquals(List.of("orphaned", "marker"), willOnB, "the will of the dead node's client once on node b");
        await(() -> queued(look, ClusterSessions.STREAM, subject) == 0, "its queued messages deleted");
        Mqtt5AsyncClient back = Mqtt5Client.builder().identifier("orphan").serverHost("127.0.0.1")
                .serverPort(b.urls().mqttPort()).buildAsync();
        List<String> got = new CopyOnWriteArrayList<>();
        back.publishes(MqttGlobalPublishFilter.ALL, p -> got.add(text(p)));
        assertTrue(!back.connectWith().cleanStart(false).sessionExpiryInterval(0).send().join().isSessionPresent(),
                "no session present after its expiry");
        back.subscribeWith().topicFilter("orphan/x").qos(MqttQos.AT_LEAST_ONCE).send().join();
        await(() -> a.server().cluster().nodesFor("orphan/x").contains("left-b"), "node a to route to node b");
        pub.publishWith().topic("orphan/x").qos(MqttQos.AT_LEAST_ONCE).payload("fresh".getBytes()).send().join();
        await(() -> !got.isEmpty(), "a message for the new session");
        assertEquals(List.of("fresh"), got, "none of the expired session's messages");
        back.disconnect().join();
        pub.disconnect().join();

        for (Sluice node : new Sluice[] {a, b}) {
            await(() -> !node.server().cluster().otherNodes().containsKey("dead"), "the dead node forgotten");
        }
        await(() -> keysOf(routeKv).stream().noneMatch(k -> k.startsWith("dead.")), "its routes deleted");
        await(() -> !valuesOf(registry).contains("dead"), "its client ids deleted from the registry");
        await(() -> queued(look, NatsCluster.STREAM, deadSubject) == 0, "what JetStream held for it deleted");
        assertTrue(look.jetStreamManagement().getConsumerNames(NatsCluster.STREAM).stream()
                .noneMatch(n -> n.equals("node-dead")), "its consumer deleted");
    }

    private static List<String> keysOf(io.nats.client.KeyValue kv) {
        try {
            return kv.keys();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static List<String> valuesOf(io.nats.client.KeyValue kv) {
        List<String> out = new ArrayList<>();
        for (String k : keysOf(kv)) {
            try {
                io.nats.client.api.KeyValueEntry e = kv.get(k);
                if (e != null && e.getValue() != null) {
                    out.add(new String(e.getValue(), StandardCharsets.UTF_8));
                }
            } catch (Exception ex) {
                throw new AssertionError(ex);
            }
        }
        return out;
    }

    /** Messages a stream holds on one subject. */
    private static long queued(io.nats.client.Connection c, String stream, String subject) {
        try {
            List<io.nats.client.api.Subject> subjects = c.jetStreamManagement().getStreamInfo(stream,
                    io.nats.client.api.StreamInfoOptions.filterSubjects(subject)).getStreamState().getSubjects();
            return subjects == null ? 0 : subjects.stream().filter(x -> x.getName().equals(subject))
                    .mapToLong(io.nats.client.api.Subject::getCount).sum();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** A subscriber on node 2 collecting payloads, once node 1 routes {@code topic} to it. */
    private Mqtt5AsyncClient subscriberOn2(String id, String topic, List<String> got) {
        Mqtt5AsyncClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        c.publishes(MqttGlobalPublishFilter.ALL, p -> got.add(text(p)));
        c.connect().join();
        c.subscribeWith().topicFilter(topic).qos(MqttQos.EXACTLY_ONCE).send().join();
        String node2 = n2.server().cluster().nodeId();
        await(() -> n1.server().cluster().nodesFor(topic).contains(node2), "node 1 to route " + topic + " to node 2");
        cluster.closeLater(() -> c.disconnect().join());
        return c;
    }

    /**
     * Exactly once across nodes (MQTT-4.3.3): a QoS 2 PUBLISH that node 1 received and forwarded, whose PUBREC the
     * network lost, is resent (DUP) by the client to node 2 after it reconnects there: node 2 knows the packet id
     * from the session's record, answers PUBREC without forwarding it again, and completes the flow. The client is
     * Paho (MQTT 3.1.1), which resends its in-flight QoS 2 PUBLISH on reconnecting with clean session 0.
     */
    @Test
    void aQos2PublishResentToAnotherNodeAfterItsPubrecWasLostIsDeliveredOnce() throws Exception {
        List<String> got = new CopyOnWriteArrayList<>();
        subscriberOn2("q2-sub", "q2/once", got);
        try (CuttingProxy proxy = new CuttingProxy(n1.urls().mqttPort(), CuttingProxy.Way.TO_CLIENT, 5)) {
            org.eclipse.paho.client.mqttv3.MqttAsyncClient pub = new org.eclipse.paho.client.mqttv3.MqttAsyncClient(
                    "tcp://127.0.0.1:" + proxy.port(), "q2-mover",
                    new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
            java.util.concurrent.atomic.AtomicInteger completed = new java.util.concurrent.atomic.AtomicInteger();
            pub.setCallback(new org.eclipse.paho.client.mqttv3.MqttCallback() {
                @Override
                public void connectionLost(Throwable cause) {
                }

                @Override
                public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage message) {
                }

                @Override
                public void deliveryComplete(org.eclipse.paho.client.mqttv3.IMqttDeliveryToken token) {
                    completed.incrementAndGet();
                }
            });
            org.eclipse.paho.client.mqttv3.MqttConnectOptions options = new org.eclipse.paho.client.mqttv3.MqttConnectOptions();
            options.setCleanSession(false);
            pub.connect(options).waitForCompletion(10_000);
            cluster.closeLater(() -> {
                if (pub.isConnected()) {
                    pub.disconnectForcibly(0, 1000);
                }
                pub.close(true);
            });
            pub.publish("q2/once", "exactly-once".getBytes(StandardCharsets.UTF_8), 2, false);
            assertTrue(proxy.awaitCut(15), "node 1's PUBREC to be cut");
            await(() -> got.size() == 1, "node 1 to forward the message");
            await(() -> !pub.isConnected(), "the client to see the connection gone");

            options.setServerURIs(new String[] {"tcp://127.0.0.1:" + n2.urls().mqttPort()});
            connectAgain(() -> pub.connect(options).waitForCompletion(10_000),
                    e -> e instanceof org.eclipse.paho.client.mqttv3.MqttException m && m.getReasonCode()
                            == org.eclipse.paho.client.mqttv3.MqttException.REASON_CODE_CLIENT_DISCONNECTING);
            await(() -> completed.get() == 1, "the QoS 2 flow completed on node 2");
            pub.publish("q2/once", "after".getBytes(StandardCharsets.UTF_8), 2, false).waitForCompletion(10_000);
            await(() -> got.contains("after"), "a later message");
            assertEquals(List.of("exactly-once", "after"), got, "the resent PUBLISH not forwarded a second time");
            pub.disconnect().waitForCompletion(10_000);
        }
        endSession("q2-mover");
    }

    /**
     * The other half of the flow: PUBREC reached the client, its PUBREL did not reach node 1. The client (Paho,
     * MQTT 5) reconnects to node 2 and sends PUBREL there: node 2 knows the packet id and answers PUBCOMP with
     * Success (not 0x92 Packet Identifier not found), the message delivered once.
     */
    @Test
    void aPubrelSentToAnotherNodeIsAnsweredWithSuccess() throws Exception {
        List<String> got = new CopyOnWriteArrayList<>();
        subscriberOn2("q2-rel-sub", "q2/rel", got);
        try (CuttingProxy proxy = new CuttingProxy(n1.urls().mqttPort(), CuttingProxy.Way.TO_BROKER, 6)) {
            org.eclipse.paho.mqttv5.client.MqttAsyncClient pub = new org.eclipse.paho.mqttv5.client.MqttAsyncClient(
                    "tcp://127.0.0.1:" + proxy.port(), "q2-rel",
                    new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
            // Paho gives the flow's reason codes in order: PUBREC's, then PUBCOMP's
            List<int[]> completions = new CopyOnWriteArrayList<>();
            pub.setCallback(new io.sluice.server.mqtt.PahoV5Callback() {
                @Override
                public void messageArrived(String topic, org.eclipse.paho.mqttv5.common.MqttMessage message) {
                }

                @Override
                public void deliveryComplete(org.eclipse.paho.mqttv5.client.IMqttToken token) {
                    completions.add(token.getReasonCodes() == null ? new int[0] : token.getReasonCodes());
                }
            });
            org.eclipse.paho.mqttv5.client.MqttConnectionOptions options =
                    new org.eclipse.paho.mqttv5.client.MqttConnectionOptions();
            options.setCleanStart(false);
            options.setSessionExpiryInterval(300L);
            pub.connect(options).waitForCompletion(10_000);
            cluster.closeLater(() -> {
                if (pub.isConnected()) {
                    pub.disconnectForcibly(0, 1000, false);
                }
                pub.close(true);
            });
            pub.publish("q2/rel", "released-elsewhere".getBytes(StandardCharsets.UTF_8), 2, false);
            assertTrue(proxy.awaitCut(15), "the client's PUBREL to node 1 to be cut");
            await(() -> got.size() == 1, "node 1 to forward the message");
            await(() -> !pub.isConnected(), "the client to see the connection gone");

            options.setServerURIs(new String[] {"tcp://127.0.0.1:" + n2.urls().mqttPort()});
            connectAgain(() -> pub.connect(options).waitForCompletion(10_000),
                    e -> e instanceof org.eclipse.paho.mqttv5.common.MqttException m && m.getReasonCode()
                            == org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_CLIENT_DISCONNECTING);
            await(() -> completions.size() == 1, "PUBCOMP from node 2");
            int[] codes = completions.get(0);
            assertTrue(codes.length == 2 && codes[1] == 0,
                    "PUBCOMP Success from node 2 (not 0x92), got reasons " + java.util.Arrays.toString(codes));
            pub.publish("q2/rel", "after".getBytes(StandardCharsets.UTF_8), 2, false).waitForCompletion(10_000);
            await(() -> got.contains("after"), "a later message");
            assertEquals(List.of("released-elsewhere", "after"), got, "delivered once");
            pub.disconnect().waitForCompletion(10_000);
        }
        endSession("q2-rel");
    }

    interface Connecting {
        void connect() throws Exception;
    }

    /**
     * Connect a Paho client again: Paho finishes its disconnect on a thread of its own after the connection is gone,
     * and refuses to connect ({@code stillDisconnecting}) until it has.
     */
    private static void connectAgain(Connecting connecting, java.util.function.Predicate<Exception> stillDisconnecting)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            try {
                connecting.connect();
                return;
            } catch (Exception e) {
                if (!stillDisconnecting.test(e) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(20);
            }
        }
    }

    /** End a persistent session: a clean start with no expiry. */
    private static void endSession(String clientId) {
        Mqtt5AsyncClient c = Mqtt5Client.builder().identifier(clientId).serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        c.connectWith().cleanStart(true).send().join();
        c.disconnect().join();
        await(() -> kept(n2, clientId) == null, "the session " + clientId + " ended");
    }

    private static long streamMessages(io.nats.client.Connection c) {
        try {
            return c.jetStreamManagement().getStreamInfo(ClusterSessions.STREAM).getStreamState().getMsgCount();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** The payloads as numbers, each once, in the order first seen. */
    private static Set<Integer> firstSeen(List<String> got) {
        Set<Integer> s = new LinkedHashSet<>();
        for (String p : got) {
            s.add(Integer.parseInt(p));
        }
        return s;
    }

    /** MQTT 3.1.1 clean session 0: a persistent session that never expires. */
    /** The session's first connection: it acknowledges its first 50 messages and holds every later one. */
    private static Mqtt3AsyncClient subscriber(int port, List<String> got) {
        Mqtt3AsyncClient c = Mqtt3Client.builder().identifier("survivor").serverHost("127.0.0.1").serverPort(port)
                .buildAsync();
        c.publishes(MqttGlobalPublishFilter.ALL, p -> {
            got.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8));
            if (got.size() <= 50) {
                p.acknowledge();
            }
        }, true);
        c.connectWith().cleanSession(false).send().join();
        return c;
    }
}
