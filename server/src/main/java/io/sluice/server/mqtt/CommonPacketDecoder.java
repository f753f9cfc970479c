package io.sluice.server.mqtt;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageFactory;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Decodes, in one pass over a whole packet, the packets a connection sends most: PUBLISH without properties
 * (MQTT 5: an empty property section) and PUBACK, PUBREC, PUBREL and PUBCOMP with at most a reason code and an
 * empty property section. It makes the same message objects Netty's {@code MqttDecoder} makes of them (the same
 * classes, fixed headers, variable headers and a retained slice as payload), so the handlers after it cannot
 * tell the two apart; it skips Netty's replaying buffer and its topic decoding through a {@code CharsetDecoder}
 * over two {@code ByteBuffer} views, and keeps the last topic's String while its bytes repeat (a publisher
 * mostly publishes to one topic).
 *
 * <p>It declines (returns null) everything else and everything it is not sure of: any property, an empty topic,
 * a topic that is not well-formed UTF-8 [MQTT-1.5.3-1], holds U+0000 [MQTT-1.5.3-2] or a wildcard
 * [MQTT-3.3.2-2], packet identifier 0, flags other than the ones the packet type must carry. A declined packet
 * goes through {@link MqttPacketRules} and Netty's decoder as before, so every broken rule gets the answer it
 * always got; what this class accepts breaks none of them. Netty's decoder discards everything after a packet it
 * failed, which this one does not see: a common packet behind such a failure is still decoded, and then dropped
 * by {@link MqttProtocolGuard} once the failure has closed the connection (an acknowledgement the paused
 * {@code InboundGate} lets ahead of the failure is one the client did send).
 *
 * <p>One instance per connection, on its event loop: the topic cache is not shared.
 */
final class CommonPacketDecoder {
    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final MqttFixedHeader PUBACK = ack(MqttMessageType.PUBACK, MqttQoS.AT_MOST_ONCE);
    private static final MqttFixedHeader PUBREC = ack(MqttMessageType.PUBREC, MqttQoS.AT_MOST_ONCE);
    private static final MqttFixedHeader PUBREL = ack(MqttMessageType.PUBREL, MqttQoS.AT_LEAST_ONCE);
    private static final MqttFixedHeader PUBCOMP = ack(MqttMessageType.PUBCOMP, MqttQoS.AT_MOST_ONCE);

    /** The last topic decoded on this connection, as bytes and as the String made of them. */
    private byte[] topicBytes;
    private String topic;
    private CharsetDecoder utf8;

    private static MqttFixedHeader ack(MqttMessageType type, MqttQoS qos) {
        return new MqttFixedHeader(type, false, qos, false, 2);
    }

    /**
     * The message in the packet at {@code start} of {@code in} (whole and within the Maximum Packet Size: the
     * framer saw to both), or null to leave it to the full decoder. Moves no index; a PUBLISH's payload is a
     * retained slice of {@code in}.
     *
     * @param level the connection's protocol level (3, 4 or 5), known once its CONNECT passed
     */
    MqttMessage decode(ByteBuf in, int start, int headerBytes, int remaining, int level) {
        int first = in.getUnsignedByte(start);
        int at = start + headerBytes;
        return switch (first >> 4) {
            case MqttPacketRules.PUBLISH -> publish(in, first, at, remaining, level);
            case MqttPacketRules.PUBACK -> first == 0x40 ? ack(in, PUBACK, at, remaining, level) : null;
            case MqttPacketRules.PUBREC -> first == 0x50 ? ack(in, PUBREC, at, remaining, level) : null;
            case MqttPacketRules.PUBREL -> first == 0x62 ? ack(in, PUBREL, at, remaining, level) : null;
            case MqttPacketRules.PUBCOMP -> first == 0x70 ? ack(in, PUBCOMP, at, remaining, level) : null;
            default -> null;
        };
    }

    private MqttMessage publish(ByteBuf in, int first, int at, int remaining, int level) {
        int qos = (first >> 1) & 3;
        if (qos == 3 || remaining < 2) {
            return null;
        }
        int end = at + remaining;
        int topicLength = in.getUnsignedShort(at);
        int pos = at + 2 + topicLength;
        int fixed = (qos > 0 ? 2 : 0) + (level == 5 ? 1 : 0);
        if (topicLength == 0 || pos + fixed > end) {
            return null;
        }
        int packetId = -1;
        if (qos > 0) {
            packetId = in.getUnsignedShort(pos);
            if (packetId == 0) {
                return null;
            }
            pos += 2;
        }
        MqttProperties properties = MqttProperties.NO_PROPERTIES;
        if (level == 5) {
            if (in.getByte(pos) != 0) {
                return null;
            }
            pos++;
            properties = new MqttProperties(); // what Netty makes of an empty property section
        }
        String name = topic(in, at + 2, topicLength);
        if (name == null) {
            return null;
        }
        MqttFixedHeader header = new MqttFixedHeader(MqttMessageType.PUBLISH, (first & 0x08) != 0,
                MqttQoS.valueOf(qos), (first & 0x01) != 0, remaining);
        return MqttMessageFactory.newMessage(header, new MqttPublishVariableHeader(name, packetId, properties),
                in.retainedSlice(pos, end - pos));
    }

    /** Packet identifier; MQTT 5 also a reason code, or a reason code and an empty property section. */
    private static MqttMessage ack(ByteBuf in, MqttFixedHeader header, int at, int remaining, int level) {
        boolean plain = remaining == 2;
        boolean v5Reason = level == 5 && (remaining == 3 || remaining == 4 && in.getByte(at + 3) == 0);
        if (!plain && !v5Reason) {
            return null;
        }
        int packetId = in.getUnsignedShort(at);
        if (packetId == 0) {
            return null;
        }
        byte reason = remaining > 2 ? in.getByte(at + 2) : 0;
        MqttProperties properties = remaining == 4 ? new MqttProperties() : MqttProperties.NO_PROPERTIES;
        MqttFixedHeader h = remaining == 2 ? header
                : new MqttFixedHeader(header.messageType(), false, header.qosLevel(), false, remaining);
        return MqttMessageFactory.newMessage(h, new MqttPubReplyMessageVariableHeader(packetId, reason, properties),
                null);
    }

    /** The topic at {@code at}: the cached String while the bytes repeat, else decoded and checked; null if not valid. */
    private String topic(ByteBuf in, int at, int length) {
        if (sameBytes(in, at, length)) {
            return topic;
        }
        byte[] bytes = new byte[length];
        in.getBytes(at, bytes);
        String name = decode(bytes);
        if (name == null) {
            return null;
        }
        topicBytes = bytes;
        topic = name;
        return name;
    }

    private boolean sameBytes(ByteBuf in, int at, int length) {
        byte[] cached = topicBytes;
        if (cached == null || cached.length != length) {
            return false;
        }
        int i = 0;
        for (; i + 8 <= length; i += 8) {
            if (in.getLong(at + i) != (long) LONG_BE.get(cached, i)) {
                return false;
            }
        }
        for (; i < length; i++) {
            if (in.getByte(at + i) != cached[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * A topic name as Netty's strict decoder reads it, or null where it would fail or refuse it as a PUBLISH topic:
     * ill-formed UTF-8 (overlong forms, encoded surrogates, past U+10FFFF), U+0000, '+' or '#'.
     */
    private String decode(byte[] bytes) {
        boolean ascii = true;
        for (byte b : bytes) {
            if (b <= 0 || b == '+' || b == '#') {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            return new String(bytes, StandardCharsets.US_ASCII);
        }
        if (utf8 == null) {
            utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
        }
        String name;
        try {
            name = utf8.reset().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == 0 || c == '+' || c == '#') {
                return null;
            }
        }
        return name;
    }
}
