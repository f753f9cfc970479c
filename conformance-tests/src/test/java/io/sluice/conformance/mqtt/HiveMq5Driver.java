package io.sluice.conformance.mqtt;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5ClientBuilder;
import com.hivemq.client.mqtt.mqtt5.message.connect.Mqtt5ConnectBuilder;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PublishResult;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.suback.Mqtt5SubAck;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** The HiveMQ MQTT client speaking MQTT 5 (its WebSocket transport: the hivemq-mqtt-client-websocket module). */
public final class HiveMq5Driver implements MqttDriver {
    private static final long T = MqttConn.TIMEOUT_SECONDS;

    @Override
    public MqttConn connect(Endpoint endpoint, Options o) throws Exception {
        Mqtt5ClientBuilder builder = MqttClient.builder().useMqttVersion5()
                .identifier(o.clientId()).serverHost("127.0.0.1").serverPort(endpoint.port());
        if (endpoint.websocket()) {
            builder = builder.webSocketConfig().serverPath("mqtt").applyWebSocketConfig();
        }
        Mqtt5AsyncClient client = builder.buildAsync();
        Conn conn = new Conn(client);
        client.publishes(MqttGlobalPublishFilter.ALL, p -> conn.received(p.getTopic().toString(),
                p.getPayloadAsBytes(), p.getQos().getCode(), p.isRetain()));
        Mqtt5ConnectBuilder.Send<java.util.concurrent.CompletableFuture<Mqtt5ConnAck>> connect = client.connectWith()
                .cleanStart(o.clean())
                .sessionExpiryInterval(o.clean() ? 0 : 300)
                .keepAlive(o.keepAliveSeconds());
        if (o.willTopic() != null) {
            connect = connect.willPublish().topic(o.willTopic())
                    .payload(o.willPayload().getBytes(StandardCharsets.UTF_8))
                    .qos(MqttQos.AT_LEAST_ONCE).applyWillPublish();
        }
        Mqtt5ConnAck ack = connect.send().get(T, TimeUnit.SECONDS);
        conn.sessionPresent = ack.isSessionPresent();
        return conn;
    }

    private static final class Conn extends MqttConn {
        private final Mqtt5AsyncClient client;
        private boolean sessionPresent;

        Conn(Mqtt5AsyncClient client) {
            this.client = client;
        }

        @Override
        public boolean sessionPresent() {
            return sessionPresent;
        }

        @Override
        public void subscribe(String filter, int qos) throws Exception {
            Mqtt5SubAck ack = client.subscribeWith().topicFilter(filter).qos(MqttQos.fromCode(qos)).send()
                    .get(T, TimeUnit.SECONDS);
            int code = ack.getReasonCodes().get(0).getCode();
            if (code != qos) {
                throw new AssertionError("SUBACK " + ack.getReasonCodes() + " for " + filter + ", asked " + qos);
            }
        }

        @Override
        public void publish(String topic, byte[] payload, int qos, boolean retain) throws Exception {
            Mqtt5PublishResult result = client.publishWith().topic(topic).payload(payload)
                    .qos(MqttQos.fromCode(qos)).retain(retain).send().get(T, TimeUnit.SECONDS);
            if (result.getError().isPresent()) {
                throw new AssertionError("PUBLISH to " + topic + " failed", result.getError().get());
            }
            if (result instanceof Mqtt5PublishResult.Mqtt5Qos1Result r && r.getPubAck().getReasonCode().isError()) {
                throw new AssertionError("PUBACK " + r.getPubAck().getReasonCode() + " for " + topic);
            }
            if (result instanceof Mqtt5PublishResult.Mqtt5Qos2Result r && r.getPubRec().getReasonCode().isError()) {
                throw new AssertionError("PUBREC " + r.getPubRec().getReasonCode() + " for " + topic);
            }
        }

        @Override
        public boolean connected() {
            return client.getState().isConnected();
        }

        @Override
        public void disconnect() throws Exception {
            client.disconnect().get(T, TimeUnit.SECONDS);
        }

        @Override
        public void release() {
            if (connected()) {
                client.disconnect();
            }
        }
    }
}
