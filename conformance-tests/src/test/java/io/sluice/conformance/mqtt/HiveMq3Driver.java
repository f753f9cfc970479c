package io.sluice.conformance.mqtt;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3ClientBuilder;
import com.hivemq.client.mqtt.mqtt3.message.connect.Mqtt3ConnectBuilder;
import com.hivemq.client.mqtt.mqtt3.message.connect.connack.Mqtt3ConnAck;
import com.hivemq.client.mqtt.mqtt3.message.subscribe.suback.Mqtt3SubAck;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The HiveMQ MQTT client speaking MQTT 3.1.1. */
public final class HiveMq3Driver implements MqttDriver {
    private static final long T = MqttConn.TIMEOUT_SECONDS;

    @Override
    public MqttConn connect(Endpoint endpoint, Options o) throws Exception {
        Mqtt3ClientBuilder builder = MqttClient.builder().useMqttVersion3()
                .identifier(o.clientId()).serverHost("127.0.0.1").serverPort(endpoint.port());
        if (endpoint.websocket()) {
            builder = builder.webSocketConfig().serverPath("mqtt").applyWebSocketConfig();
        }
        Mqtt3AsyncClient client = builder.buildAsync();
        Conn conn = new Conn(client);
        client.publishes(MqttGlobalPublishFilter.ALL, p -> conn.received(p.getTopic().toString(),
                p.getPayloadAsBytes(), p.getQos().getCode(), p.isRetain()));
        Mqtt3ConnectBuilder.Send<CompletableFuture<Mqtt3ConnAck>> connect = client.connectWith()
                .cleanSession(o.clean())
                .keepAlive(o.keepAliveSeconds());
        if (o.willTopic() != null) {
            connect = connect.willPublish().topic(o.willTopic())
                    .payload(o.willPayload().getBytes(StandardCharsets.UTF_8))
                    .qos(MqttQos.AT_LEAST_ONCE).applyWillPublish();
        }
        Mqtt3ConnAck ack = connect.send().get(T, TimeUnit.SECONDS);
        conn.sessionPresent = ack.isSessionPresent();
        return conn;
    }

    private static final class Conn extends MqttConn {
        private final Mqtt3AsyncClient client;
        private boolean sessionPresent;

        Conn(Mqtt3AsyncClient client) {
            this.client = client;
        }

        @Override
        public boolean sessionPresent() {
            return sessionPresent;
        }

        @Override
        public void subscribe(String filter, int qos) throws Exception {
            Mqtt3SubAck ack = client.subscribeWith().topicFilter(filter).qos(MqttQos.fromCode(qos)).send()
                    .get(T, TimeUnit.SECONDS);
            int code = ack.getReturnCodes().get(0).getCode();
            if (code != qos) {
                throw new AssertionError("SUBACK " + ack.getReturnCodes() + " for " + filter + ", asked " + qos);
            }
        }

        @Override
        public void publish(String topic, byte[] payload, int qos, boolean retain) throws Exception {
            client.publishWith().topic(topic).payload(payload).qos(MqttQos.fromCode(qos)).retain(retain).send()
                    .get(T, TimeUnit.SECONDS);
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
