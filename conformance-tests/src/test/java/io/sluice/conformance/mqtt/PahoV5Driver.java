package io.sluice.conformance.mqtt;

import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Eclipse Paho Java, package mqttv5, speaking MQTT 5. */
public final class PahoV5Driver implements MqttDriver {
    private static final long WAIT_MS = MqttConn.TIMEOUT_SECONDS * 1000;

    @Override
    public MqttConn connect(Endpoint endpoint, Options o) throws Exception {
        MqttAsyncClient client = new MqttAsyncClient(endpoint.uri(), o.clientId(), new MemoryPersistence());
        Conn conn = new Conn(client);
        client.setCallback(new MqttCallback() {
            @Override
            public void disconnected(MqttDisconnectResponse response) {
            }

            @Override
            public void mqttErrorOccurred(MqttException exception) {
            }

            @Override
            public void messageArrived(String topic, MqttMessage m) {
                conn.received(topic, m.getPayload(), m.getQos(), m.isRetained());
            }

            @Override
            public void deliveryComplete(IMqttToken token) {
            }

            @Override
            public void connectComplete(boolean reconnect, String serverURI) {
            }

            @Override
            public void authPacketArrived(int reasonCode, MqttProperties properties) {
            }
        });
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(o.clean());
        options.setSessionExpiryInterval(o.clean() ? 0L : 300L);
        options.setKeepAliveInterval(o.keepAliveSeconds());
        options.setAutomaticReconnect(false);
        options.setConnectionTimeout((int) MqttConn.TIMEOUT_SECONDS);
        if (o.willTopic() != null) {
            MqttMessage will = new MqttMessage(o.willPayload().getBytes(StandardCharsets.UTF_8));
            will.setQos(1);
            options.setWill(o.willTopic(), will);
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
            IMqttToken t = client.subscribe(new MqttSubscription(filter, qos));
            t.waitForCompletion(WAIT_MS);
            int[] codes = t.getReasonCodes();
            if (codes == null || codes[0] != qos) {
                throw new AssertionError("SUBACK " + Arrays.toString(codes) + " for " + filter + ", asked " + qos);
            }
        }

        @Override
        public void publish(String topic, byte[] payload, int qos, boolean retain) throws Exception {
            MqttMessage m = new MqttMessage(payload);
            m.setQos(qos);
            m.setRetained(retain);
            IMqttToken t = client.publish(topic, m);
            t.waitForCompletion(WAIT_MS);
            int[] codes = t.getReasonCodes();
            if (qos > 0 && codes != null && codes.length > 0 && codes[0] >= 0x80) {
                throw new AssertionError("PUBLISH to " + topic + " answered with reason 0x" + Integer.toHexString(codes[0]));
            }
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
