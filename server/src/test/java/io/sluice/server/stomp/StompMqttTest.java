package io.sluice.server.stomp;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.datatypes.Mqtt5UserProperty;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PublishResult;
import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.broker.BrokerConfig;
import io.sluice.server.broker.QueueLimits;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static io.sluice.server.stomp.StompTestClient.frame;
import static io.sluice.server.stomp.StompTestClient.sendFrame;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** STOMP and MQTT on one trie: both directions, headers and properties, QoS 1 and client acks, retained messages. */
class StompMqttTest {
    private static final QueueLimits SMALL = new QueueLimits(2, 1 << 20, 32, 1000, List.of());
    private StompTestServer server;

    @BeforeEach
    void start() {
        server = new StompTestServer(Settings.defaults(), new BrokerConfig(SMALL, 1024));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private Mqtt5BlockingClient mqtt(String id) {
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.mqttPort())
                .buildBlocking();
        c.connect();
        return c;
    }

    @Test
    void mqttPublishReachesStompWithPropertiesAsHeaders() throws Exception {
        byte[] body = {0, 1, 2, 0, (byte) 0xff};
        Mqtt5BlockingClient pub = mqtt("props-pub");
        try (StompTestClient sub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            sub.subscribe("/topic/sensors/#", "s");
            pub.publishWith().topic("sensors/k1/temp").qos(MqttQos.AT_LEAST_ONCE).payload(body)
                    .contentType("application/octet-stream")
                    .responseTopic("replies/k1")
                    .correlationData("corr-1".getBytes(StandardCharsets.UTF_8))
                    .userProperties().add("b", "2").add("a", "1").applyUserProperties()
                    .send();
            StompTestClient.Frame m = sub.next(StompCommand.MESSAGE);
            assertEquals("/topic/sensors/k1/temp", m.header("destination"));
            assertArrayEquals(body, m.body());
            assertEquals("5", m.header("content-length"));
            assertEquals("application/octet-stream", m.header("content-type"));
            assertEquals("/topic/replies/k1", m.header("reply-to"));
            assertEquals("corr-1", m.header("correlation-id"));
            List<String> custom = m.headers().stream().map(e -> e.getKey())
                    .filter(k -> k.equals("a") || k.equals("b")).collect(Collectors.toList());
            assertEquals(List.of("b", "a"), custom, "user properties in order");
            assertEquals("2", m.header("b"));
        } finally {
            pub.disconnect();
        }
    }

    @Test
    void stompSendReachesMqttWithHeadersAsProperties() throws Exception {
        Mqtt5BlockingClient sub = mqtt("props-sub");
        try (Mqtt5BlockingClient.Mqtt5Publishes received = sub.publishes(MqttGlobalPublishFilter.ALL);
             StompTestClient pub = new StompTestClient(server.port())) {
            sub.subscribeWith().topicFilter("sensors/+/temp").qos(MqttQos.AT_LEAST_ONCE).send();
            pub.connect("1.2");
            pub.sendAndAwaitReceipt(sendFrame("/topic/sensors/k2/temp", "22.0", "content-type", "text/plain",
                    "reply-to", "/queue/answers", "correlation-id", "c-9", "x-first", "1", "x-second", "2"), "r");
            Mqtt5Publish p = received.receive(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS).orElseThrow();
            assertEquals("sensors/k2/temp", p.getTopic().toString());
            assertEquals(MqttQos.AT_LEAST_ONCE, p.getQos());
            assertEquals("22.0", new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8));
            assertEquals("text/plain", p.getContentType().orElseThrow().toString());
            assertEquals("$stomp/queue/answers", p.getResponseTopic().orElseThrow().toString());
            assertEquals("c-9", StandardCharsets.UTF_8.decode(p.getCorrelationData().orElseThrow()).toString());
            List<String> props = p.getUserProperties().asList().stream()
                    .map(u -> u.getName() + "=" + u.getValue()).collect(Collectors.toList());
            assertEquals(List.of("x-first=1", "x-second=2"), props);
        } finally {
            sub.disconnect();
        }
    }

    @Test
    void mqttQos1PublisherIsHeldByAFullClientAckSubscriber() throws Exception {
        Mqtt5AsyncClient pub = mqtt("qos1-pub").toAsync();
        try (StompTestClient sub = new StompTestClient(server.port())) {
            sub.connect("1.2");
            sub.subscribe("/topic/work/#", "s", "ack", "client-individual", "prefetch-count", "1");
            // 1 in the window + 2 queued fill the subscriber; the fourth PUBACK must wait for an ACK
            for (int i = 1; i <= 3; i++) {
                pub.publishWith().topic("work/" + i).qos(MqttQos.AT_LEAST_ONCE).payload(("m" + i).getBytes()).send()
                        .get(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS);
            }
            CompletableFuture<Mqtt5PublishResult> fourth = pub.publishWith().topic("work/4").qos(MqttQos.AT_LEAST_ONCE)
                    .payload("m4".getBytes()).send();
            StompTestClient.Frame m1 = sub.next(StompCommand.MESSAGE);
            assertEquals("m1", m1.text());
            Thread.sleep(300);
            assertFalse(fourth.isDone(), "PUBACK withheld while the STOMP subscriber is full");
            sub.send(frame(StompCommand.ACK, "id", m1.header("ack")));
            fourth.get(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS);
            for (int i = 2; i <= 4; i++) {
                StompTestClient.Frame m = sub.next(StompCommand.MESSAGE);
                assertEquals("m" + i, m.text());
                sub.send(frame(StompCommand.ACK, "id", m.header("ack")));
            }
        } finally {
            pub.disconnect().get(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    @Test
    void retainedMqttMessagesReachNewStompSubscribersUnlessOptedOut() throws Exception {
        Mqtt5BlockingClient pub = mqtt("retainer");
        pub.publishWith().topic("state/door").qos(MqttQos.AT_LEAST_ONCE).retain(true).payload("open".getBytes()).send();
        pub.disconnect();
        try (StompTestClient c = new StompTestClient(server.port()); StompTestClient optOut = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.subscribe("/topic/state/+", "s");
            StompTestClient.Frame m = c.next(StompCommand.MESSAGE);
            assertEquals("open", m.text());
            assertEquals("true", m.header("retained"));
            optOut.connect("1.2");
            optOut.subscribe("/topic/state/+", "s", "retained", "false");
            assertNull(optOut.poll(300));
        }
    }

    @Test
    void stompRetainHeaderSetsTheRetainedMessageForMqtt() throws Exception {
        try (StompTestClient pub = new StompTestClient(server.port())) {
            pub.connect("1.2");
            pub.sendAndAwaitReceipt(sendFrame("/topic/state/light", "on", "retain", "true"), "r");
        }
        Mqtt5BlockingClient sub = mqtt("late");
        try (Mqtt5BlockingClient.Mqtt5Publishes received = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.subscribeWith().topicFilter("state/#").qos(MqttQos.AT_LEAST_ONCE).send();
            Mqtt5Publish p = received.receive(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS).orElseThrow();
            assertTrue(p.isRetain());
            assertEquals("on", new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8));
            assertTrue(p.getUserProperties().asList().stream().map(Mqtt5UserProperty::getName)
                    .noneMatch(n -> n.toString().equals("retain")), "retain is not passed on as a user property");
        } finally {
            sub.disconnect();
        }
    }

    @Test
    void mqttSharedSubscriberCompetesOnAStompQueue() throws Exception {
        Mqtt5BlockingClient mq = mqtt("queue-member");
        try (Mqtt5BlockingClient.Mqtt5Publishes received = mq.publishes(MqttGlobalPublishFilter.ALL);
             StompTestClient pub = new StompTestClient(server.port())) {
            mq.subscribeWith().topicFilter("$share/stomp/$stomp/queue/jobs").qos(MqttQos.AT_LEAST_ONCE).send();
            pub.connect("1.2");
            pub.sendAndAwaitReceipt(sendFrame("/queue/jobs", "job-1"), "r");
            Mqtt5Publish p = received.receive(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS).orElseThrow();
            assertEquals("$stomp/queue/jobs", p.getTopic().toString());
            assertEquals("job-1", new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8));
        } finally {
            mq.disconnect();
        }
    }

    @Test
    void expiryCrossesBothWays() throws Exception {
        Mqtt5BlockingClient mq = mqtt("expiry");
        try (Mqtt5BlockingClient.Mqtt5Publishes received = mq.publishes(MqttGlobalPublishFilter.ALL);
             StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.subscribe("/topic/exp/#", "s");
            mq.subscribeWith().topicFilter("exp/#").qos(MqttQos.AT_LEAST_ONCE).send();
            long before = System.currentTimeMillis();
            mq.publishWith().topic("exp/from-mqtt").qos(MqttQos.AT_LEAST_ONCE).payload("x".getBytes())
                    .messageExpiryInterval(60).send();
            StompTestClient.Frame m = c.next(StompCommand.MESSAGE);
            long expires = Long.parseLong(m.header("expires"));
            assertTrue(expires >= before + 59_000 && expires <= System.currentTimeMillis() + 61_000, m.toString());
            received.receive(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS).orElseThrow();

            c.sendAndAwaitReceipt(sendFrame("/topic/exp/from-stomp", "y", "expires",
                    Long.toString(System.currentTimeMillis() + 120_000)), "r");
            Mqtt5Publish p = received.receive(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS).orElseThrow();
            assertEquals("exp/from-stomp", p.getTopic().toString());
            long interval = p.getMessageExpiryInterval().orElseThrow();
            assertTrue(interval > 100 && interval <= 120, "expiry interval " + interval);
            c.next(StompCommand.MESSAGE);

            // already expired: nobody gets it
            c.sendAndAwaitReceipt(sendFrame("/topic/exp/late", "z", "expires", "1"), "late");
            assertNull(c.poll(300));
        } finally {
            mq.disconnect();
        }
    }

    @Test
    void anMqttClientIdInTheStompNamespaceIsNotTakenOver() throws Exception {
        try (StompTestClient c = new StompTestClient(server.port())) {
            String session = c.connect("1.2").header("session");
            Mqtt5BlockingClient squatter = mqtt(session + "-0");
            try (Mqtt5BlockingClient.Mqtt5Publishes received = squatter.publishes(MqttGlobalPublishFilter.ALL)) {
                squatter.subscribeWith().topicFilter("squat").qos(MqttQos.AT_LEAST_ONCE).send();
                c.subscribe("/topic/squat", "s");
                c.sendAndAwaitReceipt(sendFrame("/topic/squat", "both"), "r");
                assertEquals("both", c.next(StompCommand.MESSAGE).text());
                assertEquals("both", new String(received.receive(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS)
                        .orElseThrow().getPayloadAsBytes(), StandardCharsets.UTF_8));
            } finally {
                squatter.disconnect();
            }
        }
    }
}
