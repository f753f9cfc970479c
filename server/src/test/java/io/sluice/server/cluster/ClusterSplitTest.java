package io.sluice.server.cluster;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.sluice.server.Sluice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.cluster.ClusterFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A split that keeps two nodes' core NATS traffic apart while both stay connected to NATS, as a split of a NATS
 * cluster does: played by a proxy between node 2 and NATS that drops the heartbeats both ways and the route bucket's
 * changes on their way to node 2.
 */
class ClusterSplitTest {
    @RegisterExtension
    final ClusterFixture cluster = new ClusterFixture();

    /**
     * Each node finds the other down; a client subscribes on each node during the split (node 2's write of its route
     * lost); once the split heals and the nodes hear each other again, node 2 knows node 1's new route (it reads node
     * 1's routes again), node 2's route is in the bucket and known on node 1 (written again), and a message published
     * on node 2 reaches node 1's subscriber. Without them, neither route crosses while both connections stay up.
     */
    @Test
    void aRouteMadeDuringASplitReachesTheOtherSideOnceItHeals() throws Exception {
        NatsServer nats = cluster.nats();
        int natsPort = Integer.parseInt(nats.url().substring(nats.url().lastIndexOf(':') + 1));
        NatsProxy link = cluster.closeLater(new NatsProxy(natsPort));
        Sluice n1 = cluster.node("sp1", "cluster-node-timeout", "3s");
        Sluice n2 = cluster.node(List.of(link.url()), "sp2", "cluster-node-timeout", "3s");

        List<String> got = new CopyOnWriteArrayList<>();
        Mqtt3AsyncClient sub = Mqtt3Client.builder().identifier("sp-sub").serverHost("127.0.0.1")
                .serverPort(n1.urls().mqttPort()).buildAsync();
        sub.connect().join();
        cluster.closeLater(() -> sub.disconnect().get(5, TimeUnit.SECONDS));
        sub.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL,
                p -> got.add(p.getTopic() + " " + new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)));
        sub.subscribeWith().topicFilter("split/before").qos(MqttQos.AT_LEAST_ONCE).send().join();
        await(() -> n2.server().cluster().nodesFor("split/before").contains("sp1"), "node 1's first route on node 2");

        // node 2's own route writes are lost too, as a NATS server without a quorum does not take them
        link.rule((toServer, subject, payload) -> subject.startsWith(NatsCluster.ALIVE_SUBJECT)
                || subject.startsWith("$KV." + NatsCluster.ROUTES + "."));
        await(() -> n2.server().cluster().nodesFor("split/before").isEmpty(), "node 2 to find node 1 down");
        sub.subscribeWith().topicFilter("split/after").qos(MqttQos.AT_LEAST_ONCE).send().join();
        Mqtt3AsyncClient sub2 = Mqtt3Client.builder().identifier("sp-sub2").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        sub2.connect().join();
        cluster.closeLater(() -> sub2.disconnect().get(5, TimeUnit.SECONDS));
        sub2.subscribeWith().topicFilter("split/back").qos(MqttQos.AT_LEAST_ONCE).send().join();
        try (Connection tap = Nats.connect(nats.url())) {
            await(() -> routesOf(tap, "sp1.") == 2, "node 1's second route in the bucket");
            link.passAll();
            await(() -> n2.server().cluster().nodesFor("split/before").contains("sp1"), "node 2 to hear node 1 again");
            await(() -> n2.server().cluster().nodesFor("split/after").contains("sp1"),
                    "the route made on node 1 during the split known on node 2 once it healed");
            await(() -> routesOf(tap, "sp2.") == 1, "node 2's route made during the split in the bucket once it healed");
            await(() -> n1.server().cluster().nodesFor("split/back").contains("sp2"),
                    "the route made on node 2 during the split known on node 1 once it healed");
        }

        Mqtt3AsyncClient pub = Mqtt3Client.builder().identifier("sp-pub").serverHost("127.0.0.1")
                .serverPort(n2.urls().mqttPort()).buildAsync();
        pub.connect().join();
        cluster.closeLater(() -> pub.disconnect().get(5, TimeUnit.SECONDS));
        pub.publishWith().topic("split/after").qos(MqttQos.AT_LEAST_ONCE).payload("healed".getBytes())
                .send().get(15, TimeUnit.SECONDS);
        await(() -> !got.isEmpty(), "the message published on node 2 after the split");
        assertEquals(List.of("split/after healed"), got);
    }

    private static long routesOf(Connection c, String prefix) {
        try {
            return c.keyValue(NatsCluster.ROUTES).keys().stream().filter(k -> k.startsWith(prefix)).count();
        } catch (Exception e) {
            return -1;
        }
    }
}
