package io.sluice.server.mqtt;

import io.netty.buffer.ByteBuf;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.events.Rule;

import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.Set;

/**
 * The structural rules of the packets a client sends (MQTT 3.1, 3.1.1 and 5.0) that Netty's decoder leaves
 * unchecked, checked on a whole packet (fixed header to the end of its Remaining Length) before it is decoded:
 * <ul>
 *   <li>every length inside a packet (strings, binary data, property lengths, property values) ends inside the
 *       packet, so a length that claims more is a malformed packet at once rather than a read into the next
 *       packet or a wait for bytes that belong to no packet (3.1.1 section 2.2.3, 5.0 section 2.1.4);</li>
 *   <li>the CONNECT flags combinations the specifications forbid (3.1.1 section 3.1.2.3 to 3.1.2.9, 5.0
 *       section 3.1.2.3 to 3.1.2.9);</li>
 *   <li>MQTT 5 properties: known identifiers only, only those the packet type carries, at most once except
 *       User Property (5.0 section 2.2.2.2 and each packet's property list), and the values the specification
 *       calls a Protocol Error.</li>
 * </ul>
 * Each {@link Violation} names its {@link Rule} (the specification's statement id, {@code [MQTT-3.1.2-22]}, or
 * its section where it numbers none) and the reason code MQTT 5 answers with (an MQTT 3.1.1 server closes the
 * connection instead, section 4.8). Pure: no I/O, the buffer's indexes are not moved.
 */
public final class MqttPacketRules {
    private MqttPacketRules() {
    }

    /** A broken rule, the MQTT 5 answer, and what was wrong. */
    public record Violation(Rule rule, ReasonCode reason, String detail) {
        /** "[rule id] detail" with the rule's id for the client's protocol level, the form logs and reason strings use. */
        public String describe(int level) {
            return "[" + rule.id(level) + "] " + detail;
        }
    }

    /** The protocol level of a CONNECT packet (3, 4 or 5), or 0 when the packet is not one Sluice speaks. */
    public static int connectLevel(ByteBuf packet) {
        Cursor c = new Cursor(packet, 5);
        try {
            c.fixedHeader();
            String name = c.string("protocol name");
            int level = c.u8("protocol level");
            return name.equals("MQTT") && (level == 4 || level == 5) || name.equals("MQIsdp") && level == 3 ? level : 0;
        } catch (Overrun e) {
            return 0;
        }
    }

    /**
     * Check one whole packet.
     *
     * @param level the connection's protocol level (3, 4, 5); ignored for CONNECT, which carries its own
     * @return the first rule the packet breaks, or null
     */
    public static Violation check(ByteBuf packet, int level) {
        int type = packet.getUnsignedByte(packet.readerIndex()) >> 4;
        if (type == CONNECT) {
            level = connectLevel(packet);
            if (level == 0) {
                return null; // an unknown protocol name or level: the CONNECT handler answers it (return code 1 / 0x84)
            }
        }
        Cursor c = new Cursor(packet, level);
        try {
            int flags = c.fixedHeader();
            return switch (type) {
                case CONNECT -> connect(c);
                case PUBLISH -> publish(c, flags);
                case PUBACK, PUBREC, PUBREL, PUBCOMP -> ack(c, type);
                case SUBSCRIBE -> subscribe(c, true);
                case UNSUBSCRIBE -> subscribe(c, false);
                case DISCONNECT, AUTH -> reasonAndProperties(c, type);
                default -> null; // PINGREQ has no body; server-only and reserved types are the packet guard's
            };
        } catch (Overrun e) {
            return new Violation(Rule.MQTT_LENGTH_PAST_PACKET, ReasonCode.MALFORMED_PACKET,
                    name(type) + " " + e.getMessage());
        } catch (Broken e) {
            return e.violation;
        }
    }

    private static Violation connect(Cursor c) {
        boolean v5 = c.level == 5;
        c.string("protocol name");
        c.u8("protocol level");
        int flags = c.u8("connect flags");
        c.u16("keep alive");
        boolean will = (flags & 0x04) != 0;
        int willQos = (flags >> 3) & 3;
        boolean willRetain = (flags & 0x20) != 0;
        boolean password = (flags & 0x40) != 0;
        boolean userName = (flags & 0x80) != 0;
        if (c.level >= 4 && (flags & 0x01) != 0) {
            return flag(Rule.MQTT_CONNECT_RESERVED_FLAG, "the reserved CONNECT flag (bit 0) is 1");
        }
        if (!will && willQos != 0) {
            return flag(Rule.MQTT_WILL_QOS_WITHOUT_WILL, "Will QoS " + willQos + " with Will Flag 0");
        }
        if (!will && willRetain) {
            return flag(Rule.MQTT_WILL_RETAIN_WITHOUT_WILL, "Will Retain 1 with Will Flag 0");
        }
        if (will && willQos == 3) {
            return flag(Rule.MQTT_WILL_QOS_3, "Will QoS 3");
        }
        if (c.level == 4 && password && !userName) {
            return flag(Rule.MQTT_PASSWORD_WITHOUT_USER_NAME, "Password Flag 1 with User Name Flag 0");
        }
        if (v5) {
            c.properties(Carrier.CONNECT);
        }
        c.string("client identifier");
        if (will) {
            if (v5) {
                c.properties(Carrier.WILL);
            }
            c.string("will topic");
            c.binary("will payload");
        }
        if (userName) {
            c.string("user name");
        }
        if (password) {
            c.binary("password");
        }
        if (c.remaining() > 0) {
            Rule rule = password ? Rule.MQTT_LENGTH_PAST_PACKET : Rule.MQTT_CONNECT_FIELD_WITHOUT_FLAG;
            return new Violation(rule, ReasonCode.MALFORMED_PACKET,
                    "CONNECT has " + c.remaining() + " bytes after its last field (no Password Flag, or more than the flags announce)");
        }
        return null;
    }

    private static Violation flag(Rule rule, String detail) {
        return new Violation(rule, ReasonCode.MALFORMED_PACKET, "CONNECT flags: " + detail);
    }

    private static Violation publish(Cursor c, int flags) {
        int qos = (flags >> 1) & 3;
        if (qos == 3) {
            return new Violation(Rule.MQTT_PUBLISH_QOS_3, ReasonCode.MALFORMED_PACKET, "PUBLISH with both QoS bits set");
        }
        c.skipString("topic name"); // every message passes here: its length is checked, Netty's decoder reads it
        if (qos > 0) {
            c.u16("packet identifier");
        }
        if (c.level == 5) {
            c.properties(Carrier.PUBLISH);
        }
        return null; // the payload is the rest, with no length of its own
    }

    private static Violation ack(Cursor c, int type) {
        c.u16("packet identifier");
        if (c.level == 5) {
            if (c.remaining() > 0) {
                c.u8("reason code");
            }
            if (c.remaining() > 0) {
                c.properties(Carrier.of(type));
            }
        }
        return trailing(c, type);
    }

    private static Violation subscribe(Cursor c, boolean subscribe) {
        int type = subscribe ? SUBSCRIBE : UNSUBSCRIBE;
        c.u16("packet identifier");
        if (c.level == 5) {
            c.properties(Carrier.of(type));
        }
        int filters = 0;
        while (c.remaining() > 0) {
            c.string("topic filter");
            if (subscribe) {
                c.u8("subscription options");
            }
            filters++;
        }
        if (filters == 0) {
            Rule rule = subscribe ? Rule.MQTT_SUBSCRIBE_EMPTY : Rule.MQTT_UNSUBSCRIBE_EMPTY;
            return new Violation(rule, ReasonCode.PROTOCOL_ERROR, name(type) + " without a topic filter");
        }
        return null;
    }

    private static Violation reasonAndProperties(Cursor c, int type) {
        if (c.level == 5) {
            if (c.remaining() > 0) {
                c.u8("reason code");
            }
            if (c.remaining() > 0) {
                c.properties(Carrier.of(type));
            }
        }
        return trailing(c, type);
    }

    private static Violation trailing(Cursor c, int type) {
        if (c.remaining() > 0) {
            return new Violation(Rule.MQTT_LENGTH_PAST_PACKET, ReasonCode.MALFORMED_PACKET,
                    name(type) + " has " + c.remaining() + " bytes after its last field");
        }
        return null;
    }

    // ---- packet types and properties (MQTT 5 section 2.1.2, table 2-4 of section 2.2.2.2) ----

    static final int CONNECT = 1;
    static final int PUBLISH = 3;
    static final int PUBACK = 4;
    static final int PUBREC = 5;
    static final int PUBREL = 6;
    static final int PUBCOMP = 7;
    static final int SUBSCRIBE = 8;
    static final int UNSUBSCRIBE = 10;
    static final int DISCONNECT = 14;
    static final int AUTH = 15;

    private static final String[] NAMES = {"reserved", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL",
        "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"};

    static String name(int type) {
        return NAMES[type];
    }

    /** What a property list belongs to: a packet type, or a CONNECT's will. */
    public enum Carrier {
        CONNECT, WILL, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK,
        DISCONNECT, AUTH;

        static Carrier of(int type) {
            return valueOf(MqttPacketRules.name(type));
        }

        String label() {
            return this == WILL ? "CONNECT will" : name();
        }
    }

    /** How a property value is encoded (MQTT 5 section 1.5). */
    public enum Type { BYTE, TWO_BYTE_INTEGER, FOUR_BYTE_INTEGER, VARIABLE_BYTE_INTEGER, UTF8_STRING, BINARY, UTF8_PAIR }

    /** Every MQTT 5 property: identifier, name, type and the packets that may carry it. */
    public enum Property {
        PAYLOAD_FORMAT_INDICATOR(0x01, "Payload Format Indicator", Type.BYTE, Carrier.PUBLISH, Carrier.WILL),
        MESSAGE_EXPIRY_INTERVAL(0x02, "Message Expiry Interval", Type.FOUR_BYTE_INTEGER, Carrier.PUBLISH, Carrier.WILL),
        CONTENT_TYPE(0x03, "Content Type", Type.UTF8_STRING, Carrier.PUBLISH, Carrier.WILL),
        RESPONSE_TOPIC(0x08, "Response Topic", Type.UTF8_STRING, Carrier.PUBLISH, Carrier.WILL),
        CORRELATION_DATA(0x09, "Correlation Data", Type.BINARY, Carrier.PUBLISH, Carrier.WILL),
        SUBSCRIPTION_IDENTIFIER(0x0B, "Subscription Identifier", Type.VARIABLE_BYTE_INTEGER, Carrier.PUBLISH,
                Carrier.SUBSCRIBE),
        SESSION_EXPIRY_INTERVAL(0x11, "Session Expiry Interval", Type.FOUR_BYTE_INTEGER, Carrier.CONNECT,
                Carrier.CONNACK, Carrier.DISCONNECT),
        ASSIGNED_CLIENT_IDENTIFIER(0x12, "Assigned Client Identifier", Type.UTF8_STRING, Carrier.CONNACK),
        SERVER_KEEP_ALIVE(0x13, "Server Keep Alive", Type.TWO_BYTE_INTEGER, Carrier.CONNACK),
        AUTHENTICATION_METHOD(0x15, "Authentication Method", Type.UTF8_STRING, Carrier.CONNECT, Carrier.CONNACK,
                Carrier.AUTH),
        AUTHENTICATION_DATA(0x16, "Authentication Data", Type.BINARY, Carrier.CONNECT, Carrier.CONNACK, Carrier.AUTH),
        REQUEST_PROBLEM_INFORMATION(0x17, "Request Problem Information", Type.BYTE, Carrier.CONNECT),
        WILL_DELAY_INTERVAL(0x18, "Will Delay Interval", Type.FOUR_BYTE_INTEGER, Carrier.WILL),
        REQUEST_RESPONSE_INFORMATION(0x19, "Request Response Information", Type.BYTE, Carrier.CONNECT),
        RESPONSE_INFORMATION(0x1A, "Response Information", Type.UTF8_STRING, Carrier.CONNACK),
        SERVER_REFERENCE(0x1C, "Server Reference", Type.UTF8_STRING, Carrier.CONNACK, Carrier.DISCONNECT),
        REASON_STRING(0x1F, "Reason String", Type.UTF8_STRING, Carrier.CONNACK, Carrier.PUBACK, Carrier.PUBREC,
                Carrier.PUBREL, Carrier.PUBCOMP, Carrier.SUBACK, Carrier.UNSUBACK, Carrier.DISCONNECT, Carrier.AUTH),
        RECEIVE_MAXIMUM(0x21, "Receive Maximum", Type.TWO_BYTE_INTEGER, Carrier.CONNECT, Carrier.CONNACK),
        TOPIC_ALIAS_MAXIMUM(0x22, "Topic Alias Maximum", Type.TWO_BYTE_INTEGER, Carrier.CONNECT, Carrier.CONNACK),
        TOPIC_ALIAS(0x23, "Topic Alias", Type.TWO_BYTE_INTEGER, Carrier.PUBLISH),
        MAXIMUM_QOS(0x24, "Maximum QoS", Type.BYTE, Carrier.CONNACK),
        RETAIN_AVAILABLE(0x25, "Retain Available", Type.BYTE, Carrier.CONNACK),
        USER_PROPERTY(0x26, "User Property", Type.UTF8_PAIR, Carrier.values()),
        MAXIMUM_PACKET_SIZE(0x27, "Maximum Packet Size", Type.FOUR_BYTE_INTEGER, Carrier.CONNECT, Carrier.CONNACK),
        WILDCARD_SUBSCRIPTION_AVAILABLE(0x28, "Wildcard Subscription Available", Type.BYTE, Carrier.CONNACK),
        SUBSCRIPTION_IDENTIFIER_AVAILABLE(0x29, "Subscription Identifier Available", Type.BYTE, Carrier.CONNACK),
        SHARED_SUBSCRIPTION_AVAILABLE(0x2A, "Shared Subscription Available", Type.BYTE, Carrier.CONNACK);

        private static final Property[] BY_ID = new Property[0x2B];

        static {
            for (Property p : values()) {
                BY_ID[p.id] = p;
            }
        }

        private final int id;
        private final String label;
        private final Type type;
        private final Set<Carrier> carriers;

        Property(int id, String label, Type type, Carrier... carriers) {
            this.id = id;
            this.label = label;
            this.type = type;
            this.carriers = EnumSet.copyOf(Set.of(carriers));
        }

        public int id() {
            return id;
        }

        public Type type() {
            return type;
        }

        /** Whether a property list of {@code carrier} may hold it (MQTT 5 section 2.2.2.2, table 2-4). */
        public boolean allowedOn(Carrier carrier) {
            return carriers.contains(carrier);
        }

        /** Only User Property may appear more than once in what a client sends (and Subscription Identifier in what a server sends). */
        public boolean repeatable() {
            return this == USER_PROPERTY;
        }

        static Property of(int id) {
            return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
        }

        @Override
        public String toString() {
            return label + String.format(" (0x%02X)", id);
        }
    }

    // ---- reading within bounds ----

    /** A length running past its bound; the message says which field. Stackless: it is an answer, not a bug. */
    private static final class Overrun extends RuntimeException {
        Overrun(String message) {
            super(message, null, false, false);
        }
    }

    private static final class Broken extends RuntimeException {
        final Violation violation;

        Broken(Violation violation) {
            super(violation.detail(), null, false, false);
            this.violation = violation;
        }
    }

    /** Reads a packet by absolute index, never past {@code end}: the end of the packet or of a property list. */
    private static final class Cursor {
        final ByteBuf buf;
        final int level;
        int pos;
        int end;
        boolean inProperties;

        Cursor(ByteBuf buf, int level) {
            this.buf = buf;
            this.level = level;
            this.pos = buf.readerIndex();
            this.end = buf.writerIndex();
        }

        /** Reads the fixed header, bounds the cursor to the Remaining Length, returns the flags nibble. */
        int fixedHeader() {
            int flags = u8("fixed header") & 0x0F;
            int remaining = varInt("remaining length");
            if (remaining > end - pos) {
                throw new Overrun("is shorter than its Remaining Length " + remaining);
            }
            end = pos + remaining;
            return flags;
        }

        int remaining() {
            return end - pos;
        }

        private void need(int n, String field) {
            if (n > end - pos) {
                throw new Overrun(field + " needs " + n + " bytes, " + (end - pos) + " left in the packet");
            }
        }

        /** Two bytes, the length of {@code field}; its name is made only for the error (every PUBLISH passes here). */
        private int length(String field) {
            if (2 > end - pos) {
                need(2, field + " length");
            }
            int v = buf.getUnsignedShort(pos);
            pos += 2;
            return v;
        }

        int u8(String field) {
            need(1, field);
            return buf.getUnsignedByte(pos++);
        }

        int u16(String field) {
            need(2, field);
            int v = buf.getUnsignedShort(pos);
            pos += 2;
            return v;
        }

        long u32(String field) {
            need(4, field);
            long v = buf.getUnsignedInt(pos);
            pos += 4;
            return v;
        }

        /** MQTT 5 section 1.5.5: at most four bytes. */
        int varInt(String field) {
            int value = 0;
            for (int i = 0; i < 4; i++) {
                int b = u8(field);
                value |= (b & 0x7F) << (7 * i);
                if ((b & 0x80) == 0) {
                    return value;
                }
            }
            throw new Overrun(field + " is a Variable Byte Integer longer than four bytes");
        }

        /** Two-byte length, then that many bytes, all inside the bound. */
        int lengthPrefixed(String field) {
            int length = length(field);
            if (length > end - pos) {
                throw new Overrun(field + " length " + length + " runs past the end of the "
                        + (inProperties ? "property list" : "packet") + " (" + (end - pos) + " bytes left)");
            }
            int start = pos;
            pos += length;
            return start;
        }

        String string(String field) {
            int start = lengthPrefixed(field);
            return buf.toString(start, pos - start, StandardCharsets.UTF_8);
        }

        /** A length-prefixed string that must fit in the packet, passed over without making a String of it. */
        void skipString(String field) {
            lengthPrefixed(field);
        }

        void binary(String field) {
            lengthPrefixed(field);
        }

        /** A property length and the properties of {@code carrier} (MQTT 5 section 2.2.2). */
        void properties(Carrier carrier) {
            String where = carrier.label() + " properties";
            int length = varInt(where + " length");
            if (length > end - pos) {
                throw new Overrun(where + " length " + length + " runs past the end of the packet ("
                        + (end - pos) + " bytes left)");
            }
            int packetEnd = end;
            end = pos + length;
            inProperties = true;
            long seen = 0;
            while (pos < end) {
                int id = varInt("property identifier");
                Property p = Property.of(id);
                if (p == null) {
                    throw broken(Rule.MQTT_PROPERTY_INVALID, ReasonCode.MALFORMED_PACKET,
                            String.format("unknown property identifier 0x%02X in %s", id, where));
                }
                if (!p.allowedOn(carrier)) {
                    throw broken(Rule.MQTT_PROPERTY_INVALID, ReasonCode.MALFORMED_PACKET,
                            p + " is not a property of " + carrier.label());
                }
                if (!p.repeatable() && (seen & (1L << id)) != 0) {
                    throw broken(Rule.MQTT_PROPERTY_REPEATED, ReasonCode.PROTOCOL_ERROR,
                            p + " appears more than once in " + where);
                }
                seen |= 1L << id;
                value(p, carrier);
            }
            end = packetEnd;
            inProperties = false;
        }

        private void value(Property p, Carrier carrier) {
            String field = p.label;
            switch (p.type) {
                case BYTE -> {
                    int v = u8(field);
                    if ((p == Property.REQUEST_PROBLEM_INFORMATION || p == Property.REQUEST_RESPONSE_INFORMATION) && v > 1) {
                        throw broken(Rule.MQTT_CONNECT_PROPERTY_VALUE, ReasonCode.PROTOCOL_ERROR, p + " is " + v + " (0 or 1 only)");
                    }
                }
                case TWO_BYTE_INTEGER -> {
                    int v = u16(field);
                    if (v == 0 && p == Property.RECEIVE_MAXIMUM) {
                        throw broken(Rule.MQTT_CONNECT_PROPERTY_VALUE, ReasonCode.PROTOCOL_ERROR, p + " is 0");
                    }
                }
                case FOUR_BYTE_INTEGER -> {
                    long v = u32(field);
                    if (v == 0 && p == Property.MAXIMUM_PACKET_SIZE) {
                        throw broken(Rule.MQTT_CONNECT_PROPERTY_VALUE, ReasonCode.PROTOCOL_ERROR, p + " is 0");
                    }
                }
                case VARIABLE_BYTE_INTEGER -> {
                    int v = varInt(field);
                    if (p == Property.SUBSCRIPTION_IDENTIFIER && carrier == Carrier.PUBLISH) {
                        throw broken(Rule.MQTT_PUBLISH_SUBSCRIPTION_IDENTIFIER, ReasonCode.PROTOCOL_ERROR,
                                "a PUBLISH from a client carries a Subscription Identifier");
                    }
                    if (p == Property.SUBSCRIPTION_IDENTIFIER && v == 0) {
                        throw broken(Rule.MQTT_SUBSCRIPTION_IDENTIFIER, ReasonCode.PROTOCOL_ERROR, p + " is 0");
                    }
                }
                case UTF8_STRING, BINARY -> lengthPrefixed(field);
                case UTF8_PAIR -> {
                    lengthPrefixed(field + " name");
                    lengthPrefixed(field + " value");
                }
                default -> throw new IllegalStateException(p.type.name());
            }
        }

        private static Broken broken(Rule rule, ReasonCode reason, String detail) {
            return new Broken(new Violation(rule, reason, detail));
        }
    }
}
