package io.sluice.server.ops;

import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Connection admission with real MQTT clients: each limit at its edge (admitted) and one past it (refused). */
class ConnectionLimitsTest {
    private OpsTestServer server;
    private final List<Mqtt5BlockingClient> clients = new ArrayList<>();

    @AfterEach
    void stop() {
        for (Mqtt5BlockingClient c : clients) {
            if (c.getState().isConnected()) {
                c.disconnect();
            }
        }
        server.close();
    }

    private Mqtt5BlockingClient client(String id) {
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(server.mqttPort()).buildBlocking();
        clients.add(c);
        return c;
    }

    private static Settings settings() {
        // each test lifts the limits it does not test out of the way
        return Settings.defaults().with(Settings.SYS_INTERVAL, 0L).with(Settings.CONNECT_RATE, 0);
    }

    @Test
    void maxConnectionsAdmitsUpToTheLimitAndRefusesTheNextWithQuotaExceeded() {
        server = new OpsTestServer(settings().with(Settings.MAX_CONNECTIONS, 3));
        for (int i = 0; i < 3; i++) {
            client("c" + i).connect();
        }
        Mqtt5ConnAckException refused = assertThrows(Mqtt5ConnAckException.class, () -> client("c3").connect());
        assertEquals(Mqtt5ConnAckReasonCode.QUOTA_EXCEEDED, refused.getMqttMessage().getReasonCode());
        assertEquals(1.0, refusals("connection_limit"));

        // a place frees up when a client leaves
        clients.get(0).disconnect();
        awaitOpen(2);
        client("c4").connect();
    }

    @Test
    void mqtt311ClientGetsServerUnavailable() throws Exception {
        server = new OpsTestServer(settings().with(Settings.MAX_CONNECTIONS, 1));
        client("first").connect();
        MqttClient paho = new MqttClient(server.mqttUri(), "paho-311", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        MqttException e = assertThrows(MqttException.class, () -> paho.connect(o));
        assertEquals(MqttException.REASON_CODE_BROKER_UNAVAILABLE, e.getReasonCode());
        paho.close(true);
    }

    @Test
    void maxConnectionsPerAddress() {
        server = new OpsTestServer(settings().with(Settings.MAX_CONNECTIONS_PER_ADDRESS, 2));
        client("a").connect();
        client("b").connect();
        Mqtt5ConnAckException refused = assertThrows(Mqtt5ConnAckException.class, () -> client("c").connect());
        assertEquals(Mqtt5ConnAckReasonCode.QUOTA_EXCEEDED, refused.getMqttMessage().getReasonCode());
        assertEquals(1.0, refusals("address_limit"));
    }

    @Test
    void connectRateAdmitsTheBurstThenRefusesWithConnectionRateExceededThenAdmitsAgain() throws Exception {
        // 1 per second after a burst of 3: the burst is admitted at once, then connecting faster than 1/s
        // is refused (a slow machine may earn a token or two meanwhile, hence the bounded loop)
        server = new OpsTestServer(settings().with(Settings.CONNECT_RATE, 1).with(Settings.CONNECT_BURST, 3));
        for (int i = 0; i < 3; i++) {
            client("r" + i).connect();
        }
        Mqtt5ConnAckException refused = null;
        for (int i = 3; i < 20 && refused == null; i++) {
            try {
                client("r" + i).connect();
            } catch (Mqtt5ConnAckException e) {
                refused = e;
            }
        }
        assertTrue(refused != null, "connecting back to back past the burst was refused");
        assertEquals(Mqtt5ConnAckReasonCode.CONNECTION_RATE_EXCEEDED, refused.getMqttMessage().getReasonCode());
        assertEquals(1.0, refusals("rate_limit"));
        // the bucket refills at the rate: a client that backs off gets in (bounded: 20 tries, 500 ms apart)
        boolean admitted = false;
        for (int attempt = 0; attempt < 20 && !admitted; attempt++) {
            TimeUnit.MILLISECONDS.sleep(500);
            try {
                client("r4-" + attempt).connect();
                admitted = true;
            } catch (Mqtt5ConnAckException e) {
                assertEquals(Mqtt5ConnAckReasonCode.CONNECTION_RATE_EXCEEDED, e.getMqttMessage().getReasonCode());
            }
        }
        assertTrue(admitted, "a client backing off was admitted once the bucket refilled");
    }

    private double refusals(String reason) {
        return server.ops.metrics().registry().find("sluice.connections.refused").tag("reason", reason)
                .functionCounters().stream().mapToDouble(c -> c.count()).sum();
    }

    private void awaitOpen(int n) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.ops.admission().open() != n && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(n, server.ops.admission().open());
    }
}
