package io.sluice.server.store;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode;
import io.sluice.server.BrokerProcess;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static io.sluice.server.store.StoreFullTest.client;
import static io.sluice.server.store.StoreFullTest.mqtt311Refused;
import static io.sluice.server.store.StoreFullTest.publish;
import static io.sluice.server.store.StoreFullTest.stompSendRefused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The data directory stops being writable while the broker runs (its service user loses the write permission).
 * RocksDB keeps appending to the write-ahead log it has open, so publishes are still acknowledged (and are safe:
 * that file is written); the next file it must create (a new log when the 8 MiB write buffer fills and is
 * switched, or a table file for its flush) fails, and from then on the broker refuses QoS 1 publishes the way a
 * full disk does: one log line, MQTT 5 PUBACK 0x80, MQTT 3.1.1 closed, STOMP ERROR, HTTP 503. With the
 * permission back, a restart delivers every acknowledged message.
 */
class ReadOnlyDataDirectoryTest {
    /** 32 KiB: the 8 MiB write buffer fills after ~250 of them; 6,000 bounds the run if it never fails. */
    private static final int PAYLOAD = 32 * 1024;
    private static final int MAX_MESSAGES = 6_000;

    @Test
    void aDataDirectoryMadeReadOnlyWhileRunningRefusesPublishesAndLosesNothingAcknowledged(@TempDir Path dir)
            throws Exception {
        Assumptions.assumeTrue(BrokerProcess.canStartAsNobody(),
                "needs root and /usr/bin/setpriv to run the broker as nobody (root ignores file permissions)");
        BrokerProcess.Ports ports = BrokerProcess.Ports.free();
        Path readable = Files.createDirectory(dir.resolve("classpath"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path data = Files.createDirectory(dir.resolve("data"));
        UserPrincipalLookupService users = data.getFileSystem().getUserPrincipalLookupService();
        Files.setOwner(data, users.lookupPrincipalByName("nobody"));
        Path log = dir.resolve("broker.log");
        String[] flags = {"--max-queued-messages", Integer.toString(MAX_MESSAGES), "--max-queued-bytes", "512m",
                "--log-level", "warn"};
        Set<Integer> acknowledged = new TreeSet<>();
        int beforeRevoke = 0;
        Mqtt5PubAckReasonCode refusal = null;
        try (BrokerProcess broker = BrokerProcess.startAsNobody(readable, ports, data, log, flags)) {
            Mqtt5BlockingClient sub = client(ports, "ro-sub");
            sub.connectWith().cleanStart(true).sessionExpiryInterval(3600).send();
            sub.subscribeWith().topicFilter("full/t").qos(MqttQos.AT_LEAST_ONCE).send();
            sub.disconnect();

            Mqtt5BlockingClient pub = client(ports, "ro-pub");
            pub.connect();
            byte[] payload = new byte[PAYLOAD];
            for (int i = 0; i < MAX_MESSAGES && refusal == null; i++) {
                if (i == 100) {
                    beforeRevoke = acknowledged.size();
                    setWritable(data, false);
                }
                ByteBuffer.wrap(payload).putInt(0, i);
                refusal = publish(pub, payload);
                if (refusal == null) {
                    acknowledged.add(i);
                }
            }
            assertEquals(100, beforeRevoke, "every publish before the permission went was acknowledged");
            assertTrue(refusal != null, "a read-only data directory never refused any of " + MAX_MESSAGES
                    + " 32 KiB messages; log:\n" + broker.log());
            assertEquals(Mqtt5PubAckReasonCode.UNSPECIFIED_ERROR, refusal);
            assertEquals(Mqtt5PubAckReasonCode.UNSPECIFIED_ERROR, publish(pub, payload), "stays refused");
            assertTrue(stompSendRefused(ports.stomp()), "STOMP SEND with a receipt: ERROR, no RECEIPT");
            HttpResponse<String> http = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.0.1:" + ports.http() + "/publish?topic=full/t&qos=1"))
                    .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(503, http.statusCode(), http.body());
            assertTrue(mqtt311Refused(ports.mqtt()), "MQTT 3.1.1 has no negative PUBACK: the connection closes");
            String text = broker.log();
            List<String> lines = text.lines().filter(l -> l.contains("cannot write (")).toList();
            assertEquals(1, lines.size(), "one line says what happened and what to do:\n" + text);
            assertTrue(lines.get(0).contains("Permission denied") || lines.get(0).contains("IOError"), lines.get(0));
            assertTrue(broker.isAlive(), "the broker keeps running");
            assertTrue(lines.get(0).contains("make the data directory writable"), lines.get(0));
            System.out.printf("read-only data directory: %d more 32 KiB messages acknowledged after the permission "
                    + "went, then refused; the log said: %s%n", acknowledged.size() - beforeRevoke, lines.get(0));
            setWritable(data, true);
            // RocksDB stays in its error state: the log line's "then restart" is what brings the store back
            assertEquals(Mqtt5PubAckReasonCode.UNSPECIFIED_ERROR, publish(pub, payload),
                    "the running broker acknowledged a publish it could not write before a restart");
            pub.disconnect();
        } finally {
            setWritable(data, true);
        }

        try (BrokerProcess again = BrokerProcess.startAsNobody(readable, ports, data, log, flags)) {
            Mqtt5BlockingClient sub = client(ports, "ro-sub");
            Set<Integer> missing = new TreeSet<>(acknowledged);
            try (Mqtt5BlockingClient.Mqtt5Publishes in = sub.publishes(MqttGlobalPublishFilter.ALL)) {
                sub.connectWith().cleanStart(false).sessionExpiryInterval(3600).send();
                while (!missing.isEmpty()) {
                    Optional<Mqtt5Publish> p = in.receive(10, TimeUnit.SECONDS);
                    if (p.isEmpty()) {
                        break;
                    }
                    missing.remove(ByteBuffer.wrap(p.get().getPayloadAsBytes()).getInt());
                }
            }
            assertTrue(missing.isEmpty(), missing.size() + " of " + acknowledged.size() + " acknowledged messages lost, "
                    + "e.g. " + missing.stream().limit(10).toList() + "; log:\n" + again.log());
            sub.disconnect();
        }
    }

    /** Every directory under {@code data}: r-x (no new files) or rwx for its owner, nobody. */
    private static void setWritable(Path data, boolean writable) throws Exception {
        List<Path> dirs;
        try (Stream<Path> all = Files.walk(data)) {
            dirs = all.filter(Files::isDirectory).toList();
        }
        for (Path d : dirs) {
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString(writable ? "rwxr-xr-x" : "r-xr-xr-x"));
        }
    }
}
