package io.sluice.server.mqtt;

import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.server.mqtt.MqttPacketRules.Carrier;
import io.sluice.server.mqtt.MqttPacketRules.Property;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The three classes of malformed packets, each as a whole class, for MQTT 3.1.1 and 5.0, from the specifications'
 * statements rather than from examples: every CONNECT flags byte (256 per version) against the forbidden
 * combinations; every length field of every packet type a client sends made to claim one byte more than its
 * packet holds; every MQTT 5 property on every packet type that carries properties, repeated where it may appear
 * once and alone where it may not appear. The answer must come at once: MQTT 5 CONNACK (during CONNECT) or
 * DISCONNECT with the spec's reason code, whose reason string names the rule; MQTT 3.1.1 a close without a
 * reply (section 4.8).
 */
class MqttMalformedPacketTest {
    private static MqttTestServer server;

    @BeforeAll
    static void start() {
        server = new MqttTestServer(Settings.defaults().with(Settings.CONNECT_RATE, 0));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    // ---- CONNECT flags ----

    /** The forbidden combinations, straight from the specifications' statements. */
    private static String forbiddenRule(int level, int flags) {
        boolean will = (flags & 0x04) != 0;
        int willQos = (flags >> 3) & 3;
        if ((flags & 0x01) != 0) {
            return "MQTT-3.1.2-3"; // reserved flag must be 0 (3.1.1 and 5.0)
        }
        if (!will && willQos != 0) {
            return "MQTT-3.1.2-13"; // Will Flag 0: Will QoS 0
        }
        if (!will && (flags & 0x20) != 0) {
            return "MQTT-3.1.2-15"; // Will Flag 0: Will Retain 0
        }
        if (will && willQos == 3) {
            return "MQTT-3.1.2-14"; // Will QoS 0, 1 or 2
        }
        if (level == 4 && (flags & 0x40) != 0 && (flags & 0x80) == 0) {
            return "MQTT-3.1.2-22"; // 3.1.1 only: a password needs a user name (5.0 allows one alone)
        }
        return null;
    }

    private static Packet connect(int level, int flags, String clientId) {
        Packet p = new Packet(0x10).str("MQTT").u8(level).u8(flags).u16(60);
        if (level == 5) {
            p.props();
        }
        p.str(clientId);
        if ((flags & 0x04) != 0) {
            if (level == 5) {
                p.props();
            }
            p.str("w/t").bin("x");
        }
        if ((flags & 0x80) != 0) {
            p.str("u");
        }
        if ((flags & 0x40) != 0) {
            p.bin("p");
        }
        return p;
    }

    @Test
    void everyForbiddenConnectFlagCombinationIsRefusedAndEveryOtherAccepted() {
        int refused = 0;
        for (int level : new int[] {4, 5}) {
            for (int flags = 0; flags < 256; flags++) {
                String rule = forbiddenRule(level, flags);
                String what = "level " + level + " flags 0x" + Integer.toHexString(flags);
                try (RawMqttClient c = RawMqttClient.open(server.port()).speaking(version(level))) {
                    c.sendBytes(connect(level, flags, "f" + level + "x" + flags).render());
                    if (rule == null) {
                        MqttConnAckMessage ack = (MqttConnAckMessage) c.expect(MqttMessageType.CONNACK);
                        assertEquals(0, ack.variableHeader().connectReturnCode().byteValue(), what + ": " + ack);
                    } else {
                        refused++;
                        assertRefused(c, level, true, ReasonCode.MALFORMED_PACKET, rule, what);
                    }
                }
            }
        }
        assertTrue(refused > 200, "the table covers the forbidden half of the flag space: " + refused);
        serverStillServes();
    }

    // ---- lengths running past the packet ----

    /** A valid packet of each type a client sends, with every kind of length field it can hold. */
    private static List<Packet> packetsWithLengths(int level) {
        boolean v5 = level == 5;
        List<Packet> all = new ArrayList<>();
        Packet connect = new Packet(0x10).str("MQTT").u8(level).u8(0xC6).u16(60);
        if (v5) {
            connect.props(Property.USER_PROPERTY, Property.AUTHENTICATION_DATA);
        }
        connect.str("len-client");
        if (v5) {
            connect.props(Property.CONTENT_TYPE, Property.CORRELATION_DATA, Property.USER_PROPERTY);
        }
        all.add(connect.str("w/t").bin("will").str("user").bin("pass"));
        for (int qos = 0; qos <= 1; qos++) {
            Packet publish = new Packet(0x30 | qos << 1).str("t/len");
            if (qos > 0) {
                publish.u16(1);
            }
            if (v5) {
                publish.props(Property.RESPONSE_TOPIC, Property.CORRELATION_DATA, Property.CONTENT_TYPE,
                        Property.USER_PROPERTY);
            }
            all.add(publish.raw("payload"));
        }
        if (v5) {
            for (int header : new int[] {0x40, 0x50, 0x62, 0x70}) {
                all.add(new Packet(header).u16(1).u8(0).props(Property.REASON_STRING, Property.USER_PROPERTY));
            }
            all.add(new Packet(0xE0).u8(0).props(Property.REASON_STRING, Property.USER_PROPERTY));
            all.add(new Packet(0xF0).u8(0x18).props(Property.AUTHENTICATION_METHOD, Property.AUTHENTICATION_DATA,
                    Property.REASON_STRING, Property.USER_PROPERTY));
        }
        Packet subscribe = new Packet(0x82).u16(2);
        Packet unsubscribe = new Packet(0xA2).u16(3);
        if (v5) {
            subscribe.props(Property.USER_PROPERTY);
            unsubscribe.props(Property.USER_PROPERTY);
        }
        all.add(subscribe.str("t/a").u8(1).str("t/b").u8(0));
        all.add(unsubscribe.str("t/a").str("t/b"));
        return all;
    }

    @Test
    void everyLengthFieldClaimingPastItsPacketIsMalformedAtOnce() {
        int cases = 0;
        for (int level : new int[] {4, 5}) {
            for (Packet p : packetsWithLengths(level)) {
                boolean connect = p.header == 0x10;
                for (int k = 0; k < p.lengthFields(); k++) {
                    String what = "level " + level + " packet 0x" + Integer.toHexString(p.header) + " length field " + k;
                    try (RawMqttClient c = connect ? RawMqttClient.open(server.port()).speaking(version(level))
                            : RawMqttClient.connected(server.port(), version(level), "len" + level + "-" + cases, true)) {
                        // the broken packet, then a PINGREQ: its bytes must not be taken for the rest of the packet
                        int[] broken = p.renderOverrun(k);
                        int[] both = java.util.Arrays.copyOf(broken, broken.length + 2);
                        both[broken.length] = 0xC0;
                        c.sendBytes(both);
                        // a protocol name that runs past the packet leaves the version unknown: close, as for 3.1.1
                        boolean versionKnown = !(connect && k == 0);
                        assertRefused(c, versionKnown ? level : 4, connect, ReasonCode.MALFORMED_PACKET,
                                versionKnown ? "MQTT-2.1.4" : null, what);
                    }
                    cases++;
                }
            }
        }
        assertTrue(cases > 40, "every length field of every packet type: " + cases);
        serverStillServes();
    }

    @Test
    void aRemainingLengthOverTheMaximumPacketSizeIsRefusedBeforeItsBytesArrive() {
        for (int level : new int[] {4, 5}) {
            try (RawMqttClient c = RawMqttClient.connected(server.port(), version(level), "huge" + level, true)) {
                // a PUBLISH announcing 200 MB; only its fixed header is sent
                c.sendBytes(0x30, 0x80, 0x80, 0x80, 0x60);
                assertRefused(c, level, false, ReasonCode.PACKET_TOO_LARGE, "MQTT-3.2.2-15", "level " + level);
            }
        }
    }

    // ---- MQTT 5 properties ----

    private static final List<Carrier> CLIENT_CARRIERS = List.of(Carrier.CONNECT, Carrier.WILL, Carrier.PUBLISH,
            Carrier.PUBACK, Carrier.PUBREC, Carrier.PUBREL, Carrier.PUBCOMP, Carrier.SUBSCRIBE, Carrier.UNSUBSCRIBE,
            Carrier.DISCONNECT, Carrier.AUTH);

    /** A packet of {@code carrier} holding {@code props} (in order), otherwise valid. */
    private static Packet carrying(Carrier carrier, Property... props) {
        return switch (carrier) {
            case CONNECT -> new Packet(0x10).str("MQTT").u8(5).u8(0x02).u16(60).props(props).str("prop-client");
            case WILL -> new Packet(0x10).str("MQTT").u8(5).u8(0x06).u16(60).props().str("prop-client")
                    .props(props).str("w/t").bin("x");
            case PUBLISH -> new Packet(0x32).str("t/prop").u16(1).props(props).raw("x");
            case PUBACK -> new Packet(0x40).u16(1).u8(0).props(props);
            case PUBREC -> new Packet(0x50).u16(1).u8(0).props(props);
            case PUBREL -> new Packet(0x62).u16(1).u8(0).props(props);
            case PUBCOMP -> new Packet(0x70).u16(1).u8(0).props(props);
            case SUBSCRIBE -> new Packet(0x82).u16(1).props(props).str("t/s").u8(1);
            case UNSUBSCRIBE -> new Packet(0xA2).u16(1).props(props).str("t/s");
            case DISCONNECT -> new Packet(0xE0).u8(0).props(props);
            case AUTH -> new Packet(0xF0).u8(0x18).props(props);
            default -> throw new IllegalArgumentException(carrier.name());
        };
    }

    private void expectRefusal(Carrier carrier, ReasonCode reason, String rule, String what, Property... props) {
        boolean connect = carrier == Carrier.CONNECT || carrier == Carrier.WILL;
        try (RawMqttClient c = connect ? RawMqttClient.open(server.port()).speaking(MqttVersion.MQTT_5)
                : RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "props-" + carrier, true)) {
            c.sendBytes(carrying(carrier, props).render());
            assertRefused(c, 5, connect, reason, rule, what);
        }
    }

    @Test
    void everyPropertyAllowedOnceIsAProtocolErrorWhenRepeatedOnEveryPacketType() {
        int cases = 0;
        for (Carrier carrier : CLIENT_CARRIERS) {
            for (Property p : Property.values()) {
                if (!p.allowedOn(carrier) || p.repeatable()
                        || carrier == Carrier.PUBLISH && p == Property.SUBSCRIPTION_IDENTIFIER) {
                    continue;
                }
                expectRefusal(carrier, ReasonCode.PROTOCOL_ERROR, "MQTT-2.2.2", p + " twice on " + carrier, p, p);
                cases++;
            }
        }
        assertEquals(31, cases, "properties a client may send once, summed over its packet types");
        // the one property a client may repeat is accepted repeated
        try (RawMqttClient c = RawMqttClient.open(server.port()).speaking(MqttVersion.MQTT_5)) {
            c.sendBytes(carrying(Carrier.CONNECT, Property.USER_PROPERTY, Property.USER_PROPERTY).render());
            assertEquals(0, ((MqttConnAckMessage) c.expect(MqttMessageType.CONNACK)).variableHeader()
                    .connectReturnCode().byteValue());
        }
        serverStillServes();
    }

    @Test
    void everyPropertyOnAPacketTypeThatDoesNotCarryItIsMalformed() {
        int cases = 0;
        for (Carrier carrier : CLIENT_CARRIERS) {
            for (Property p : Property.values()) {
                if (!p.allowedOn(carrier)) {
                    expectRefusal(carrier, ReasonCode.MALFORMED_PACKET, "MQTT-2.2.2.2", p + " on " + carrier, p);
                    cases++;
                }
            }
        }
        assertTrue(cases > 200, "the table of section 2.2.2.2 inverted: " + cases);
        serverStillServes();
    }

    @Test
    void propertyValuesTheSpecCallsAProtocolErrorAreRefused() {
        expectRefusal(Carrier.PUBLISH, ReasonCode.PROTOCOL_ERROR, "MQTT-3.3.4-6",
                "Subscription Identifier on a client's PUBLISH", Property.SUBSCRIPTION_IDENTIFIER);
        try (RawMqttClient c = RawMqttClient.open(server.port()).speaking(MqttVersion.MQTT_5)) {
            // Receive Maximum 0 (3.1.2.11.3)
            c.sendBytes(new Packet(0x10).str("MQTT").u8(5).u8(0x02).u16(60).rawProps(0x21, 0, 0).str("rm0").render());
            assertRefused(c, 5, true, ReasonCode.PROTOCOL_ERROR, "MQTT-3.1.2.11", "Receive Maximum 0");
        }
        try (RawMqttClient c = RawMqttClient.open(server.port()).speaking(MqttVersion.MQTT_5)) {
            // Request Problem Information 2 (3.1.2.11.7)
            c.sendBytes(new Packet(0x10).str("MQTT").u8(5).u8(0x02).u16(60).rawProps(0x17, 2).str("rpi2").render());
            assertRefused(c, 5, true, ReasonCode.PROTOCOL_ERROR, "MQTT-3.1.2.11", "Request Problem Information 2");
        }
        try (RawMqttClient c = RawMqttClient.open(server.port()).speaking(MqttVersion.MQTT_5)) {
            c.sendBytes(new Packet(0x10).str("MQTT").u8(5).u8(0x02).u16(60).rawProps(0x7F, 0).str("unknown").render());
            assertRefused(c, 5, true, ReasonCode.MALFORMED_PACKET, "MQTT-2.2.2.2", "unknown property 0x7F");
        }
    }

    // ---- answers ----

    /**
     * MQTT 5: CONNACK (during CONNECT) or DISCONNECT with {@code reason}, whose reason string names {@code rule}
     * (null: no reason string expected, "" any), then the close. MQTT 3.1.1: the close, without any packet.
     */
    private static void assertRefused(RawMqttClient c, int level, boolean connect, ReasonCode reason, String rule,
                                      String what) {
        if (level == 5) {
            MqttMessage m = c.next(10_000);
            if (m == null) {
                fail(what + ": no answer within 10 s");
            }
            MqttProperties props;
            if (connect) {
                assertEquals(MqttMessageType.CONNACK, m.fixedHeader().messageType(), what + ": " + m);
                MqttConnAckMessage ack = (MqttConnAckMessage) m;
                assertEquals(reason.code(), ack.variableHeader().connectReturnCode().byteValue(), what + ": " + m);
                props = ack.variableHeader().properties();
            } else {
                assertEquals(MqttMessageType.DISCONNECT, m.fixedHeader().messageType(), what + ": " + m);
                MqttReasonCodeAndPropertiesVariableHeader h = (MqttReasonCodeAndPropertiesVariableHeader) m.variableHeader();
                assertEquals(reason.code(), h.reasonCode(), what + ": " + m);
                props = h.properties();
            }
            if (rule != null && !rule.isEmpty()) {
                MqttProperties.MqttProperty<?> rs = props.getProperty(0x1F);
                assertTrue(rs != null && String.valueOf(rs.value()).contains("[" + rule + "]"),
                        what + ": reason string should name [" + rule + "]: " + (rs == null ? null : rs.value()));
            }
            assertTrue(c.awaitClosed(10_000), what + ": not closed");
        } else {
            assertTrue(c.awaitClosed(10_000), what + ": not closed within 10 s");
            assertNull(c.next(1), what + ": MQTT 3.1.1 closes without a reply");
        }
    }

    private static void serverStillServes() {
        try (RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "after", true)) {
            c.send(MqttMessage.PINGREQ);
            c.expect(MqttMessageType.PINGRESP);
        }
    }

    private static MqttVersion version(int level) {
        return level == 5 ? MqttVersion.MQTT_5 : MqttVersion.MQTT_3_1_1;
    }

    // ---- packets written by hand: the point is to write what no encoder would ----

    /** A packet as fields; renders with correct lengths, or with its k-th length field claiming past the packet. */
    static final class Packet {
        private sealed interface Field permits Raw, Prefixed, Props {
        }

        private record Raw(byte[] bytes) implements Field {
        }

        /** Two-byte length, then the bytes (UTF-8 string, binary data). */
        private record Prefixed(byte[] bytes) implements Field {
        }

        /** Variable Byte Integer length, then properties (themselves fields). */
        private record Props(List<Field> fields) implements Field {
        }

        final int header;
        private final List<Field> fields = new ArrayList<>();

        Packet(int header) {
            this.header = header;
        }

        Packet u8(int v) {
            fields.add(new Raw(new byte[] {(byte) v}));
            return this;
        }

        Packet u16(int v) {
            fields.add(new Raw(new byte[] {(byte) (v >> 8), (byte) v}));
            return this;
        }

        Packet str(String s) {
            fields.add(new Prefixed(s.getBytes(StandardCharsets.UTF_8)));
            return this;
        }

        Packet bin(String s) {
            return str(s);
        }

        Packet raw(String s) {
            fields.add(new Raw(s.getBytes(StandardCharsets.UTF_8)));
            return this;
        }

        /** Properties with a valid sample value each. */
        Packet props(Property... props) {
            List<Field> list = new ArrayList<>();
            for (Property p : props) {
                list.add(new Raw(new byte[] {(byte) p.id()}));
                switch (p.type()) {
                    case BYTE -> list.add(new Raw(new byte[] {1}));
                    case TWO_BYTE_INTEGER -> list.add(new Raw(new byte[] {0, 5}));
                    case FOUR_BYTE_INTEGER -> list.add(new Raw(new byte[] {0, 0, 0, 100}));
                    case VARIABLE_BYTE_INTEGER -> list.add(new Raw(new byte[] {3}));
                    case UTF8_STRING -> list.add(new Prefixed("a".getBytes(StandardCharsets.UTF_8)));
                    case BINARY -> list.add(new Prefixed(new byte[] {1}));
                    case UTF8_PAIR -> {
                        list.add(new Prefixed("k".getBytes(StandardCharsets.UTF_8)));
                        list.add(new Prefixed("v".getBytes(StandardCharsets.UTF_8)));
                    }
                    default -> throw new IllegalStateException();
                }
            }
            fields.add(new Props(list));
            return this;
        }

        /** Properties given as raw bytes. */
        Packet rawProps(int... bytes) {
            byte[] b = new byte[bytes.length];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) bytes[i];
            }
            fields.add(new Props(List.of(new Raw(b))));
            return this;
        }

        int lengthFields() {
            return count(fields);
        }

        private static int count(List<Field> fields) {
            int n = 0;
            for (Field f : fields) {
                if (f instanceof Prefixed) {
                    n++;
                } else if (f instanceof Props p) {
                    n += 1 + count(p.fields());
                }
            }
            return n;
        }

        int[] render() {
            return withHeader(body(-1, -1));
        }

        /** Field k claims one byte more than the rest of the packet after its length prefix. */
        int[] renderOverrun(int k) {
            int[] positions = new int[lengthFields()];
            byte[] body = body(-1, -1, positions);
            return withHeader(body(k, body.length - positions[k] + 1));
        }

        private byte[] body(int k, int claim) {
            return body(k, claim, new int[lengthFields()]);
        }

        private byte[] body(int k, int claim, int[] positions) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            write(fields, out, k, claim, positions, new int[] {0});
            return out.toByteArray();
        }

        private static void write(List<Field> fields, ByteArrayOutputStream out, int k, int claim, int[] positions,
                                  int[] index) {
            for (Field f : fields) {
                if (f instanceof Raw r) {
                    out.writeBytes(r.bytes());
                } else if (f instanceof Prefixed p) {
                    int i = index[0]++;
                    int length = i == k ? claim : p.bytes().length;
                    out.write(length >> 8);
                    out.write(length);
                    positions[i] = out.size();
                    out.writeBytes(p.bytes());
                } else if (f instanceof Props props) {
                    int i = index[0]++;
                    ByteArrayOutputStream inner = new ByteArrayOutputStream();
                    int[] innerPositions = new int[positions.length];
                    write(props.fields(), inner, k, claim, innerPositions, index);
                    int length = i == k ? claim : inner.size();
                    byte[] varInt = varInt(length);
                    out.writeBytes(varInt);
                    int base = out.size();
                    positions[i] = base;
                    for (int j = i + 1; j < index[0]; j++) {
                        positions[j] = base + innerPositions[j];
                    }
                    out.writeBytes(inner.toByteArray());
                }
            }
        }

        private int[] withHeader(byte[] body) {
            byte[] length = varInt(body.length);
            int[] all = new int[1 + length.length + body.length];
            all[0] = header;
            for (int i = 0; i < length.length; i++) {
                all[1 + i] = length[i] & 0xFF;
            }
            for (int i = 0; i < body.length; i++) {
                all[1 + length.length + i] = body[i] & 0xFF;
            }
            return all;
        }

        private static byte[] varInt(int value) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            do {
                int b = value % 128;
                value /= 128;
                out.write(value > 0 ? b | 0x80 : b);
            } while (value > 0);
            return out.toByteArray();
        }
    }
}
