package io.sluice.junit5;

import com.hivemq.client.mqtt.MqttClientState;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.Sluice;
import io.sluice.server.SluiceUrls;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** docs/testing.md's JUnit 5 recipe, as written there: a dropped HiveMQ client resumes, Paho retries a refusal. */
@SluiceBroker(strict = true)
class RecipeTest {
    @Test
    void resumesAfterADrop(Sluice broker, SluiceUrls urls) throws Exception {
        CountDownLatch reconnected = new CountDownLatch(1);
        AtomicInteger connects = new AtomicInteger();
        Mqtt5BlockingClient hive = Mqtt5Client.builder().identifier("hive-1")
                .serverHost(urls.host()).serverPort(urls.mqttPort())
                .automaticReconnectWithDefaultConfig()
                .addConnectedListener(ctx -> {
                    if (connects.incrementAndGet() == 2) {
                        reconnected.countDown();
                    }
                })
                .buildBlocking();
        hive.connectWith().cleanStart(false).sessionExpiryInterval(60).send();
        assertEquals(1, broker.faults().drop("hive-1"), "the client must reconnect by itself");
        assertTrue(reconnected.await(30, TimeUnit.SECONDS), "HiveMQ's automatic reconnect came back");
        assertEquals(MqttClientState.CONNECTED, hive.getState());
        hive.disconnect();
    }

    @Test
    void pahoOverWebSocket(@SluiceUrl(SluiceUrl.Kind.WS) String ws, Sluice broker) throws Exception {
        broker.faults().refuseNextConnect(ReasonCode.SERVER_BUSY);
        MqttClient paho = new MqttClient(ws, "paho-1", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        MqttException refused = assertThrows(MqttException.class, () -> paho.connect(o));
        assertEquals(MqttException.REASON_CODE_BROKER_UNAVAILABLE, refused.getReasonCode(),
                "MQTT 3.1.1 hears the nearest return code: 3, server unavailable");
        paho.connect(o);
        paho.disconnect();
        paho.close();
    }
}
