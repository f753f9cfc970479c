package io.sluice.server.store;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode;
import io.sluice.server.BrokerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The store runs out of room (a file-size limit on the broker process: the disk "fills up" for it alone): the
 * broker says so in one clear log line, refuses QoS 1 publishes with MQTT 5's 0x80 instead of acknowledging them,
 * and every message it did acknowledge is delivered after a restart with room again.
 */
class StoreFullTest {
    private static final int MAX_MESSAGES = 20_000;

    @Test
    void aFullStoreRefusesPublishesWithAClearLogLineAndLosesNothingAcknowledged(@TempDir Path dir) throws Exception {
        BrokerProcess.Ports ports = BrokerProcess.Ports.free();
        Path data = dir.resolve("data");
        Path log = dir.resolve("broker.log");
        String[] flags = {"--max-queued-messages", Integer.toString(MAX_MESSAGES), "--max-queued-bytes", "256m",
                "--log-level", "warn"};
        Set<Integer> acknowledged = new TreeSet<>();
        Mqtt5PubAckReasonCode refusal = null;
        try (BrokerProcess full = BrokerProcess.startWithFileLimit(2048, ports, data, log, flags)) {
            Mqtt5BlockingClient sub = client(ports, "full-sub");
            sub.connectWith().cleanStart(true).sessionExpiryInterval(3600).send();
            sub.subscribeWith().topicFilter("full/t").qos(MqttQos.AT_LEAST_ONCE).send();
            sub.disconnect();

            Mqtt5BlockingClient pub = client(ports, "full-pub");
            pub.connect();
            byte[] payload = new byte[1024];
            for (int i = 0; i < MAX_MESSAGES && refusal == null; i++) {
                ByteBuffer.wrap(payload).putInt(0, i);
                refusal = publish(pub, payload);
                if (refusal == null) {
                    acknowledged.add(i);
                }
            }
            assertTrue(refusal != null, "a 2 MiB file limit never refused any of " + MAX_MESSAGES + " KiB messages");
            assertEquals(Mqtt5PubAckReasonCode.UNSPECIFIED_ERROR, refusal);
            // the store stays refused: the next publish is refused at once, not acknowledged
            assertEquals(Mqtt5PubAckReasonCode.UNSPECIFIED_ERROR, publish(pub, payload));
            String text = full.log();
            assertTrue(text.contains("cannot write") && text.contains("free disk space"), text);
            assertTrue(full.isAlive(), "the broker keeps running");
            pub.disconnect();
        }

        try (BrokerProcess roomy = BrokerProcess.start(ports, data, log, flags)) {
            Mqtt5BlockingClient sub = client(ports, "full-sub");
            Set<Integer> missing = new TreeSet<>(acknowledged);
            try (Mqtt5BlockingClient.Mqtt5Publishes in = sub.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
                sub.connectWith().cleanStart(false).sessionExpiryInterval(3600).send();
                for (Optional<Mqtt5Publish> p = in.receive(10, TimeUnit.SECONDS); p.isPresent() && !missing.isEmpty();
                     p = in.receive(10, TimeUnit.SECONDS)) {
                    missing.remove(ByteBuffer.wrap(p.get().getPayloadAsBytes()).getInt());
                }
            }
            assertTrue(missing.isEmpty(), missing.size() + " of " + acknowledged.size() + " acknowledged messages lost, "
                    + "e.g. " + missing.stream().limit(10).toList() + "; log:\n" + roomy.log());
            sub.disconnect();
        }
        System.out.printf("store full after %d acknowledged 1 KiB messages; all delivered after the restart%n",
                acknowledged.size());
    }

    /** Null when acknowledged with success, else the PUBACK's reason code. */
    private static Mqtt5PubAckReasonCode publish(Mqtt5BlockingClient pub, byte[] payload) {
        try {
            pub.publishWith().topic("full/t").payload(payload).qos(MqttQos.AT_LEAST_ONCE).send();
            return null;
        } catch (com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5PubAckException e) {
            return e.getMqttMessage().getReasonCode();
        }
    }

    private static Mqtt5BlockingClient client(BrokerProcess.Ports ports, String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(ports.mqtt()).buildBlocking();
    }
}
