package io.sluice.server.cluster;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5PubAckException;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PublishResult;
import com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.api.StreamInfoOptions;
import io.sluice.server.Sluice;
import io.sluice.server.broker.SessionId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.sluice.server.cluster.ClusterFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A kept session's queue on a replicated stream filled past its bound: the nodes count the queue themselves and
 * refuse before the stream's own per-session bound, where nats-server 2.9 on a NATS cluster may acknowledge a publish
 * it then does not keep (nats-server issue 4247).
 */
class KeptQueueBoundTest {
    @RegisterExtension
    final ClusterFixture cluster = new ClusterFixture();

    /**
     * Three NATS servers, replicas 3, a persistent MQTT 5 session parked on node 2 with a queue of 100 (withhold: an
     * MQTT 5 publisher is told when a full offline queue refuses it) and two pipelining MQTT 5 publishers, one on each
     * node, 300 QoS 1 messages each. Every publish is answered, success or 0x97 Quota exceeded; the stream holds exactly
     * the accepted ones and never met its own bound; the session resumed on node 1 gets every accepted message and
     * none refused.
     */
    @Test
    void aParkedSessionFilledPastItsBoundOnAReplicatedStreamGetsEveryAcceptedMessage() throws Exception {
        List<NatsServer> servers = cluster.startNatsCluster("nats-bound", 3);
        List<String> urls = servers.stream().map(NatsServer::url).toList();
        String[] settings = {"cluster-replicas", "3", "max-queued-messages", "100", "offline-queue-full", "withhold"};
        Sluice n1 = cluster.node(urls, "b1", settings);
        Sluice n2 = cluster.node(urls, "b2", settings);

        Mqtt5AsyncClient parked = keeper(n2, new CopyOnWriteArrayList<>());
        parked.disconnect().join();
        SessionId id = new SessionId("mqtt", "parked");
        await(() -> n1.server().cluster().offlineSince(id) > 0 && n2.server().cluster().offlineSince(id) > 0,
                "the session offline on both nodes");

        Map<String, Mqtt5PubAckReasonCode> answers = new ConcurrentHashMap<>();
        int each = 300;
        for (Sluice node : List.of(n1, n2)) {
            String name = node == n1 ? "p1" : "p2";
            Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier("bound-" + name).serverHost("127.0.0.1")
                    .serverPort(node.urls().mqttPort()).buildAsync();
            pub.connect().join();
            for (int i = 0; i < each; i++) {
                String payload = name + "-" + i;
                CompletableFuture<Mqtt5PublishResult> f = pub.publishWith().topic("bound/x")
                        .qos(MqttQos.AT_LEAST_ONCE).payload(payload.getBytes(StandardCharsets.UTF_8)).send();
                f.whenComplete((r, e) -> answers.put(payload, code(r, e)));
            }
        }
        await(() -> answers.size() == 2 * each, "every publish answered, got " + answers.size(), 60);
        Set<String> accepted = new TreeSet<>();
        Set<String> refused = new TreeSet<>();
        answers.forEach((p, c) -> (c == Mqtt5PubAckReasonCode.SUCCESS ? accepted : refused).add(p));
        assertEquals(2 * each, accepted.size() + refused.size(), "each answer success or 0x97: " + answers);
        assertTrue(accepted.size() >= 100, "the queue took at least its bound: " + accepted.size());
        assertTrue(!refused.isEmpty(), "past the bound publishers were refused");

        String subject = ClusterSessions.subject(ClusterSessions.hash(id));
        try (Connection nats = Nats.connect(urls.get(0))) {
            var info = nats.jetStreamManagement().getStreamInfo(ClusterSessions.STREAM,
                    StreamInfoOptions.filterSubjects(subject));
            Long held = info.getStreamState().getSubjectMap().get(subject);
            assertEquals(accepted.size(), held == null ? 0 : held, "JetStream holds exactly the accepted messages");
            long bound = info.getConfiguration().getMaxMsgsPerSubject();
            assertTrue(held < bound, "the stream's own bound per session (" + bound + ") was never met: " + held);
        }

        List<String> got = new CopyOnWriteArrayList<>();
        Mqtt5AsyncClient back = keeper(n1, got);
        await(() -> got.size() >= accepted.size(), "every accepted message on resuming on node 1, got " + got.size(),
                60);
        assertEquals(accepted, new TreeSet<>(got), "the accepted messages, none refused");
        assertEquals(accepted.size(), got.size(), "each once");
        back.disconnectWith().sessionExpiryInterval(0).send().join();
    }

    private static Mqtt5PubAckReasonCode code(Mqtt5PublishResult r, Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof Mqtt5PubAckException p) {
                return p.getMqttMessage().getReasonCode();
            }
        }
        if (r instanceof Mqtt5PublishResult.Mqtt5Qos1Result q) {
            return q.getPubAck().getReasonCode();
        }
        return Mqtt5PubAckReasonCode.UNSPECIFIED_ERROR;
    }

    /** The persistent session "parked" connected to {@code node}, subscribed to {@code bound/#}, into {@code got}. */
    private static Mqtt5AsyncClient keeper(Sluice node, List<String> got) {
        Mqtt5AsyncClient c = Mqtt5Client.builder().identifier("parked").serverHost("127.0.0.1")
                .serverPort(node.urls().mqttPort()).buildAsync();
        // every publish, from before the SUBSCRIBE is answered: a resumed session's queue comes at once
        c.publishes(MqttGlobalPublishFilter.ALL, p -> got.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)));
        c.connectWith().cleanStart(false).sessionExpiryInterval(300).send().join();
        c.subscribeWith().topicFilter("bound/#").qos(MqttQos.AT_LEAST_ONCE).send().join();
        return c;
    }
}
