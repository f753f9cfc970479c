package io.sluice.server.store;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode;
import io.sluice.server.BrokerProcess;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The store runs out of room (a file-size limit on the broker process, which binds root too: the disk "fills up"
 * for it alone): the broker says so in one clear log line, refuses QoS 1 publishes instead of acknowledging them
 * (MQTT 5 PUBACK 0x80, MQTT 3.1.1 connection closed without PUBACK, STOMP ERROR, HTTP 503), and every message it
 * did acknowledge is delivered after a restart with room again.
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
            // every protocol's publisher is told, none is acknowledged
            assertTrue(stompSendRefused(ports.stomp()), "STOMP SEND with a receipt: ERROR, no RECEIPT");
            HttpResponse<String> http = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.0.1:" + ports.http() + "/publish?topic=full/t&qos=1"))
                    .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(503, http.statusCode(), http.body());
            assertTrue(http.headers().firstValue("retry-after").isPresent() && http.body().contains("message store"),
                    http.body());
            assertTrue(mqtt311Refused(ports.mqtt()), "MQTT 3.1.1 has no negative PUBACK: the connection closes");
            String text = full.log();
            assertEquals(1, text.lines().filter(l -> l.contains("cannot write (")).count(),
                    "one line says what happened and what to do:\n" + text);
            assertTrue(text.contains("free disk space"), text);
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

    /** A STOMP SEND asking for a receipt gets an ERROR frame (and the connection closes), never the RECEIPT. */
    static boolean stompSendRefused(int port) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write("CONNECT\naccept-version:1.2\nhost:localhost\n\n\0".getBytes(StandardCharsets.UTF_8));
            out.write("SEND\ndestination:/topic/full.t\nreceipt:r1\ncontent-length:1\n\nx\0"
                    .getBytes(StandardCharsets.UTF_8));
            out.flush();
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return answer.startsWith("CONNECTED") && answer.contains("ERROR\n") && !answer.contains("RECEIPT");
        }
    }

    /** A Paho MQTT 3.1.1 QoS 1 publish is not acknowledged: the connection is lost instead. */
    static boolean mqtt311Refused(int port) throws Exception {
        MqttClient paho = new MqttClient("tcp://127.0.0.1:" + port, "full-311", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setAutomaticReconnect(false);
        paho.connect(o);
        paho.setTimeToWait(10_000);
        try {
            paho.publish("full/t", new byte[] {1}, 1, false);
            return false;
        } catch (MqttException e) {
            return e.getReasonCode() == MqttException.REASON_CODE_CONNECTION_LOST;
        } finally {
            paho.close(true);
        }
    }

    /** Null when acknowledged with success, else the PUBACK's reason code. */
    static Mqtt5PubAckReasonCode publish(Mqtt5BlockingClient pub, byte[] payload) {
        try {
            pub.publishWith().topic("full/t").payload(payload).qos(MqttQos.AT_LEAST_ONCE).send();
            return null;
        } catch (com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5PubAckException e) {
            return e.getMqttMessage().getReasonCode();
        }
    }

    static Mqtt5BlockingClient client(BrokerProcess.Ports ports, String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(ports.mqtt()).buildBlocking();
    }
}
