package io.sluice.server.stomp;

import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.Sluice;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.stomp.StompTestClient.sendFrame;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No client of one protocol reaches, ends or reads a session of another, whatever id it picks. STOMP opens a
 * broker session per SUBSCRIBE ({@code stomp-<conn>-<n>}, the {@code <conn>} part is the CONNECTED frame's
 * {@code session} header) and one per queue holding messages without a consumer; an MQTT client may send any of
 * those names as its client id. Both directions, every kind of STOMP session, Eclipse Paho (MQTT 3.1.1) and a
 * STOMP client, each over its own TCP socket to the real server.
 */
class CrossProtocolSessionTest {
    private Sluice sluice;
    private final List<MqttClient> mqttClients = new ArrayList<>();

    @BeforeEach
    void start() {
        sluice = Sluice.start();
    }

    @AfterEach
    void stop() {
        for (MqttClient c : mqttClients) {
            try {
                if (c.isConnected()) {
                    c.disconnect(0);
                }
                c.close(true);
            } catch (MqttException e) {
                // closing anyway
            }
        }
        sluice.close();
    }

    /** A Paho client that records what it receives and whether the server dropped it. */
    private final class Mqtt implements MqttCallback {
        final MqttClient client;
        final List<String> received = new CopyOnWriteArrayList<>();
        volatile Throwable lost;
        boolean sessionPresent;

        Mqtt(String clientId, boolean cleanSession) throws MqttException {
            client = new MqttClient("tcp://127.0.0.1:" + sluice.port("mqtt"), clientId, new MemoryPersistence());
            mqttClients.add(client);
            client.setCallback(this);
            MqttConnectOptions o = new MqttConnectOptions();
            o.setCleanSession(cleanSession);
            o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
            o.setAutomaticReconnect(false);
            sessionPresent = client.connectWithResult(o).getSessionPresent();
        }

        @Override
        public void connectionLost(Throwable cause) {
            lost = cause;
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            received.add(topic + " " + new String(message.getPayload(), StandardCharsets.UTF_8));
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
        }
    }

    private void publish(String topic, String payload) throws MqttException {
        Mqtt pub = new Mqtt("publisher-" + System.nanoTime(), true);
        pub.client.publish(topic, payload.getBytes(StandardCharsets.UTF_8), 1, false);
        pub.client.disconnect();
    }

    @Test
    void mqttClientsNamedLikeStompSessionsNeitherTakeOverNorReadNorEndThem() throws Exception {
        try (StompTestClient stomp = new StompTestClient(sluice.port("stomp"))) {
            String conn = stomp.connect("1.2").header("session");
            assertNotNull(conn, "CONNECTED names the connection's session");
            for (int i = 0; i < 3; i++) {
                stomp.subscribe("/topic/iso/a", "s" + i);
            }
            // a queue with no consumer yet: its message is held in a STOMP session of its own
            stomp.sendAndAwaitReceipt(sendFrame("/queue/jobs", "j1"), "r-j1");

            List<String> stompSessions = List.of(conn + "-0", conn + "-1", conn + "-2", "$stomp-queue:jobs");
            List<Mqtt> impostors = new ArrayList<>();
            for (String id : stompSessions) {
                // a persistent session would be handed over with everything in it: it must be a new, empty one
                Mqtt persistent = new Mqtt(id, false);
                assertFalse(persistent.sessionPresent, id + ": an MQTT client finds no session under a STOMP name");
                impostors.add(persistent);
            }
            for (String id : stompSessions) {
                // a clean start would end whatever session has that name: it must end only the MQTT one
                Mqtt clean = new Mqtt(id, true);
                clean.client.disconnect();
            }

            publish("iso/a", "m1");
            for (int i = 0; i < 3; i++) {
                StompTestClient.Frame m = stomp.next(StompCommand.MESSAGE);
                assertEquals("m1", m.text(), "every STOMP subscription still receives: " + m);
            }
            assertTrue(stomp.isOpen(), "the STOMP client was not taken over");
            try (StompTestClient consumer = new StompTestClient(sluice.port("stomp"))) {
                consumer.connect("1.2");
                consumer.subscribe("/queue/jobs", "q");
                assertEquals("j1", consumer.next(StompCommand.MESSAGE).text(), "the queue kept its held message");
            }
            for (Mqtt m : impostors) {
                assertTrue(m.received.isEmpty(), m.client.getClientId() + " read nothing of STOMP's: " + m.received);
            }
            assertNull(stomp.poll(200), "no ERROR (SESSION_TAKEN_OVER) nor anything else for the STOMP client");
        }
    }

    @Test
    void stompSessionsNeitherTakeOverNorReadMqttClientsOfTheSameName() throws Exception {
        String next;
        try (StompTestClient probe = new StompTestClient(sluice.port("stomp"))) {
            String probeSession = probe.connect("1.2").header("session");
            int n = Integer.parseInt(probeSession.substring(probeSession.lastIndexOf('-') + 1));
            next = probeSession.substring(0, probeSession.lastIndexOf('-') + 1) + (n + 1);
        }
        List<String> names = List.of(next + "-0", next + "-1", "$stomp-queue:work");
        List<Mqtt> owners = new ArrayList<>();
        for (String id : names) {
            Mqtt m = new Mqtt(id, false);
            m.client.subscribe("iso/b", 1);
            owners.add(m);
        }
        try (StompTestClient stomp = new StompTestClient(sluice.port("stomp"))) {
            assertEquals(next, stomp.connect("1.2").header("session"), "the next STOMP connection has the name taken");
            stomp.subscribe("/topic/iso/b", "s0");
            stomp.subscribe("/topic/iso/b", "s1");
            stomp.sendAndAwaitReceipt(sendFrame("/queue/work", "w1"), "r-w1");

            publish("iso/b", "m2");
            assertEquals("m2", stomp.next(StompCommand.MESSAGE).text());
            assertEquals("m2", stomp.next(StompCommand.MESSAGE).text());
            for (Mqtt m : owners) {
                awaitReceived(m, "iso/b m2");
                assertNull(m.lost, m.client.getClientId() + " was not disconnected by a STOMP session of its name");
                assertTrue(m.client.isConnected(), m.client.getClientId());
                assertEquals(List.of("iso/b m2"), m.received, m.client.getClientId() + " got only its own");
            }
        }
    }

    private static void awaitReceived(Mqtt m, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(StompTestClient.TIMEOUT_SECONDS);
        while (!m.received.contains(what) && m.lost == null && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }
}
