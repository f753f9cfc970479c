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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.cluster.ClusterFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A message JetStream hands a node again after the node's first copy was done (in every local queue, acknowledged,
 * the acknowledgement lost on the way) is acknowledged and dropped, not published a second time.
 */
class ClusterRedeliveryTest {
    @RegisterExtension
    final ClusterFixture cluster = new ClusterFixture();

    /**
     * Node 2 reaches NATS through a link that loses its acknowledgement of each message's first delivery: every message
     * published on node 1 is put into node 2's subscriber's queue, acknowledged, and handed to node 2 again once the
     * ack wait (500 ms) runs out. The subscriber gets each message once, in publish order, and nothing more before a
     * marker published once the link loses nothing.
     */
    @Test
    void aMessageHandedAgainAfterItWasDoneReachesTheSubscriberOnce() throws Exception {
        NatsServer nats = cluster.nats();
        int natsPort = Integer.parseInt(nats.url().substring(nats.url().lastIndexOf(':') + 1));
        NatsProxy link = cluster.closeLater(new NatsProxy(natsPort));
        AckLoss loss = new AckLoss("node-rd2");
        link.rule(loss);
        Sluice receiver = cluster.node(List.of(link.url()), "rd2", "cluster-ack-wait", "500ms");
        Sluice sender = cluster.node("rd1");

        List<String> got = new CopyOnWriteArrayList<>();
        Mqtt3AsyncClient sub = Mqtt3Client.builder().identifier("rd-sub").serverHost("127.0.0.1")
                .serverPort(receiver.urls().mqttPort()).buildAsync();
        sub.connect().join();
        cluster.closeLater(() -> sub.disconnect().get(5, TimeUnit.SECONDS));
        sub.subscribeWith().topicFilter("redo/x").qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> got.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))).send().join();
        await(() -> sender.server().cluster().nodesFor("redo/x").contains("rd2"), "the route to rd2");

        Mqtt3AsyncClient pub = Mqtt3Client.builder().identifier("rd-pub").serverHost("127.0.0.1")
                .serverPort(sender.urls().mqttPort()).buildAsync();
        pub.connect().join();
        cluster.closeLater(() -> pub.disconnect().get(5, TimeUnit.SECONDS));

        int n = 20;
        List<String> expected = new ArrayList<>();
        loss.lose = true;
        for (int i = 0; i < n; i++) {
            pub.publishWith().topic("redo/x").qos(MqttQos.AT_LEAST_ONCE).payload(Integer.toString(i).getBytes())
                    .send().get(15, TimeUnit.SECONDS);
            expected.add(Integer.toString(i));
        }
        await(() -> loss.lost.get() >= n, "node 2's acknowledgement of each first delivery lost (" + loss.lost.get() + ")");
        // each handed again after its ack wait, and that copy acknowledged: JetStream holds nothing more for node 2
        await(() -> loss.againAcked.get() >= n, "each message handed to node 2 again and acknowledged ("
                + loss.againAcked.get() + ")", 30);
        try (Connection tap = Nats.connect(nats.url())) {
            await(() -> nothingHeldFor(tap, "rd2"), "JetStream to hold nothing more for node 2", 30);
        }
        loss.lose = false;
        pub.publishWith().topic("redo/x").qos(MqttQos.AT_LEAST_ONCE).payload("end".getBytes())
                .send().get(15, TimeUnit.SECONDS);
        expected.add("end");
        await(() -> got.contains("end"), "the marker");
        assertEquals(expected, got, "each message once, in publish order, before the marker");
    }

    /**
     * Drops, while {@link #lose} is on, the acknowledgement a node sends for the first delivery of a JetStream message
     * to its consumer: a {@code PUB} of {@code +ACK} (or nothing) to the reply subject JetStream gave the delivery,
     * {@code $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>...} (with a domain and an account hash after
     * {@code ACK} in the newer form). The acknowledgement of a copy handed again passes, so each is handed twice at most.
     */
    private static final class AckLoss implements NatsProxy.Rule {
        private final String consumer;
        volatile boolean lose;
        final java.util.concurrent.atomic.AtomicInteger lost = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger againAcked = new java.util.concurrent.atomic.AtomicInteger();

        AckLoss(String consumer) {
            this.consumer = consumer;
        }

        @Override
        public boolean drop(boolean toServer, String subject, byte[] payload) {
            if (!toServer || !subject.startsWith("$JS.ACK.")) {
                return false;
            }
            String body = new String(payload, StandardCharsets.US_ASCII);
            if (!body.isEmpty() && !body.equals("+ACK")) {
                return false; // in progress, not wanted, terminated: not an acknowledgement
            }
            String[] t = subject.split("\\.");
            int at = t.length == 9 ? 3 : 5; // the consumer's token, in the older and the newer form
            if (t.length < 9 || !t[at].equals(consumer)) {
                return false;
            }
            if (Long.parseLong(t[at + 1]) > 1) {
                againAcked.incrementAndGet();
                return false;
            }
            if (!lose) {
                return false;
            }
            lost.incrementAndGet();
            return true;
        }
    }

    private static boolean nothingHeldFor(Connection c, String node) {
        try {
            var jsm = c.jetStreamManagement();
            return jsm.getStreamInfo(NatsCluster.STREAM).getStreamState().getMsgCount() == 0
                    && jsm.getConsumerInfo(NatsCluster.STREAM, "node-" + node).getNumAckPending() == 0;
        } catch (Exception e) {
            return false;
        }
    }
}
