package io.sluice.server.cluster;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.sluice.server.BrokerProcess;
import io.sluice.server.Sluice;
import io.sluice.server.broker.SessionId;
import io.sluice.server.security.StompWire;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.sluice.server.cluster.ClusterFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Shared subscriptions ($share/group/filter, MQTT 5) and STOMP {@code /queue/} destinations with members on two
 * nodes: each message reaches one member in the whole cluster, each member gets a share, and the members together
 * get exactly what was published, while an ordinary subscriber on the same topic still gets every message.
 */
class ClusterSharedTest {
    @RegisterExtension
    static final ClusterFixture cluster = new ClusterFixture();
    static Sluice n1;
    static Sluice n2;

    @BeforeAll
    static void start() throws Exception {
        n1 = cluster.node("g1");
        n2 = cluster.node("g2");
    }

    private static Mqtt5BlockingClient mqtt(Sluice node, String id) {
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(node.urls().mqttPort()).buildBlocking();
        c.connect();
        return c;
    }

    private static List<String> subscribe(Mqtt5BlockingClient c, String filter) {
        List<String> got = new CopyOnWriteArrayList<>();
        c.toAsync().subscribeWith().topicFilter(filter).qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> got.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))).send().join();
        return got;
    }

    @Test
    void aSharedSubscriptionWithMembersOnTwoNodesGetsEachMessageOnce() {
        Mqtt5BlockingClient a = mqtt(n1, "share-a");
        Mqtt5BlockingClient b = mqtt(n2, "share-b");
        Mqtt5BlockingClient all = mqtt(n2, "share-all");
        List<String> onA = subscribe(a, "$share/workers/jobs/+");
        List<String> onB = subscribe(b, "$share/workers/jobs/+");
        List<String> onAll = subscribe(all, "jobs/#");
        await(() -> n1.server().cluster().groupNodesFor("workers", "jobs/x").contains("g2")
                && n2.server().cluster().groupNodesFor("workers", "jobs/x").contains("g1")
                && n1.server().cluster().nodesFor("jobs/x").contains("g2"), "the group's and the subscriber's routes");

        // publishers on both nodes, at both QoS levels the group may be served with
        Mqtt5BlockingClient p1 = mqtt(n1, "share-p1");
        Mqtt5BlockingClient p2 = mqtt(n2, "share-p2");
        Set<String> published = new HashSet<>();
        int n = 100;
        for (int i = 0; i < n; i++) {
            for (Mqtt5BlockingClient p : List.of(p1, p2)) {
                String payload = (p == p1 ? "n1-" : "n2-") + i;
                p.publishWith().topic("jobs/" + (i % 3)).qos(i % 2 == 0 ? MqttQos.AT_LEAST_ONCE : MqttQos.AT_MOST_ONCE)
                        .payload(payload.getBytes(StandardCharsets.UTF_8)).send();
                published.add(payload);
            }
        }
        await(() -> onAll.size() >= 2 * n && onA.size() + onB.size() >= 2 * n,
                "every message to the group and to the ordinary subscriber; group " + (onA.size() + onB.size())
                        + ", subscriber " + onAll.size());
        // QoS 0 between nodes is at most once, but on a quiet loopback none is lost; a repeat would show here
        List<String> union = new ArrayList<>(onA);
        union.addAll(onB);
        assertEquals(published, new HashSet<>(union), "the members together got exactly what was published");
        assertEquals(2 * n, union.size(), "each message to one member only");
        assertEquals(published, new HashSet<>(onAll));
        assertTrue(onA.size() >= n / 2 && onB.size() >= n / 2, "each member got a share: " + onA.size() + " and "
                + onB.size());
        for (Mqtt5BlockingClient c : List.of(a, b, all, p1, p2)) {
            c.disconnect();
        }
    }

    @Test
    void aStompQueueWithConsumersOnTwoNodesGivesEachMessageToOneConsumer() throws Exception {
        try (StompWire c1 = StompWire.open(n1.urls().stompPort()); StompWire c2 = StompWire.open(n2.urls().stompPort());
             StompWire sender = StompWire.open(n1.urls().stompPort())) {
            for (StompWire w : List.of(c1, c2, sender)) {
                assertEquals("CONNECTED", w.connect(null, null).command());
            }
            c1.subscribe("/queue/orders", "s1", "r1");
            assertEquals("RECEIPT", c1.next().command());
            c2.subscribe("/queue/orders", "s2", "r2");
            assertEquals("RECEIPT", c2.next().command());
            await(() -> n1.server().cluster().groupNodesFor("stomp", "$stomp/queue/orders").contains("g2"),
                    "the queue's consumer on g2 known on g1");
            int n = 60;
            for (int i = 0; i < n; i++) {
                sender.send("/queue/orders", "order-" + i, "s" + i);
                assertEquals("RECEIPT", sender.next().command());
            }
            List<String> on1 = new CopyOnWriteArrayList<>();
            List<String> on2 = new CopyOnWriteArrayList<>();
            Thread r1 = reader(c1, on1);
            Thread r2 = reader(c2, on2);
            await(() -> on1.size() + on2.size() >= n, "every order at one of the consumers, got "
                    + (on1.size() + on2.size()));
            Set<String> expected = new HashSet<>();
            for (int i = 0; i < n; i++) {
                expected.add("order-" + i);
            }
            List<String> union = new ArrayList<>(on1);
            union.addAll(on2);
            assertEquals(expected, new HashSet<>(union));
            assertEquals(n, union.size(), "each order to one consumer only");
            assertTrue(on1.size() >= n / 4 && on2.size() >= n / 4, "each consumer got a share: " + on1.size() + " and "
                    + on2.size());
            c1.close();
            c2.close();
            r1.join(5000);
            r2.join(5000);
        }
    }

    /**
     * A persistent session's shared subscription keeps receiving its share while the session is offline (MQTT 5
     * section 4.8.2): with no member of the group on any node, offline kept sessions hold the group's messages in
     * their queues, each message in one of them, and get them wherever they reconnect. While a member is connected
     * somewhere, that member is served and the offline ones get nothing.
     */
    @Test
    void offlineKeptSessionsKeepTheirShareOfAGroupWithNoMemberOnAnyNode() {
        String group = "$share/keep/kept/+";
        for (String[] k : new String[][] {{"keeper-a", "1"}, {"keeper-b", "2"}}) {
            Mqtt5AsyncClient c = keeper(k[1].equals("1") ? n1 : n2, k[0], new CopyOnWriteArrayList<>());
            c.subscribeWith().topicFilter(group).qos(MqttQos.AT_LEAST_ONCE).send().join();
            c.subscribeWith().topicFilter("kept-marker/" + k[0]).qos(MqttQos.AT_LEAST_ONCE).send().join();
            c.disconnect().join();
        }
        for (Sluice node : List.of(n1, n2)) {
            await(() -> node.server().cluster().offlineSince(new SessionId("mqtt", "keeper-a")) > 0
                    && node.server().cluster().offlineSince(new SessionId("mqtt", "keeper-b")) > 0
                    && node.server().cluster().groupNodesFor("keep", "kept/x").isEmpty(),
                    "both sessions offline, no node with a member, on " + node.server().cluster().nodeId());
        }
        Mqtt5BlockingClient pub = mqtt(n1, "keeper-pub");
        int n = 10;
        for (int i = 0; i < n; i++) {
            // acknowledged once a kept session's queue in JetStream holds it
            pub.publishWith().topic("kept/" + (i % 2)).qos(MqttQos.AT_LEAST_ONCE).payload(("k" + i).getBytes()).send();
        }

        // a connected member elsewhere takes the group's messages from now on; the offline ones get none of them
        Mqtt5BlockingClient live = mqtt(n2, "keeper-live");
        List<String> onLive = subscribe(live, group);
        await(() -> n1.server().cluster().groupNodesFor("keep", "kept/x").contains("g2"), "the connected member known");
        for (int i = 0; i < 4; i++) {
            pub.publishWith().topic("kept/x").qos(MqttQos.AT_LEAST_ONCE).payload(("live" + i).getBytes()).send();
        }
        await(() -> onLive.size() == 4, "the connected member's messages, got " + onLive);
        live.disconnect();

        // back on the other node each: what each session's queue held for the group, then its marker behind it
        List<String> onA = new CopyOnWriteArrayList<>();
        List<String> onB = new CopyOnWriteArrayList<>();
        Mqtt5AsyncClient a = keeper(n2, "keeper-a", onA);
        Mqtt5AsyncClient b = keeper(n1, "keeper-b", onB);
        pub.publishWith().topic("kept-marker/keeper-a").qos(MqttQos.AT_LEAST_ONCE).payload("end".getBytes()).send();
        pub.publishWith().topic("kept-marker/keeper-b").qos(MqttQos.AT_LEAST_ONCE).payload("end".getBytes()).send();
        await(() -> onA.contains("end") && onB.contains("end"), "both markers, got " + onA + " and " + onB);
        List<String> union = new ArrayList<>(onA);
        union.addAll(onB);
        union.removeIf(p -> p.equals("end"));
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            expected.add("k" + i);
        }
        union.sort(java.util.Comparator.comparing((String p) -> Integer.parseInt(p.substring(1))));
        assertEquals(expected, union, "each of the group's messages in one offline session, none of the connected "
                + "member's: " + onA + " and " + onB);
        assertTrue(onA.size() > 1 && onB.size() > 1, "both offline sessions got a share: " + onA + " and " + onB);
        a.disconnectWith().sessionExpiryInterval(0).send().join();
        b.disconnectWith().sessionExpiryInterval(0).send().join();
        pub.disconnect();
    }

    /**
     * The one offline kept session a group's message went to (no member on any node) has a full queue: the message is
     * not dropped in silence, its MQTT 5 publisher is refused with 0x97 Quota exceeded, as a single broker refuses it
     * when the offline member it picked is full; what the queue took is delivered when the session resumes. (Its own
     * NATS server: the stream's bound per session is the last node's --max-queued-messages.)
     */
    @Test
    void aGroupMessageForAnOfflineKeptSessionWithAFullQueueIsRefusedToItsPublisher() throws Exception {
        NatsServer own = cluster.startNats("nats-full");
        Sluice f1 = cluster.node(own, "gf1", "max-queued-messages", "3");
        Sluice f2 = cluster.node(own, "gf2", "max-queued-messages", "3");
        Mqtt5AsyncClient member = keeper(f1, "full-member", new CopyOnWriteArrayList<>());
        member.subscribeWith().topicFilter("$share/full/full/+").qos(MqttQos.AT_LEAST_ONCE).send().join();
        member.disconnect().join();
        SessionId id = new SessionId("mqtt", "full-member");
        await(() -> f2.server().cluster().offlineSince(id) > 0
                && f2.server().cluster().groupNodesFor("full", "full/x").isEmpty(), "the member offline, seen on gf2");
        Mqtt5BlockingClient pub = mqtt(f2, "full-pub");
        List<com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode> codes = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            try {
                com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PublishResult.Mqtt5Qos1Result r =
                        (com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PublishResult.Mqtt5Qos1Result) pub
                                .publishWith().topic("full/x").qos(MqttQos.AT_LEAST_ONCE)
                                .payload(("f" + i).getBytes()).send();
                codes.add(r.getPubAck().getReasonCode());
            } catch (com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5PubAckException e) {
                codes.add(e.getMqttMessage().getReasonCode()); // the client raises an error code
            }
        }
        var refused = com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode.QUOTA_EXCEEDED;
        assertEquals(3, codes.stream().filter(c -> !c.isError()).count(), "the queue's 3 taken: " + codes);
        assertEquals(List.of(refused, refused), codes.subList(3, 5), "the rest refused: " + codes);
        pub.disconnect();

        List<String> got = new CopyOnWriteArrayList<>();
        Mqtt5AsyncClient back = keeper(f2, "full-member", got);
        await(() -> got.size() == 3, "the kept share on resuming, got " + got);
        assertEquals(List.of("f0", "f1", "f2"), got);
        back.disconnectWith().sessionExpiryInterval(0).send().join();
    }

    /**
     * A member that leaves with messages of its group unacknowledged hands them to the group in the whole cluster
     * (MQTT 5 section 4.8.2): the only other member, on another node, gets them, while an ordinary subscriber there,
     * which had them when they were published, does not get them again.
     */
    @Test
    void aLeavingMembersUnacknowledgedShareGoesToAMemberOnAnotherNode() {
        Mqtt5AsyncClient leaving = Mqtt5Client.builder().identifier("hand-leaving").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        List<Mqtt5Publish> held = new CopyOnWriteArrayList<>();
        leaving.connect().join();
        leaving.subscribeWith().topicFilter("$share/hand/hand/x").qos(MqttQos.AT_LEAST_ONCE).callback(held::add)
                .manualAcknowledgement(true).send().join();
        Mqtt5BlockingClient ordinary = mqtt(n2, "hand-ordinary");
        List<String> onOrdinary = subscribe(ordinary, "hand/x");
        await(() -> n1.server().cluster().nodesFor("hand/x").contains("g2"), "the ordinary subscriber's route");
        Mqtt5BlockingClient pub = mqtt(n1, "hand-pub");
        for (int i = 0; i < 3; i++) {
            pub.publishWith().topic("hand/x").qos(MqttQos.AT_LEAST_ONCE).payload(("h" + i).getBytes()).send();
        }
        await(() -> held.size() == 3 && onOrdinary.size() == 3, "the share held unacknowledged, got " + held.size());

        Mqtt5BlockingClient staying = mqtt(n2, "hand-staying");
        List<String> onStaying = subscribe(staying, "$share/hand/hand/x");
        await(() -> n1.server().cluster().groupNodesFor("hand", "hand/x").contains("g2"), "the other member's route");
        leaving.disconnect().join();
        await(() -> onStaying.size() == 3, "the leaving member's share at the other member, got " + onStaying);
        pub.publishWith().topic("hand/x").qos(MqttQos.AT_LEAST_ONCE).payload("after".getBytes()).send();
        await(() -> onOrdinary.contains("after") && onStaying.contains("after"), "a later message");
        assertEquals(List.of("h0", "h1", "h2", "after"), onStaying, "each once");
        assertEquals(List.of("h0", "h1", "h2", "after"), onOrdinary, "the ordinary subscriber: nothing twice");
        for (Mqtt5BlockingClient c : List.of(ordinary, pub, staying)) {
            c.disconnect();
        }
    }

    /** A persistent MQTT 5 session (expiry 60 s) on {@code node}, its payloads into {@code got}. */
    private static Mqtt5AsyncClient keeper(Sluice node, String id, List<String> got) {
        Mqtt5AsyncClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(node.urls().mqttPort()).buildAsync();
        c.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL,
                p -> got.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)));
        c.connectWith().cleanStart(false).sessionExpiryInterval(60).send().join();
        return c;
    }

    /**
     * Orders sent to a queue while the cluster has no consumer of it are held on the node they were sent to; a
     * consumer that then subscribes on another node gets them all, each once, and so does the next one.
     */
    @Test
    void whatAStompQueueHeldWithNoConsumerReachesAConsumerOnAnotherNode() throws Exception {
        try (StompWire sender = StompWire.open(n1.urls().stompPort()); StompWire c2 = StompWire.open(n2.urls().stompPort())) {
            for (StompWire w : List.of(sender, c2)) {
                assertEquals("CONNECTED", w.connect(null, null).command());
            }
            int n = 20;
            Set<String> expected = new HashSet<>();
            for (int i = 0; i < n; i++) {
                sender.send("/queue/held", "held-" + i, "h" + i);
                assertEquals("RECEIPT", sender.next().command());
                expected.add("held-" + i);
            }
            c2.subscribe("/queue/held", "s2", "r2");
            assertEquals("RECEIPT", c2.next().command());
            List<String> on2 = new CopyOnWriteArrayList<>();
            Thread r2 = reader(c2, on2);
            await(() -> on2.size() >= n, "the held orders at the consumer on the other node, got " + on2.size());
            // one sent now goes to the consumer as any other: after the held ones are all there, none twice
            sender.send("/queue/held", "after", "h-after");
            assertEquals("RECEIPT", sender.next().command());
            await(() -> on2.contains("after"), "a later order");
            assertEquals(n + 1, on2.size(), "each order once: " + on2);
            expected.add("after");
            assertEquals(expected, new HashSet<>(on2));
            c2.close();
            r2.join(5000);
        }
    }

    /**
     * The node with a queue's only consumer stands still (SIGSTOP) past the node timeout, so the sender's node finds it
     * down and holds what is sent to the queue meanwhile; when the node goes on (SIGCONT) and is heard again, its
     * consumer, still connected, gets every held order once, with no new subscription to set it off.
     */
    @Test
    void whatAStompQueueHeldWhileItsConsumersNodeWasDownReachesItWhenTheNodeIsBack() throws Exception {
        Sluice sender = cluster.node("gb1", "cluster-node-timeout", "3s");
        BrokerProcess back = cluster.process("gb2", io.sluice.server.StablePorts.free(), "--cluster-node-timeout", "3s",
                "--stomp-port", "0");
        // a receipt waits for JetStream, which a loaded two-core machine can make take longer than the usual 10 s
        try (StompWire s = StompWire.open(sender.urls().stompPort()).readTimeout(60_000);
             StompWire c = StompWire.open(back.port("stomp")).readTimeout(60_000)) {
            for (StompWire w : List.of(s, c)) {
                assertEquals("CONNECTED", w.connect(null, null).command());
            }
            c.subscribe("/queue/back", "s2", "r2");
            assertEquals("RECEIPT", c.next().command());
            List<String> got = new CopyOnWriteArrayList<>();
            Thread reader = reader(c, got);
            await(() -> sender.server().cluster().groupNodesFor("stomp", "$stomp/queue/back").contains("gb2"),
                    "the consumer's node in the sender's route table");
            s.send("/queue/back", "before", "b");
            assertEquals("RECEIPT", s.next().command());
            await(() -> got.contains("before"), "an order while the node is there");

            back.pause();
            try {
                await(() -> Boolean.FALSE.equals(sender.server().cluster().otherNodes().get("gb2")),
                        "the consumer's node found down", 30);
                int n = 10;
                for (int i = 0; i < n; i++) {
                    s.send("/queue/back", "held-" + i, "h" + i);
                    assertEquals("RECEIPT", s.next().command());
                }
                assertEquals(List.of("before"), got, "nothing reaches a node that stands still");
            } finally {
                back.resume();
            }
            await(() -> got.size() >= 11, "the held orders at the consumer once its node is back, got " + got, 30);
            s.send("/queue/back", "after", "a");
            assertEquals("RECEIPT", s.next().command());
            await(() -> got.contains("after"), "a later order");
            Set<String> expected = new HashSet<>(List.of("before", "after"));
            for (int i = 0; i < 10; i++) {
                expected.add("held-" + i);
            }
            assertEquals(12, got.size(), "each order once: " + got);
            assertEquals(expected, new HashSet<>(got));
            c.close();
            reader.join(5000);
        }
    }

    /** Read MESSAGE frames into {@code into} until the connection closes. */
    private static Thread reader(StompWire w, List<String> into) {
        Thread t = new Thread(() -> {
            try {
                while (true) {
                    StompWire.Frame f = w.next();
                    if (f.command().equals("MESSAGE")) {
                        into.add(f.body());
                    }
                }
            } catch (java.io.IOException e) {
                // closed
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }
}
