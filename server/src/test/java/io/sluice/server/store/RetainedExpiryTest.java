package io.sluice.server.store;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PublishBuilder;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A retained message with a Message Expiry Interval (MQTT 5 section 3.3.2.3.3) is deleted when it expires, from
 * memory and from the message store, whether or not anything replaces it; one whose expiry was replaced or
 * cleared before it came, or that never expires, stays.
 */
class RetainedExpiryTest {

    @Test
    void expiredRetainedMessagesAreDeletedFromMemoryAndTheStore(@TempDir Path dir) throws Exception {
        Settings settings = Settings.defaults().with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, -1).with(Settings.STOMP_PORT, -1).with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.PERSISTENCE, "rocksdb").with(Settings.DATA_DIR, dir);
        try (SluiceServer server = SluiceServer.start(settings)) {
            Mqtt5BlockingClient pub = Mqtt5Client.builder().identifier("pub").serverHost("127.0.0.1")
                    .serverPort(server.port("mqtt")).buildBlocking();
            pub.connect();
            // topic -> expiry seconds (0: none); what stays is what has no expiry or one far away
            publish(pub, "exp/short", 1);
            publish(pub, "exp/long", 3600);
            publish(pub, "exp/never", 0);
            publish(pub, "exp/replaced", 1);
            publish(pub, "exp/replaced", 0); // the replacement never expires
            publish(pub, "exp/cleared", 1);
            pub.publishWith().topic("exp/cleared").retain(true).qos(MqttQos.AT_LEAST_ONCE).send(); // empty: cleared
            for (int i = 0; i < 50; i++) {
                publish(pub, "exp/many/" + i, 1);
            }
            assertEquals(54, server.broker().retained().size());

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (server.broker().retained().size() > 3 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(3, server.broker().retained().size(), "the expired ones are deleted, not just hidden");
            assertEquals(List.of("exp/long", "exp/never", "exp/replaced"), retainedSeenBy(server.port("mqtt")));
            pub.disconnect();
        }
        // and gone from the disk: their entries and their payloads
        RocksMessageStoreTest.Recorded r = RocksMessageStoreTest.recover(dir);
        assertEquals(List.of("exp/long x", "exp/never x", "exp/replaced x"), r.retained.stream().sorted().toList());
        assertEquals(3, RocksMessageStoreTest.countKeys(dir, KeyLayout.RETAINED));
        assertEquals(3, RocksMessageStoreTest.countKeys(dir, KeyLayout.MESSAGE));
    }

    private static void publish(Mqtt5BlockingClient pub, String topic, long expirySeconds) {
        Mqtt5PublishBuilder.Complete p = Mqtt5Publish.builder().topic(topic)
                .payload("x".getBytes(StandardCharsets.UTF_8)).retain(true).qos(MqttQos.AT_LEAST_ONCE);
        pub.publish((expirySeconds > 0 ? p.messageExpiryInterval(expirySeconds) : p).build());
    }

    private static List<String> retainedSeenBy(int port) throws Exception {
        Mqtt5BlockingClient sub = Mqtt5Client.builder().identifier("sub").serverHost("127.0.0.1").serverPort(port)
                .buildBlocking();
        List<String> topics = new ArrayList<>();
        try (Mqtt5BlockingClient.Mqtt5Publishes in = sub.publishes(MqttGlobalPublishFilter.ALL)) {
            sub.connect();
            sub.subscribeWith().topicFilter("exp/#").qos(MqttQos.AT_LEAST_ONCE).send();
            for (Optional<Mqtt5Publish> p = in.receive(2, TimeUnit.SECONDS); p.isPresent();
                 p = in.receive(500, TimeUnit.MILLISECONDS)) {
                topics.add(p.get().getTopic().toString());
            }
        }
        sub.disconnect();
        return topics.stream().sorted().toList();
    }
}
