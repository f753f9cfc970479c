package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.Mqtt5ClientBuilder;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The subscribers of one QoS 0 message on an event loop write one encoding of it (MQTT 3.3: such a PUBLISH carries
 * nothing of its subscriber): each kind of subscriber still gets exactly its own packet. MQTT 3.1.1 and MQTT 5
 * subscribers (an empty property section or none), over WebSocket and TCP, real clients (Paho, HiveMQ) and a strict
 * decoder, side by side on one topic with the subscribers whose packets differ: one that takes topic aliases, one
 * with a subscription identifier, one with Retain As Published, one at QoS 1 (packet ids). Every subscriber gets
 * every message with its own topic, payload, QoS, retain flag and properties: in lockstep (each drain carries one
 * delivery, the shared encoding) and in a burst (drains carry several, one copied behind the other).
 */
class MqttSharedPublishTest {
    /** What a subscriber received of one message. */
    private record Got(String topic, String payload, int qos, boolean retain, String subscriptionIds) {
    }

    /** One subscriber: what it asked for, and what it received. */
    private record Sub(String name, int qos, boolean retainAsPublished, String subscriptionIds,
                       BlockingQueue<Got> got) {
        Got expected(int i, int publishQos, boolean retain) {
            return new Got(topic(i), payload(i), Math.min(qos, publishQos), retainAsPublished && retain,
                    subscriptionIds);
        }
    }

    private static String topic(int i) {
        return "share/" + "abc".charAt(i % 3);
    }

    private static String payload(int i) {
        return "m" + i;
    }

    private static boolean retained(int i) {
        return i % 4 == 1;
    }

    private static int publishQos(int i, boolean burst) {
        return burst && i % 2 == 1 ? 1 : 0;
    }

    @ParameterizedTest(name = "{0} event loop(s)")
    @ValueSource(ints = {1, 2})
    void everySubscriberGetsItsOwnPacket(int loops) throws Exception {
        try (MqttTestServer server = new MqttTestServer(Settings.defaults().with(Settings.IO_THREADS, loops))) {
            List<Sub> subs = new ArrayList<>();
            List<AutoCloseable> clients = new ArrayList<>();
            try {
                clients.add(paho3(server.wsUri(), "paho3-ws", subs));
                clients.add(paho3(server.tcpUri(), "paho3-tcp", subs));
                clients.add(hive3(server.httpPort(), "hive3-ws", subs));
                clients.add(hive5(ws5(server, "hive5-ws"), "hive5-ws", 0, false, subs));
                clients.add(hive5(Mqtt5Client.builder().identifier("hive5-tcp").serverHost("127.0.0.1")
                        .serverPort(server.port()), "hive5-tcp", 0, false, subs));
                clients.add(hive5(ws5(server, "hive5-rap"), "hive5-rap", 0, true, subs));
                clients.add(hive5(ws5(server, "hive5-qos1"), "hive5-qos1", 1, false, subs));
                clients.add(hive5Aliases(server, subs));
                clients.add(raw(RawMqttClient.openWebSocket(server.httpPort()), MqttVersion.MQTT_3_1_1, "raw3-ws", 0,
                        subs));
                clients.add(raw(RawMqttClient.openWebSocket(server.httpPort()), MqttVersion.MQTT_5, "raw5-ws", 0,
                        subs));
                clients.add(raw(RawMqttClient.open(server.port()), MqttVersion.MQTT_5, "raw5-ids", 7, subs));

                Mqtt5BlockingClient pub = Mqtt5Client.builder().identifier("share-pub").serverHost("127.0.0.1")
                        .serverPort(server.port()).buildBlocking();
                pub.connect();
                clients.add(pub::disconnect);
                Consumer<Integer> publish = i -> pub.publishWith().topic(topic(i))
                        .qos(MqttQos.fromCode(publishQos(i, i >= 20))).retain(retained(i))
                        .payload(payload(i).getBytes(StandardCharsets.UTF_8)).send();

                // lockstep: every drain carries one delivery
                for (int i = 0; i < 20; i++) {
                    publish.accept(i);
                    for (Sub s : subs) {
                        Got g = s.got.poll(10, TimeUnit.SECONDS);
                        assertNotNull(g, s.name + ": message " + i);
                        assertEquals(s.expected(i, 0, retained(i)), g, s.name + ": message " + i);
                    }
                }
                // a burst: drains carry several, QoS 0 and 1 mixed
                int last = 80;
                for (int i = 20; i < last; i++) {
                    publish.accept(i);
                }
                for (Sub s : subs) {
                    Map<Integer, Integer> lastByQos = new HashMap<>();
                    for (int k = 20; k < last; k++) {
                        Got g = s.got.poll(10, TimeUnit.SECONDS);
                        assertNotNull(g, s.name + ": " + (k - 20) + " of the burst's " + (last - 20) + " messages");
                        int i = Integer.parseInt(g.payload.substring(1));
                        assertEquals(s.expected(i, publishQos(i, true), retained(i)), g, s.name + ": message " + i);
                        // in publish order within each QoS (MQTT 5 section 4.6)
                        int before = lastByQos.getOrDefault(g.qos, -1);
                        assertEquals(true, i > before, s.name + ": message " + i + " after " + before);
                        lastByQos.put(g.qos, i);
                    }
                    assertNull(s.got.poll(100, TimeUnit.MILLISECONDS), s.name + ": nothing more");
                }
            } finally {
                for (AutoCloseable c : clients) {
                    c.close();
                }
            }
        }
    }

    private static Mqtt5ClientBuilder ws5(MqttTestServer server, String id) {
        return Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.httpPort())
                .webSocketConfig().serverPath("mqtt").applyWebSocketConfig();
    }

    private static AutoCloseable paho3(String uri, String id, List<Sub> subs) throws Exception {
        Sub s = new Sub(id, 0, false, "", new LinkedBlockingQueue<>());
        MqttClient c = new MqttClient(uri, id, new MemoryPersistence());
        c.setCallback(new MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
            }

            @Override
            public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage m) {
                s.got.add(new Got(topic, new String(m.getPayload(), StandardCharsets.UTF_8), m.getQos(),
                        m.isRetained(), ""));
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {
            }
        });
        c.connect();
        c.subscribe("share/#", 0);
        subs.add(s);
        return () -> {
            c.disconnect();
            c.close();
        };
    }

    private static AutoCloseable hive3(int httpPort, String id, List<Sub> subs) throws Exception {
        Sub s = new Sub(id, 0, false, "", new LinkedBlockingQueue<>());
        Mqtt3AsyncClient c = Mqtt3Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(httpPort)
                .webSocketConfig().serverPath("mqtt").applyWebSocketConfig().buildAsync();
        c.connect().get(10, TimeUnit.SECONDS);
        c.subscribeWith().topicFilter("share/#").qos(MqttQos.AT_MOST_ONCE)
                .callback(p -> s.got.add(new Got(p.getTopic().toString(),
                        StandardCharsets.UTF_8.decode(p.getPayload().orElseThrow()).toString(), p.getQos().getCode(),
                        p.isRetain(), "")))
                .send().get(10, TimeUnit.SECONDS);
        subs.add(s);
        return () -> c.disconnect().get(10, TimeUnit.SECONDS);
    }

    private static AutoCloseable hive5(Mqtt5ClientBuilder builder, String id, int qos, boolean retainAsPublished,
                                       List<Sub> subs) throws Exception {
        return hive5(builder.buildAsync(), id, qos, retainAsPublished, subs);
    }

    private static AutoCloseable hive5(Mqtt5AsyncClient c, String id, int qos, boolean retainAsPublished,
                                       List<Sub> subs) throws Exception {
        Sub s = new Sub(id, qos, retainAsPublished, "", new LinkedBlockingQueue<>());
        c.connect().get(10, TimeUnit.SECONDS);
        c.subscribeWith().topicFilter("share/#").qos(MqttQos.fromCode(qos)).retainAsPublished(retainAsPublished)
                .callback(p -> s.got.add(new Got(p.getTopic().toString(),
                        StandardCharsets.UTF_8.decode(p.getPayload().orElseThrow()).toString(), p.getQos().getCode(),
                        p.isRetain(), "")))
                .send().get(10, TimeUnit.SECONDS);
        subs.add(s);
        return () -> c.disconnect().get(10, TimeUnit.SECONDS);
    }

    /** An MQTT 5 subscriber that takes topic aliases: its packets carry one, or set one, its neighbours' never. */
    private static AutoCloseable hive5Aliases(MqttTestServer server, List<Sub> subs) throws Exception {
        Mqtt5AsyncClient c = ws5(server, "hive5-alias").buildAsync();
        Sub s = new Sub("hive5-alias", 0, false, "", new LinkedBlockingQueue<>());
        c.connectWith().restrictions().topicAliasMaximum(2).applyRestrictions().send().get(10, TimeUnit.SECONDS);
        c.subscribeWith().topicFilter("share/#").qos(MqttQos.AT_MOST_ONCE)
                .callback(p -> s.got.add(new Got(p.getTopic().toString(),
                        StandardCharsets.UTF_8.decode(p.getPayload().orElseThrow()).toString(), p.getQos().getCode(),
                        p.isRetain(), "")))
                .send().get(10, TimeUnit.SECONDS);
        subs.add(s);
        return () -> c.disconnect().get(10, TimeUnit.SECONDS);
    }

    /**
     * A subscriber whose every packet goes through Netty's strict decoder for its version (an MQTT 5 property
     * section sent to an MQTT 3.1.1 client would end up in its payload); {@code subscriptionId} 0: none.
     */
    private static AutoCloseable raw(RawMqttClient c, MqttVersion version, String id, int subscriptionId,
                                     List<Sub> subs) throws Exception {
        c.connect(version, id, true, MqttProperties.NO_PROPERTIES);
        MqttProperties props = new MqttProperties();
        if (subscriptionId != 0) {
            props.add(new MqttProperties.IntegerProperty(MqttProperties.SUBSCRIPTION_IDENTIFIER, subscriptionId));
        }
        c.send(MqttMessageBuilders.subscribe().messageId(1).properties(props)
                .addSubscription(MqttQoS.AT_MOST_ONCE, "share/#").build());
        c.expect(MqttMessageType.SUBACK);
        String ids = subscriptionId == 0 ? "[]" : "[" + subscriptionId + "]";
        Sub s = new Sub(id, 0, false, version == MqttVersion.MQTT_5 ? ids : "", new LinkedBlockingQueue<>());
        Thread reader = new Thread(() -> {
            while (c.isOpen()) {
                MqttMessage m = c.next(100);
                if (m instanceof MqttPublishMessage p) {
                    List<Object> got = new ArrayList<>();
                    p.variableHeader().properties().getProperties(MqttProperties.SUBSCRIPTION_IDENTIFIER)
                            .forEach(prop -> got.add(prop.value()));
                    s.got.add(new Got(p.variableHeader().topicName(), p.payload().toString(StandardCharsets.UTF_8),
                            p.fixedHeader().qosLevel().value(), p.fixedHeader().isRetain(),
                            version == MqttVersion.MQTT_5 ? got.toString() : ""));
                    p.release();
                } else if (m != null) {
                    s.got.add(new Got("unexpected " + m.fixedHeader().messageType(), "", -1, false, ""));
                }
            }
        }, id);
        reader.setDaemon(true);
        reader.start();
        subs.add(s);
        return () -> {
            c.close();
            reader.join(5_000);
        };
    }
}
