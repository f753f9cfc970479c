package io.sluice.server.testkit;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5DisconnectException;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.Sluice;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.testkit.RawSocket.connect;
import static io.sluice.server.testkit.RawSocket.packet;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each fault with a real client (or, where a client library hides the wire, hand-written packets). */
class FaultsTest {
    @Test
    void dropNowLooksLikeANetworkFailureToPaho() throws Exception {
        try (Sluice sluice = Sluice.start()) {
            MqttClient paho = new MqttClient(sluice.urls().mqtt(), "paho-drop", new MemoryPersistence());
            CountDownLatch lost = new CountDownLatch(1);
            paho.setCallback(lostCallback(lost));
            paho.connect(options());
            awaitConnected(sluice, "paho-drop");
            assertEquals(1, sluice.faults().drop("paho-drop"));
            assertTrue(lost.await(10, TimeUnit.SECONDS), "Paho saw the connection go");
            assertEquals(0, sluice.faults().drop("nobody"));
            paho.close(true);
        }
    }

    @Test
    void dropAfterNPacketsCountsFromTheNextConnection() throws Exception {
        try (Sluice sluice = Sluice.start(); RawSocket s = new RawSocket(sluice.urls().mqttPort())) {
            sluice.faults().dropAfter("counted", 3);
            s.send(connect(4, "counted", 60));
            assertTrue(s.awaitBytes(4, 5_000).length >= 4);
            s.send(packet(0xC0));
            assertEquals(6, s.awaitBytes(6, 5_000).length, "second packet passes: PINGRESP");
            assertFalse(s.awaitClosed(100), "still open after two packets");
            s.send(packet(0xC0));
            assertTrue(s.awaitClosed(5_000), "closed after the third");
        }
    }

    @Test
    void refuseNextConnectWithAReasonCodeThenAcceptTheOneAfter() {
        try (Sluice sluice = Sluice.start()) {
            sluice.faults().refuseNextConnect("hive", ReasonCode.SERVER_BUSY);
            Mqtt5BlockingClient c = hive(sluice, "hive");
            Mqtt5ConnAckException e = assertThrows(Mqtt5ConnAckException.class, c::connect);
            assertEquals(Mqtt5ConnAckReasonCode.SERVER_BUSY, e.getMqttMessage().getReasonCode());
            c.connect();
            c.disconnect();
        }
    }

    @Test
    void serverDisconnectWithAReasonCodeReachesAnMqtt5Client() throws Exception {
        try (Sluice sluice = Sluice.start()) {
            CompletableFuture<Throwable> cause = new CompletableFuture<>();
            Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("kicked").serverHost(sluice.urls().host())
                    .serverPort(sluice.urls().mqttPort())
                    .addDisconnectedListener(ctx -> cause.complete(ctx.getCause())).buildBlocking();
            c.connect();
            assertEquals(1, sluice.faults().disconnect("kicked", ReasonCode.ADMINISTRATIVE_ACTION));
            Throwable t = cause.get(10, TimeUnit.SECONDS);
            assertTrue(t instanceof Mqtt5DisconnectException, String.valueOf(t));
            assertEquals(Mqtt5DisconnectReasonCode.ADMINISTRATIVE_ACTION,
                    ((Mqtt5DisconnectException) t).getMqttMessage().getReasonCode());
        }
    }

    @Test
    void delayedDeliveriesArriveNoSoonerThanTheDelay() throws Exception {
        try (Sluice sluice = Sluice.start()) {
            Mqtt5BlockingClient sub = hive(sluice, "slow-sub");
            Mqtt5BlockingClient pub = hive(sluice, "pub");
            sub.connect();
            pub.connect();
            sluice.faults().delayDeliveries("slow-sub", Duration.ofMillis(400));
            try (Mqtt5BlockingClient.Mqtt5Publishes received = sub.publishes(MqttGlobalPublishFilter.ALL)) {
                sub.subscribeWith().topicFilter("d").qos(MqttQos.AT_LEAST_ONCE).send();
                long sent = System.nanoTime();
                pub.publishWith().topic("d").payload(new byte[] {1}).qos(MqttQos.AT_LEAST_ONCE).send();
                received.receive(10, TimeUnit.SECONDS).orElseThrow();
                assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent) >= 400, "held for the delay");
            }
            sub.disconnect();
            pub.disconnect();
        }
    }

    @Test
    void duplicatedDeliveryComesAgainWithDupAndItsSecondAckIsNoViolation() throws Exception {
        try (Sluice sluice = Sluice.builder().strict(true).start();
             RawSocket s = new RawSocket(sluice.urls().mqttPort())) {
            sluice.faults().duplicateDeliveries("dup", true);
            s.send(connect(4, "dup", 60));
            assertEquals(4, s.awaitBytes(4, 5_000).length);
            s.send(packet(0x82, 0, 1, 0, 1, 'd', 1));                     // SUBSCRIBE d QoS 1
            assertEquals(9, s.awaitBytes(9, 5_000).length);             // + SUBACK
            Mqtt5BlockingClient pub = hive(sluice, "pub");
            pub.connect();
            pub.publishWith().topic("d").payload(new byte[] {'x'}).qos(MqttQos.AT_LEAST_ONCE).send();
            byte[] all = s.awaitBytes(9 + 2 * 8, 5_000);                  // two PUBLISH d, id 2 bytes, 'x'
            assertEquals(9 + 16, all.length);
            assertEquals(0x32, all[9] & 0xFF, "first delivery: QoS 1, no DUP");
            assertEquals(0x3A, all[17] & 0xFF, "second: QoS 1 with DUP");
            assertEquals(all[14], all[22], "same packet identifier");
            assertEquals(all[15], all[23], "same packet identifier");
            s.send(packet(0x40, all[14] & 0xFF, all[15] & 0xFF));
            s.send(packet(0x40, all[14] & 0xFF, all[15] & 0xFF));
            s.send(packet(0xC0));
            assertEquals(9 + 16 + 2, s.awaitBytes(9 + 16 + 2, 5_000).length);
            pub.disconnect();
            sluice.assertNoViolations();
        }
    }

    @Test
    void withheldAcknowledgementsLeaveThePublishUnansweredButAccepted() {
        try (Sluice sluice = Sluice.start(); RawSocket s = new RawSocket(sluice.urls().mqttPort())) {
            sluice.faults().withholdAcknowledgements("held", true);
            s.send(connect(4, "held", 60));
            assertEquals(4, s.awaitBytes(4, 5_000).length);
            s.send(packet(0x32, 0, 1, 'h', 0, 7, 'x'));                 // PUBLISH h QoS 1 id 7
            s.send(packet(0xC0));
            byte[] all = s.awaitBytes(6, 5_000);
            assertEquals(6, all.length);
            assertEquals(0xD0, all[4] & 0xFF, "PINGRESP came, and no PUBACK before it");
        }
    }

    @Test
    void restartInMemoryKeepsThePortsButNotTheSession() {
        try (Sluice sluice = Sluice.start()) {
            int port = sluice.urls().mqttPort();
            Mqtt5BlockingClient c = hive(sluice, "survivor");
            c.connectWith().cleanStart(false).sessionExpiryInterval(300).send();
            sluice.restart();
            assertEquals(port, sluice.urls().mqttPort());
            Mqtt5BlockingClient again = hive(sluice, "survivor");
            assertFalse(again.connectWith().cleanStart(false).sessionExpiryInterval(300).send().isSessionPresent(),
                    "a restart without a store loses the session, as a real one does");
            again.disconnect();
            assertTrue(sluice.journal().text().contains("restart"), sluice.journal().text());
        }
    }

    @Test
    void restartWithAStoreContinuesTheSessionAndItsQueuedMessage(@TempDir Path data) throws Exception {
        try (Sluice sluice = Sluice.builder().persistent(data).start()) {
            Mqtt5BlockingClient sub = hive(sluice, "resumer");
            sub.connectWith().cleanStart(false).sessionExpiryInterval(300).send();
            sub.subscribeWith().topicFilter("kept/#").qos(MqttQos.AT_LEAST_ONCE).send();
            sub.disconnect();
            Mqtt5BlockingClient pub = hive(sluice, "pub");
            pub.connect();
            pub.publishWith().topic("kept/1").payload("while away".getBytes(StandardCharsets.UTF_8))
                    .qos(MqttQos.AT_LEAST_ONCE).send();
            pub.disconnect();

            sluice.restart();

            Mqtt5BlockingClient back = hive(sluice, "resumer");
            try (Mqtt5BlockingClient.Mqtt5Publishes received = back.publishes(MqttGlobalPublishFilter.ALL)) {
                assertTrue(back.connectWith().cleanStart(false).sessionExpiryInterval(300).send().isSessionPresent(),
                        "the session survived the restart");
                var message = received.receive(10, TimeUnit.SECONDS).orElseThrow();
                assertEquals("while away", new String(message.getPayloadAsBytes(), StandardCharsets.UTF_8));
            }
            back.disconnect();
        }
    }

    @Test
    void theHttpEndpointArmsFaultsOnlyWhenSwitchedOn() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        try (Sluice off = Sluice.start()) {
            assertEquals(404, post(http, off.urls().http() + "/api/v1/testkit/faults/drop?client=x").statusCode());
        }
        try (Sluice sluice = Sluice.builder().set(Settings.FAULT_INJECTION, true).strict(true).start()) {
            MqttClient paho = new MqttClient(sluice.urls().mqtt(), "remote", new MemoryPersistence());
            CountDownLatch lost = new CountDownLatch(1);
            paho.setCallback(lostCallback(lost));
            paho.connect(options());
            awaitConnected(sluice, "remote");
            HttpResponse<String> r = post(http, sluice.urls().http() + "/api/v1/testkit/faults/drop?client=remote");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("dropped 1 connection(s)\n", r.body());
            assertTrue(lost.await(10, TimeUnit.SECONDS));
            assertEquals(400, post(http, sluice.urls().http() + "/api/v1/testkit/faults/refuse-connect?code=0x00").statusCode());
            assertEquals(405, http.send(HttpRequest.newBuilder(URI.create(sluice.urls().http()
                    + "/api/v1/testkit/faults/clear")).GET().build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            HttpResponse<String> report = http.send(HttpRequest.newBuilder(URI.create(sluice.urls().http()
                    + "/api/v1/testkit/report")).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertEquals("strict mode: no protocol violations\n", report.body());
            paho.close(true);
        }
    }

    private static HttpResponse<String> post(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private static Mqtt5BlockingClient hive(Sluice sluice, String id) {
        return Mqtt5Client.builder().identifier(id).serverHost(sluice.urls().host())
                .serverPort(sluice.urls().mqttPort()).buildBlocking();
    }

    private static MqttConnectOptions options() {
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setAutomaticReconnect(false);
        return o;
    }

    /** The journal has the client's CONNACK: the broker knows it by name. */
    private static void awaitConnected(Sluice sluice, String clientId) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 5_000;
        while (sluice.journal().lines().stream().noneMatch(l -> l.contains("CONNACK 0x00") && l.contains("'" + clientId + "'"))) {
            assertTrue(System.currentTimeMillis() < deadline, sluice.journal().text());
            Thread.sleep(10);
        }
    }

    private static MqttCallback lostCallback(CountDownLatch lost) {
        return new MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
                lost.countDown();
            }

            @Override
            public void messageArrived(String topic, MqttMessage message) {
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {
            }
        };
    }
}
