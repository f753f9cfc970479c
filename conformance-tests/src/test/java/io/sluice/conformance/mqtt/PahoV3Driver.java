package io.sluice.conformance.mqtt;

import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

import java.nio.charset.StandardCharsets;

/** Eclipse Paho Java, package mqttv3, speaking MQTT 3.1.1. */
public final class PahoV3Driver implements MqttDriver {
    private static final long WAIT_MS = MqttConn.TIMEOUT_SECONDS * 1000;

    @Override
    public MqttConn connect(Endpoint endpoint, Options o) throws Exception {
        MqttAsyncClient client = new MqttAsyncClient(endpoint.uri(), o.clientId(), new MemoryPersistence());
        Conn conn = new Conn(client);
        client.setCallback(new MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
            }

            @Override
            public void messageArrived(String topic, MqttMessage m) {
                conn.received(topic, m.getPayload(), m.getQos(), m.isRetained());
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {
            }
        });
        MqttConnectOptions options = new MqttConnectOptions();
        options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        options.setCleanSession(o.clean());
        options.setKeepAliveInterval(o.keepAliveSeconds());
        options.setAutomaticReconnect(false);
        options.setConnectionTimeout((int) MqttConn.TIMEOUT_SECONDS);
        if (o.willTopic() != null) {
            options.setWill(o.willTopic(), o.willPayload().getBytes(StandardCharsets.UTF_8), 1, false);
        }
        IMqttToken token = client.connect(options);
        token.waitForCompletion(WAIT_MS);
        conn.sessionPresent = token.getSessionPresent();
        return conn;
    }

    private static final class Conn extends MqttConn {
        private final MqttAsyncClient client;
        private boolean sessionPresent;

        Conn(MqttAsyncClient client) {
            this.client = client;
        }

        @Override
        public boolean sessionPresent() {
            return sessionPresent;
        }

        @Override
        public void subscribe(String filter, int qos) throws Exception {
            IMqttToken t = client.subscribe(filter, qos);
            t.waitForCompletion(WAIT_MS);
            int granted = t.getGrantedQos()[0];
            if (granted != qos) {
                throw new AssertionError("SUBACK granted " + granted + " for " + filter + ", asked " + qos);
            }
        }

        @Override
        public void publish(String topic, byte[] payload, int qos, boolean retain) throws Exception {
            client.publish(topic, payload, qos, retain).waitForCompletion(WAIT_MS);
        }

        @Override
        public boolean connected() {
            return client.isConnected();
        }

        @Override
        public void disconnect() throws Exception {
            client.disconnect().waitForCompletion(WAIT_MS);
            client.close();
        }

        @Override
        public void release() {
            try {
                if (client.isConnected()) {
                    client.disconnectForcibly(0, 1000, false);
                }
                client.close(true);
            } catch (Exception ignored) {
                // already gone
            }
        }
    }
}
