package io.sluice.server.cluster;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.nats.client.Connection;
import io.nats.client.KeyValue;
import io.nats.client.Nats;
import io.sluice.server.BrokerProcess;
import io.sluice.server.Sluice;
import io.sluice.server.StablePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.sluice.server.cluster.ClusterFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The will of a client whose session the cluster does not keep (it ends with its connection) survives the death of
 * the client's node: the cluster recorded it at CONNECT, and it is published once in the cluster, by the node that
 * finds the dead node down, or by the node itself when it starts again before anyone did. A client that said
 * goodbye (DISCONNECT) leaves no will behind.
 */
class ClusterWillTest {
    @RegisterExtension
    final ClusterFixture cluster = new ClusterFixture();

    /** Subscribers to {@code will/#} on each node: what each got, in order. */
    private List<List<String>> willSubscribers(Sluice... nodes) {
        List<List<String>> all = new ArrayList<>();
        for (Sluice node : nodes) {
            List<String> got = new CopyOnWriteArrayList<>();
            Mqtt5AsyncClient c = Mqtt5Client.builder().serverHost("127.0.0.1").serverPort(node.urls().mqttPort())
                    .buildAsync();
            c.publishes(MqttGlobalPublishFilter.ALL,
                    p -> got.add(p.getTopic() + "=" + new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)));
            c.connect().join();
            c.subscribeWith().topicFilter("will/#").qos(MqttQos.AT_LEAST_ONCE).send().join();
            cluster.closeLater(() -> c.disconnect());
            all.add(got);
        }
        return all;
    }

    /**
     * Clients of the node to be killed, each with a will on {@code will/<name>}: MQTT 5 and 3.1.1 sessions that end
     * with their connection (an MQTT 5 will delay of 60 s included: the session's end comes first), and one that
     * disconnects normally. Returns once the cluster has recorded the three wills left.
     */
    private void clientsWithWills(int port, Connection look, String node) {
        for (String name : List.of("v5", "delayed", "said-bye")) {
            Mqtt5AsyncClient c = Mqtt5Client.builder().identifier("wc-" + name).serverHost("127.0.0.1")
                    .serverPort(port).buildAsync();
            ClusterFixture.connectRetryingWhileBusy(() -> c.connectWith().cleanStart(true).sessionExpiryInterval(0)
                    .willPublish().topic("will/" + name).payload("gone".getBytes()).qos(MqttQos.AT_LEAST_ONCE)
                    .delayInterval(name.equals("delayed") ? 60 : 0).applyWillPublish().send());
            if (name.equals("said-bye")) {
                c.disconnect().join();
            }
        }
        Mqtt3AsyncClient v3 = Mqtt3Client.builder().identifier("wc-v3").serverHost("127.0.0.1").serverPort(port)
                .buildAsync();
        ClusterFixture.connectRetryingWhileBusy(() -> v3.connectWith().cleanSession(true).willPublish()
                .topic("will/v3").payload("gone".getBytes()).qos(MqttQos.AT_LEAST_ONCE).applyWillPublish().send());
        KeyValue wills = keyValue(look);
        await(() -> keys(wills, node).size() == 3, "the three wills recorded, have " + keys(wills, node));
    }

    private static final List<String> WILLS = List.of("will/delayed=gone", "will/v3=gone", "will/v5=gone");

    /** Each will once on each node, none of the client that said goodbye, and their records gone. */
    private void assertEachWillOnce(Sluice publisherNode, List<List<String>> got, Connection look, String node) {
        await(() -> got.stream().allMatch(g -> g.containsAll(WILLS)), "every will on every node, got " + got, 30);
        Mqtt5AsyncClient marker = Mqtt5Client.builder().serverHost("127.0.0.1")
                .serverPort(publisherNode.urls().mqttPort()).buildAsync();
        marker.connect().join();
        marker.publishWith().topic("will/marker").qos(MqttQos.AT_LEAST_ONCE).payload("m".getBytes()).send().join();
        marker.disconnect().join();
        await(() -> got.stream().allMatch(g -> g.contains("will/marker=m")), "the marker on every node");
        for (List<String> g : got) {
            List<String> wills = new ArrayList<>(g.subList(0, g.size() - 1));
            wills.sort(null);
            assertEquals(WILLS, wills, "each will once, none of the client that disconnected: " + g);
            assertEquals("will/marker=m", g.get(g.size() - 1));
        }
        assertEquals(List.of(), keys(keyValue(look), node), "the claimed wills' records");
    }

    /**
     * The node timeout is 3 s, not the least (1 s): a node not heard for it is down, and a loaded two-core machine
     * pauses the test's JVM (both surviving nodes) for a second now and then, in which one node judges the other down
     * and a will it publishes then does not go there (as documented for a node that is down).
     */
    @Test
    void theWillsOfAKilledNodesClientsArePublishedOnceByTheNodesThatFindItDown() throws Exception {
        Sluice a = cluster.node("wa", "cluster-node-timeout", "3s");
        Sluice b = cluster.node("wb", "cluster-node-timeout", "3s");
        int port = StablePorts.free();
        BrokerProcess doomed = cluster.process("wd", port, "--cluster-node-timeout", "3s");
        Connection look = cluster.closeLater(Nats.connect(cluster.nats().url()));
        List<List<String>> got = willSubscribers(a, b);
        await(() -> a.server().cluster().nodesFor("will/x").contains("wb")
                && b.server().cluster().nodesFor("will/x").contains("wa"), "both nodes to route will/#");
        clientsWithWills(port, look, "wd");
        await(() -> Boolean.TRUE.equals(a.server().cluster().otherNodes().get("wd"))
                && Boolean.TRUE.equals(b.server().cluster().otherNodes().get("wd")), "the node heard by both");
        doomed.kill();
        assertEachWillOnce(a, got, look, "wd");
    }

    /**
     * Killed and started again before the others find it down (their node timeout is long): the node publishes the
     * wills of its previous life's clients itself, once.
     */
    @Test
    void aNodeStartedAgainPublishesTheWillsOfItsPreviousLifesClients() throws Exception {
        Sluice a = cluster.node("ra", "cluster-node-timeout", "60s");
        int port = StablePorts.free();
        BrokerProcess doomed = cluster.process("rd", port, "--cluster-node-timeout", "60s");
        Connection look = cluster.closeLater(Nats.connect(cluster.nats().url()));
        List<List<String>> got = willSubscribers(a);
        clientsWithWills(port, look, "rd");
        doomed.kill();
        cluster.process("rd", port, "--cluster-node-timeout", "60s");
        assertEachWillOnce(a, got, look, "rd");
        assertEquals(Boolean.TRUE, a.server().cluster().otherNodes().get("rd"), "never found down");
    }

    /**
     * A node cut off from NATS for longer than the node timeout, its clients still connected to it: the other node
     * finds it down and publishes their wills (a session that ends with its connection, and a session the cluster
     * keeps), as it must for a node that died. When the clients' connections then end without a DISCONNECT (one of
     * each while the node is still cut off, one of each once it is back), the node does not publish those wills
     * again: it claims each will's record first (sluice-wills, the kept session's record), and the other node's claim
     * came first. The other node's subscriber gets each will once.
     */
    @Test
    void aNodeCutOffFromNatsPastTheTimeoutDoesNotPublishAWillTheOthersPublished() throws Exception {
        NatsServer nats = cluster.nats();
        Sluice a = cluster.node("ca", "cluster-node-timeout", "3s");
        int natsPort = Integer.parseInt(nats.url().substring(nats.url().lastIndexOf(':') + 1));
        TcpCut natsCut = cluster.closeLater(new TcpCut(natsPort));
        int port = StablePorts.free();
        BrokerProcess x = cluster.process("cx", port, "--cluster-node-timeout", "3s",
                "--cluster-nats", "nats://127.0.0.1:" + natsCut.port());
        List<List<String>> got = willSubscribers(a);
        await(() -> a.server().cluster().nodesFor("will/x").isEmpty()
                && Boolean.TRUE.equals(a.server().cluster().otherNodes().get("cx")), "the node heard");
        List<String> names = List.of("gone-during", "gone-after", "kept-during", "kept-after");
        java.util.Map<String, TcpCut> links = new java.util.HashMap<>();
        for (String name : names) {
            TcpCut link = cluster.closeLater(new TcpCut(port));
            links.put(name, link);
            Mqtt5AsyncClient c = Mqtt5Client.builder().identifier("cw-" + name).serverHost("127.0.0.1")
                    .serverPort(link.port()).buildAsync();
            boolean kept = name.startsWith("kept");
            ClusterFixture.connectRetryingWhileBusy(() -> c.connectWith().cleanStart(true)
                    .sessionExpiryInterval(kept ? 300 : 0).willPublish().topic("will/" + name)
                    .payload("gone".getBytes()).qos(MqttQos.AT_LEAST_ONCE).applyWillPublish().send());
        }
        KeyValue wills = keyValue(cluster.closeLater(Nats.connect(nats.url())));
        await(() -> keys(wills, "cx").size() == 2, "the wills of the two sessions that end with their connections");
        await(() -> names.stream().filter(n -> n.startsWith("kept")).allMatch(n -> a.server().cluster().recordsWill(
                new io.sluice.server.broker.SessionId(io.sluice.server.mqtt.MqttModule.NAMESPACE, "cw-" + n))),
                "the kept sessions recorded with their wills");
        // the other node's subscriber gets what that node publishes
        Mqtt5AsyncClient first = Mqtt5Client.builder().serverHost("127.0.0.1").serverPort(a.urls().mqttPort())
                .buildAsync();
        first.connect().join();
        first.publishWith().topic("will/first").qos(MqttQos.AT_LEAST_ONCE).payload("f".getBytes()).send().join();
        first.disconnect().join();
        await(() -> got.get(0).contains("will/first=f"), "a message published there, got " + got);
        got.get(0).remove("will/first=f");

        natsCut.cut();
        await(() -> Boolean.FALSE.equals(a.server().cluster().otherNodes().get("cx")), "the node found down", 30);
        List<String> all = names.stream().map(n -> "will/" + n + "=gone").sorted().toList();
        await(() -> got.get(0).containsAll(all), "the other node to publish every will", 30);
        links.get("gone-during").cut();
        links.get("kept-during").cut();
        natsCut.heal();
        await(() -> Boolean.TRUE.equals(a.server().cluster().otherNodes().get("cx")), "the node heard again", 30);
        links.get("gone-after").cut();
        links.get("kept-after").cut();
        // the node decides each will once it can read the cluster: claimed by the other node, so not published (a
        // will it published anyway shows at the other node as a second copy)
        await(() -> (count(x, "its will was claimed by another node") == 2
                && count(x, "its will is not published here") == 2)
                || got.get(0).size() > new java.util.HashSet<>(got.get(0)).size(), "the node's four decisions", 30);

        Mqtt5AsyncClient marker = Mqtt5Client.builder().serverHost("127.0.0.1").serverPort(port).buildAsync();
        ClusterFixture.connectRetryingWhileBusy(() -> marker.connectWith().send());
        marker.publishWith().topic("will/marker").qos(MqttQos.AT_LEAST_ONCE).payload("m".getBytes()).send().join();
        marker.disconnect().join();
        await(() -> got.get(0).contains("will/marker=m"), "the marker from the node that was cut off");
        List<String> seen = new ArrayList<>(got.get(0));
        seen.remove("will/marker=m");
        seen.sort(null);
        assertEquals(all, seen, "each will once");
    }

    private static long count(BrokerProcess p, String text) {
        try {
            return p.logLines().stream().filter(l -> l.contains(text)).count();
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    private static KeyValue keyValue(Connection look) {
        try {
            return look.keyValue(NatsCluster.WILLS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** The keys of a node's will records. */
    private static List<String> keys(KeyValue wills, String node) {
        try {
            return wills.keys(node + ".>");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
