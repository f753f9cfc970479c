package io.sluice.conformance.matrix;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.sluice.conformance.matrix.Capability.MQTT_31;
import static io.sluice.conformance.matrix.Capability.MQTT_5;
import static io.sluice.conformance.matrix.Capability.MQTT_TCP;
import static io.sluice.conformance.matrix.Capability.MQTT_WS;
import static io.sluice.conformance.matrix.Capability.SERVER;
import static io.sluice.conformance.matrix.Capability.STOMP_HEARTBEAT;
import static io.sluice.conformance.matrix.Capability.STOMP_QUEUES;
import static io.sluice.conformance.matrix.Capability.STOMP_TCP;
import static io.sluice.conformance.matrix.Capability.STOMP_WS;
import static io.sluice.conformance.matrix.Capability.TLS;

/** Every row of the compatibility matrix, in the order it is printed. Tests look their rows up here. */
public final class Catalog {
    private static final List<Row> ROWS = new ArrayList<>();

    private static final Set<Feature> ALL_MQTT = EnumSet.allOf(Feature.class);
    private static final Set<Feature> STOMP = EnumSet.of(Feature.CONNECT_CLEAN, Feature.WILDCARD, Feature.QOS0,
            Feature.QOS1, Feature.RETAINED, Feature.SESSION_RESUME, Feature.CROSS_PROTOCOL, Feature.KEEPALIVE,
            Feature.BAD_INPUT);

    // Java clients: the STOMP side of their cross-protocol check is a Netty-codec STOMP client over TCP.
    private static final Map<Feature, Set<Capability>> JAVA_CROSS = Map.of(Feature.CROSS_PROTOCOL, Set.of(STOMP_TCP));
    // Node and browser clients: the STOMP side is stomp.js over WebSocket.
    private static final Map<Feature, Set<Capability>> JS_CROSS = Map.of(Feature.CROSS_PROTOCOL, Set.of(STOMP_WS));

    public static final Row PAHO3_TCP = row("paho3-tcp", "Eclipse Paho Java mqttv3, MQTT 3.1.1", "tcp://", ALL_MQTT, JAVA_CROSS, MQTT_TCP);
    public static final Row PAHO3_WS = row("paho3-ws", "Eclipse Paho Java mqttv3, MQTT 3.1.1", "ws:// /mqtt", ALL_MQTT, JAVA_CROSS, MQTT_WS);
    public static final Row PAHO5_TCP = row("paho5-tcp", "Eclipse Paho Java mqttv5, MQTT 5", "tcp://", ALL_MQTT, JAVA_CROSS, MQTT_TCP, MQTT_5);
    public static final Row PAHO5_WS = row("paho5-ws", "Eclipse Paho Java mqttv5, MQTT 5", "ws:// /mqtt", ALL_MQTT, JAVA_CROSS, MQTT_WS, MQTT_5);
    public static final Row HIVEMQ3_TCP = row("hivemq3-tcp", "HiveMQ MQTT client, MQTT 3.1.1", "TCP", ALL_MQTT, JAVA_CROSS, MQTT_TCP);
    public static final Row HIVEMQ3_WS = row("hivemq3-ws", "HiveMQ MQTT client, MQTT 3.1.1", "WebSocket /mqtt", ALL_MQTT, JAVA_CROSS, MQTT_WS);
    public static final Row HIVEMQ5_TCP = row("hivemq5-tcp", "HiveMQ MQTT client, MQTT 5", "TCP", ALL_MQTT, JAVA_CROSS, MQTT_TCP, MQTT_5);
    public static final Row HIVEMQ5_WS = row("hivemq5-ws", "HiveMQ MQTT client, MQTT 5", "WebSocket /mqtt", ALL_MQTT, JAVA_CROSS, MQTT_WS, MQTT_5);

    public static final Row MQTTJS3_TCP = row("mqttjs-v3-tcp", "MQTT.js 5 (Node), MQTT 3.1", "mqtt://", ALL_MQTT, JS_CROSS, MQTT_TCP, MQTT_31);
    public static final Row MQTTJS3_WS = row("mqttjs-v3-ws", "MQTT.js 5 (Node), MQTT 3.1", "ws:// /mqtt (mqttv3.1)", ALL_MQTT, JS_CROSS, MQTT_WS, MQTT_31);
    public static final Row MQTTJS4_TCP = row("mqttjs-v4-tcp", "MQTT.js 5 (Node), MQTT 3.1.1", "mqtt://", ALL_MQTT, JS_CROSS, MQTT_TCP);
    public static final Row MQTTJS4_WS = row("mqttjs-v4-ws", "MQTT.js 5 (Node), MQTT 3.1.1", "ws:// /mqtt (mqtt)", ALL_MQTT, JS_CROSS, MQTT_WS);
    public static final Row MQTTJS5_TCP = row("mqttjs-v5-tcp", "MQTT.js 5 (Node), MQTT 5", "mqtt://", ALL_MQTT, JS_CROSS, MQTT_TCP, MQTT_5);
    public static final Row MQTTJS5_WS = row("mqttjs-v5-ws", "MQTT.js 5 (Node), MQTT 5", "ws:// /mqtt (mqtt)", ALL_MQTT, JS_CROSS, MQTT_WS, MQTT_5);

    private static final Map<Feature, Set<Capability>> STOMP_NEEDS = Map.of(
            Feature.SESSION_RESUME, Set.of(STOMP_QUEUES),
            Feature.KEEPALIVE, Set.of(STOMP_HEARTBEAT),
            Feature.RETAINED, Set.of(MQTT_TCP),
            Feature.CROSS_PROTOCOL, Set.of(MQTT_TCP));
    public static final Row STOMPJS10 = row("stompjs-v10", "@stomp/stompjs 7 (Node, ws), STOMP 1.0", "ws:// /stomp (v10.stomp)",
            EnumSet.complementOf(EnumSet.of(Feature.CONNECT_PERSISTENT, Feature.QOS2, Feature.WILL, Feature.KEEPALIVE)),
            STOMP_NEEDS, STOMP_WS);
    public static final Row STOMPJS11 = row("stompjs-v11", "@stomp/stompjs 7 (Node, ws), STOMP 1.1", "ws:// /stomp (v11.stomp)", STOMP, STOMP_NEEDS, STOMP_WS);
    public static final Row STOMPJS12 = row("stompjs-v12", "@stomp/stompjs 7 (Node, ws), STOMP 1.2", "ws:// /stomp (v12.stomp)", STOMP, STOMP_NEEDS, STOMP_WS);
    public static final Row STOMPJS10_TCP = row("stompjs-tcp-v10", "@stomp/stompjs 7 (Node, tcp-wrapper), STOMP 1.0", "TCP",
            EnumSet.complementOf(EnumSet.of(Feature.CONNECT_PERSISTENT, Feature.QOS2, Feature.WILL, Feature.KEEPALIVE)),
            STOMP_NEEDS, STOMP_TCP);
    public static final Row STOMPJS11_TCP = row("stompjs-tcp-v11", "@stomp/stompjs 7 (Node, tcp-wrapper), STOMP 1.1", "TCP", STOMP, STOMP_NEEDS, STOMP_TCP);
    public static final Row STOMPJS12_TCP = row("stompjs-tcp-v12", "@stomp/stompjs 7 (Node, tcp-wrapper), STOMP 1.2", "TCP", STOMP, STOMP_NEEDS, STOMP_TCP);

    public static final Row MOSQUITTO311 = row("mosquitto-v311", "mosquitto_pub / mosquitto_sub (Debian), MQTT 3.1.1", "TCP", ALL_MQTT, JAVA_CROSS, MQTT_TCP);
    public static final Row MOSQUITTO5 = row("mosquitto-v5", "mosquitto_pub / mosquitto_sub (Debian), MQTT 5", "TCP", ALL_MQTT, JAVA_CROSS, MQTT_TCP, MQTT_5);

    public static final Row CHROMIUM = row("chromium", "Chromium (headless) with MQTT.js 5 and stomp.js 7", "ws:// /mqtt and /stomp",
            ALL_MQTT, JS_CROSS, MQTT_WS, MQTT_5);
    public static final Row CHROMIUM_WSS = row("chromium-wss", "Chromium (headless) with MQTT.js 5 and stomp.js 7",
            "wss:// /mqtt and /stomp, JWT in ?token=", ALL_MQTT, JS_CROSS, MQTT_WS, MQTT_5, TLS);

    private Catalog() {
    }

    private static Row row(String id, String client, String transport, Set<Feature> features,
                           Map<Feature, Set<Capability>> featureNeeds, Capability... needs) {
        Set<Capability> all = EnumSet.of(SERVER, needs);
        Row row = new Row(id, client, transport, Collections.unmodifiableSet(all),
                Collections.unmodifiableSet(EnumSet.copyOf(features)), featureNeeds);
        ROWS.add(row);
        return row;
    }

    public static List<Row> rows() {
        return Collections.unmodifiableList(ROWS);
    }
}
