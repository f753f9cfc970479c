package io.sluice.server.store;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.sluice.server.BrokerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the store keeps survives a real kill -9 and restart on the same data directory: retained messages
 * (a cleared one stays cleared), a session's subscriptions with their options and identifiers, a will waiting
 * for its delay; a session whose expiry passed while the broker was down does not come back.
 */
class RestartSurvivalTest {
    /**
     * Long enough that a restart on a busy machine still lets the watcher subscribe before the will is due, so the
     * test proves the delay survived the downtime rather than racing it.
     */
    private static final int WILL_DELAY_SECONDS = 20;


    @Test
    void retainedSubscriptionsAndDelayedWillsSurviveKillNineAndAnExpiredSessionDoesNot(@TempDir Path dir)
            throws Exception {
        BrokerProcess.Ports ports = BrokerProcess.Ports.free();
        Path data = dir.resolve("data");
        Path log = dir.resolve("broker.log");
        try (BrokerProcess first = BrokerProcess.start(ports, data, log)) {
            Mqtt5BlockingClient pub = client(ports, "survive-pub");
            pub.connect();
            pub.publishWith().topic("r/a").payload(bytes("A")).qos(MqttQos.AT_LEAST_ONCE).retain(true).send();
            pub.publishWith().topic("r/b").payload(bytes("B")).qos(MqttQos.AT_LEAST_ONCE).retain(true).send();
            pub.publishWith().topic("r/b").payload(new byte[0]).qos(MqttQos.AT_LEAST_ONCE).retain(true).send();
            pub.publishWith().topic("r/c").payload(bytes("C0")).qos(MqttQos.AT_MOST_ONCE).retain(true).send();
            pub.publishWith().topic("r/a").payload(bytes("A2")).qos(MqttQos.EXACTLY_ONCE).retain(true).send();

            Mqtt5BlockingClient keeper = client(ports, "survive-keeper");
            keeper.connectWith().cleanStart(true).sessionExpiryInterval(3600).send();
            keeper.subscribeWith().topicFilter("s/x").qos(MqttQos.AT_LEAST_ONCE).noLocal(true).send();
            keeper.subscribeWith().topicFilter("s/+").qos(MqttQos.EXACTLY_ONCE).send(); // a second filter, no id
            keeper.disconnect();

            Mqtt5BlockingClient shortLived = client(ports, "survive-short");
            shortLived.connectWith().cleanStart(true).sessionExpiryInterval(2).send();
            shortLived.subscribeWith().topicFilter("short/t").qos(MqttQos.AT_LEAST_ONCE).send();
            shortLived.disconnect();

            Mqtt5BlockingClient dying = client(ports, "survive-will");
            dying.connectWith().cleanStart(true).sessionExpiryInterval(600)
                    .willPublish().topic("will/t").payload(bytes("gone")).qos(MqttQos.AT_LEAST_ONCE)
                    .delayInterval(WILL_DELAY_SECONDS).applyWillPublish().send();
            dying.disconnectWith().reasonCode(Mqtt5DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE).send();
            // the broker has handled that disconnect (and recorded the will) once it logs it; the store writes in
            // order, so the PUBACK of a retained message written after it means the will is written too
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!first.log().contains("disconnect client=survive-will ") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            pub.publishWith().topic("r/barrier").payload(bytes("x")).qos(MqttQos.AT_LEAST_ONCE).retain(true).send();
            pub.disconnect();
            first.kill();
        }
        long killedAt = System.nanoTime();
        Thread.sleep(2500); // the 2 s session expires while the broker is down

        try (BrokerProcess second = BrokerProcess.start(ports, data, log)) {
            Mqtt5BlockingClient willWatcher = client(ports, "survive-will-watcher");
            willWatcher.connect();
            try (Mqtt5BlockingClient.Mqtt5Publishes wills = willWatcher.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
                willWatcher.subscribeWith().topicFilter("will/t").qos(MqttQos.AT_LEAST_ONCE).send();
                assertTrue(System.nanoTime() - killedAt < TimeUnit.SECONDS.toNanos(WILL_DELAY_SECONDS - 1), "the restart took so long that "
                        + "the will may have gone out before anyone listened; nothing proven");

                // retained: the latest of each topic, the cleared one gone, QoS 0 ones too
                Mqtt5BlockingClient reader = client(ports, "survive-reader");
                reader.connect();
                Map<String, String> retained = new HashMap<>();
                try (Mqtt5BlockingClient.Mqtt5Publishes in = reader.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
                    reader.subscribeWith().topicFilter("r/#").qos(MqttQos.AT_LEAST_ONCE).send();
                    for (Optional<Mqtt5Publish> p = in.receive(3, TimeUnit.SECONDS); p.isPresent();
                         p = in.receive(1, TimeUnit.SECONDS)) {
                        assertTrue(p.get().isRetain(), p.get().toString());
                        retained.put(p.get().getTopic().toString(), text(p.get()));
                    }
                }
                assertEquals(Map.of("r/a", "A2", "r/c", "C0", "r/barrier", "x"), retained);
                reader.disconnect();

                // the session and its subscriptions with their options, without subscribing again
                Mqtt5BlockingClient keeper = client(ports, "survive-keeper");
                try (Mqtt5BlockingClient.Mqtt5Publishes in = keeper.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
                    Mqtt5ConnAck ack = keeper.connectWith().cleanStart(false).sessionExpiryInterval(3600).send();
                    assertTrue(ack.isSessionPresent(), "session present after the restart");
                    keeper.publishWith().topic("s/x").payload(bytes("own")).qos(MqttQos.AT_LEAST_ONCE).send();
                    Mqtt5BlockingClient other = client(ports, "survive-other");
                    other.connect();
                    other.publishWith().topic("s/x").payload(bytes("theirs")).qos(MqttQos.EXACTLY_ONCE).send();
                    other.disconnect();
                    Mqtt5Publish one = in.receive(10, TimeUnit.SECONDS).orElseThrow();
                    Mqtt5Publish two = in.receive(10, TimeUnit.SECONDS).orElseThrow();
                    // "own" only through s/+ (s/x has No Local); "theirs" through both: one delivery, QoS 2
                    Map<String, Mqtt5Publish> byText = Map.of(text(one), one, text(two), two);
                    assertEquals(java.util.Set.of("own", "theirs"), byText.keySet());
                    assertEquals(MqttQos.EXACTLY_ONCE, byText.get("theirs").getQos());
                    assertFalse(in.receive(1, TimeUnit.SECONDS).isPresent(), "one delivery per message");
                }
                keeper.disconnect();

                // the will goes out WILL_DELAY_SECONDS after the disconnect, downtime included
                Mqtt5Publish will = wills.receive(WILL_DELAY_SECONDS + 10, TimeUnit.SECONDS).orElseThrow(
                        () -> new AssertionError("delayed will never published after the restart"));
                assertEquals("gone", text(will));
                assertTrue(System.nanoTime() - killedAt >= TimeUnit.SECONDS.toNanos(WILL_DELAY_SECONDS - 1), "not before its delay");
            }
            willWatcher.disconnect();

            // the 2 s session expired during the downtime: gone, with its subscription
            Mqtt5BlockingClient shortLived = client(ports, "survive-short");
            Mqtt5ConnAck ack = shortLived.connectWith().cleanStart(false).sessionExpiryInterval(2).send();
            assertFalse(ack.isSessionPresent(), "an expired session came back");
            shortLived.disconnect();
            assertTrue(second.log().lines().anyMatch(l -> l.contains("survive-short")
                    && l.contains("expired while the broker was down")), second.log());
        }
    }

    @Test
    void whatSigtermLeavesUndeliveredIsDeliveredAfterTheNextStart(@TempDir Path dir) throws Exception {
        BrokerProcess.Ports ports = BrokerProcess.Ports.free();
        Path data = dir.resolve("data");
        Path log = dir.resolve("broker.log");
        int count = 500;
        try (BrokerProcess first = BrokerProcess.start(ports, data, log)) {
            Mqtt5BlockingClient sub = client(ports, "term-sub");
            sub.connectWith().cleanStart(true).sessionExpiryInterval(3600).send();
            sub.subscribeWith().topicFilter("term/t").qos(MqttQos.AT_LEAST_ONCE).send();
            sub.disconnect();
            Mqtt5BlockingClient pub = client(ports, "term-pub");
            pub.connect();
            for (int i = 0; i < count; i++) {
                pub.publishWith().topic("term/t").payload(bytes("m" + i)).qos(MqttQos.AT_LEAST_ONCE).send();
            }
            pub.disconnect();
            assertEquals(0, first.stop(), "SIGTERM exits cleanly");
        }
        try (BrokerProcess second = BrokerProcess.start(ports, data, log)) {
            Mqtt5BlockingClient sub = client(ports, "term-sub");
            java.util.List<String> got = new java.util.ArrayList<>();
            try (Mqtt5BlockingClient.Mqtt5Publishes in = sub.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
                assertTrue(sub.connectWith().cleanStart(false).sessionExpiryInterval(3600).send().isSessionPresent());
                for (Optional<Mqtt5Publish> p = in.receive(10, TimeUnit.SECONDS); p.isPresent() && got.size() < count;
                     p = got.size() < count ? in.receive(10, TimeUnit.SECONDS) : Optional.empty()) {
                    got.add(text(p.get()));
                }
            }
            java.util.List<String> expected = new java.util.ArrayList<>();
            for (int i = 0; i < count; i++) {
                expected.add("m" + i);
            }
            assertEquals(expected, got, "every queued message, in order; log:\n" + second.log());
            sub.disconnect();
        }
    }

    @Test
    void theBrokersOwnSysFiguresAreNotKeptAcrossARestart(@TempDir Path dir) throws Exception {
        BrokerProcess.Ports ports = BrokerProcess.Ports.free();
        Path data = dir.resolve("data");
        Path log = dir.resolve("broker.log");
        try (BrokerProcess first = BrokerProcess.start(ports, data, log, "--sys-interval", "100")) {
            Mqtt5BlockingClient pub = client(ports, "sys-pub");
            pub.connect();
            pub.publishWith().topic("r/kept").payload(bytes("K")).qos(MqttQos.AT_LEAST_ONCE).retain(true).send();
            // the $SYS figures are out, retained, before the kill
            Mqtt5BlockingClient watcher = client(ports, "sys-watcher");
            watcher.connect();
            try (Mqtt5BlockingClient.Mqtt5Publishes in = watcher.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
                watcher.subscribeWith().topicFilter("$SYS/broker/uptime").qos(MqttQos.AT_MOST_ONCE).send();
                assertTrue(in.receive(10, TimeUnit.SECONDS).isPresent(), "no $SYS figure published");
            }
            watcher.disconnect();
            // written in order: this PUBACK means every retained write before it is in the log
            pub.publishWith().topic("r/barrier").payload(bytes("x")).qos(MqttQos.AT_LEAST_ONCE).retain(true).send();
            pub.disconnect();
            first.kill();
        }
        // no $SYS figures this time: whatever is retained under $SYS came from the store
        try (BrokerProcess second = BrokerProcess.start(ports, data, log, "--sys-interval", "0")) {
            Mqtt5BlockingClient reader = client(ports, "sys-reader");
            reader.connect();
            Map<String, String> retained = new HashMap<>();
            try (Mqtt5BlockingClient.Mqtt5Publishes in = reader.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
                reader.subscribeWith().topicFilter("$SYS/#").qos(MqttQos.AT_LEAST_ONCE).send();
                reader.subscribeWith().topicFilter("r/#").qos(MqttQos.AT_LEAST_ONCE).send();
                for (Optional<Mqtt5Publish> p = in.receive(3, TimeUnit.SECONDS); p.isPresent();
                     p = in.receive(1, TimeUnit.SECONDS)) {
                    retained.put(p.get().getTopic().toString(), text(p.get()));
                }
            }
            assertEquals(Map.of("r/kept", "K", "r/barrier", "x"), retained, "an earlier run's $SYS figures came back");
            reader.disconnect();
            assertTrue(second.log().contains(" 2 retained messages"), second.log());
        }
    }

    private static Mqtt5BlockingClient client(BrokerProcess.Ports ports, String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(ports.mqtt()).buildBlocking();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(Mqtt5Publish p) {
        return new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8);
    }

}
