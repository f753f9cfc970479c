package io.sluice.server.ops;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5DisconnectException;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5SubAckException;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.suback.Mqtt5SubAckReasonCode;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** max-subscriptions-per-client, max-topic-length and max-topic-levels at and past their edges, over MQTT 5. */
class TopicLimitsTest {
    private OpsTestServer server;

    @AfterEach
    void stop() {
        server.close();
    }

    private Mqtt5BlockingClient connect(String id) {
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(server.mqttPort()).buildBlocking();
        c.connect();
        return c;
    }

    private static List<Mqtt5SubAckReasonCode> refusedSubscribe(Mqtt5BlockingClient c, String filter) {
        Mqtt5SubAckException e = assertThrows(Mqtt5SubAckException.class,
                () -> c.subscribeWith().topicFilter(filter).send());
        return e.getMqttMessage().getReasonCodes();
    }

    @Test
    void subscriptionsPerClient() {
        server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.MAX_SUBSCRIPTIONS_PER_CLIENT, 2));
        Mqtt5BlockingClient c = connect("subs");
        c.subscribeWith().topicFilter("a").send();
        c.subscribeWith().topicFilter("b").send();
        assertEquals(List.of(Mqtt5SubAckReasonCode.QUOTA_EXCEEDED), refusedSubscribe(c, "c"));
        // at the limit, replacing an existing subscription is still allowed
        c.subscribeWith().topicFilter("b").qos(MqttQos.AT_LEAST_ONCE).send();
        assertEquals(2, server.broker.trie().subscriptionCount());
        assertEquals(1.0, server.ops.metrics().registry().get("sluice.limit.rejections")
                .tag("limit", "subscriptions_per_client").functionCounter().count());
        c.disconnect();
    }

    @Test
    void topicLengthAndLevelsOnSubscribe() {
        server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.MAX_TOPIC_LENGTH, 16).with(Settings.MAX_TOPIC_LEVELS, 3));
        Mqtt5BlockingClient c = connect("topics");
        c.subscribeWith().topicFilter("a".repeat(16)).send();
        assertEquals(List.of(Mqtt5SubAckReasonCode.TOPIC_FILTER_INVALID), refusedSubscribe(c, "a".repeat(17)));
        c.subscribeWith().topicFilter("a/b/c").send();
        assertEquals(List.of(Mqtt5SubAckReasonCode.TOPIC_FILTER_INVALID), refusedSubscribe(c, "a/b/c/d"));
        c.disconnect();
    }

    @Test
    void publishPastTheTopicLengthIsDisconnectedWithTopicNameInvalid() throws Exception {
        server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.MAX_TOPIC_LENGTH, 16));
        AtomicReference<Throwable> cause = new AtomicReference<>();
        CountDownLatch gone = new CountDownLatch(1);
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("long-topic").serverHost("127.0.0.1")
                .serverPort(server.mqttPort()).addDisconnectedListener(ctx -> {
                    cause.set(ctx.getCause());
                    gone.countDown();
                }).buildBlocking();
        c.connect();
        c.publishWith().topic("t".repeat(16)).qos(MqttQos.AT_LEAST_ONCE).send();
        assertThrows(RuntimeException.class,
                () -> c.publishWith().topic("t".repeat(17)).qos(MqttQos.AT_LEAST_ONCE).send());
        assertTrue(gone.await(20, TimeUnit.SECONDS));
        Mqtt5DisconnectException bye = assertInstanceOf(Mqtt5DisconnectException.class, cause.get());
        assertEquals(Mqtt5DisconnectReasonCode.TOPIC_NAME_INVALID, bye.getMqttMessage().getReasonCode());
        assertEquals(1.0, server.broker.stats().published.sum(), "only the message within the limit was published");
    }
}
