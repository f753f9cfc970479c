package io.sluice.server.mqtt;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.sluice.protocol.mqtt.PacketSize;

import java.util.function.BooleanSupplier;

/**
 * Outbound PUBLISH packets without properties (every MQTT 3.1 and 3.1.1 one, and MQTT 5 ones with an empty
 * property section, the common case) as one pooled buffer that leaves {@code headroom} bytes in front of the
 * packet: over WebSocket, {@link io.sluice.protocol.ws.FramePayloadCodec} writes the frame header there instead of
 * copying the packet into a second buffer behind it. The write skips Netty's codec objects on the way (no
 * intermediate frame or output list per delivery); every other packet, and a PUBLISH with properties, goes on to
 * Netty's {@code MqttEncoder}, which encodes the same bytes (MQTT 5 section 3.3, MQTT 3.1.1 section 3.3).
 * The acknowledgements of a QoS 1 or 2 flow (PUBACK, PUBREC, PUBREL, PUBCOMP) that carry only their packet id
 * (every MQTT 3.1.1 one; MQTT 5 ones with reason code 0x00 and no properties, which section 3.4.2.1 lets go
 * without the reason code) take the same one-buffer road: they are the other packet of every QoS 1 message.
 */
public final class MqttPublishEncoder extends ChannelOutboundHandlerAdapter {
    private final BooleanSupplier v5;
    private final int headroom;

    /**
     * @param v5       whether the connection speaks MQTT 5 (known once its CONNECT is read, before any PUBLISH goes out)
     * @param headroom bytes left free in front of each packet for the transport's frame header
     */
    public MqttPublishEncoder(BooleanSupplier v5, int headroom) {
        this.v5 = v5;
        this.headroom = headroom;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof MqttPublishMessage p)) {
            int packetId = msg instanceof MqttMessage m ? idOnlyAcknowledgement(m, v5.getAsBoolean()) : -1;
            if (packetId < 0) {
                ctx.write(msg, promise);
                return;
            }
            MqttFixedHeader h = ((MqttMessage) msg).fixedHeader();
            ByteBuf buf = ctx.alloc().ioBuffer(headroom + 4);
            buf.writerIndex(headroom);
            buf.readerIndex(headroom);
            buf.writeByte(h.messageType().value() << 4 | (h.isDup() ? 0x08 : 0) | h.qosLevel().value() << 1
                    | (h.isRetain() ? 0x01 : 0));
            buf.writeByte(2);
            buf.writeShort(packetId);
            ctx.write(buf, promise);
            return;
        }
        MqttProperties props = p.variableHeader().properties();
        boolean v5 = this.v5.getAsBoolean();
        if (v5 && props != null && !props.isEmpty()) {
            ctx.write(msg, promise);
            return;
        }
        ByteBuf out;
        try {
            out = encode(ctx, p, v5);
        } finally {
            p.release();
        }
        ctx.write(out, promise);
    }

    /**
     * The packet id of a PUBACK, PUBREC, PUBREL or PUBCOMP that is its packet id alone on the wire (MQTT 3.1.1
     * section 3.4; MQTT 5 section 3.4.2.1: reason code 0x00 without properties may be left out), else -1.
     */
    static int idOnlyAcknowledgement(MqttMessage m, boolean v5) {
        MqttMessageType type = m.fixedHeader().messageType();
        if (type != MqttMessageType.PUBACK && type != MqttMessageType.PUBREC && type != MqttMessageType.PUBREL
                && type != MqttMessageType.PUBCOMP) {
            return -1;
        }
        Object v = m.variableHeader();
        if (v instanceof MqttPubReplyMessageVariableHeader r) {
            boolean bare = !v5 || (r.reasonCode() == MqttPubReplyMessageVariableHeader.REASON_CODE_OK
                    && r.properties().isEmpty());
            return bare ? r.messageId() : -1;
        }
        return v instanceof MqttMessageIdVariableHeader id ? id.messageId() : -1;
    }

    private ByteBuf encode(ChannelHandlerContext ctx, MqttPublishMessage p, boolean v5) {
        MqttFixedHeader h = p.fixedHeader();
        MqttPublishVariableHeader v = p.variableHeader();
        ByteBuf payload = p.payload();
        String topic = v.topicName();
        int topicBytes = ByteBufUtil.utf8Bytes(topic);
        int qos = h.qosLevel().value();
        ByteBuf buf = ctx.alloc().ioBuffer(headroom + size(topicBytes, qos, v5, payload.readableBytes()));
        buf.writerIndex(headroom);
        buf.readerIndex(headroom);
        writeHeader(buf, h.isDup(), qos, h.isRetain(), topic, topicBytes, v.packetId(), v5, payload.readableBytes());
        buf.writeBytes(payload, payload.readerIndex(), payload.readableBytes());
        return buf;
    }

    /**
     * The bytes of a PUBLISH without properties: fixed header, topic, packet id (QoS 1 and 2) and, for MQTT 5, an
     * empty property section, then the payload.
     */
    static int size(int topicBytes, int qos, boolean v5, int payloadBytes) {
        return PacketSize.packet(remaining(topicBytes, qos, v5, payloadBytes));
    }

    private static int remaining(int topicBytes, int qos, boolean v5, int payloadBytes) {
        return 2 + topicBytes + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payloadBytes;
    }

    /**
     * Write a PUBLISH without properties up to its payload, which the caller writes next ({@code payloadBytes}
     * of it): the one encoding of such a packet, for this handler and for deliveries encoded back to back.
     */
    static void writeHeader(ByteBuf buf, boolean dup, int qos, boolean retain, String topic, int topicBytes,
                            int packetId, boolean v5, int payloadBytes) {
        buf.writeByte(0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0));
        writeVarInt(buf, remaining(topicBytes, qos, v5, payloadBytes));
        buf.writeShort(topicBytes);
        ByteBufUtil.reserveAndWriteUtf8(buf, topic, topicBytes);
        if (qos > 0) {
            buf.writeShort(packetId);
        }
        if (v5) {
            buf.writeByte(0); // property length: none
        }
    }

    /** A Variable Byte Integer (MQTT 5 section 1.5.5, MQTT 3.1.1 section 2.2.3). */
    private static void writeVarInt(ByteBuf buf, int value) {
        do {
            int digit = value & 0x7F;
            value >>>= 7;
            buf.writeByte(value > 0 ? digit | 0x80 : digit);
        } while (value > 0);
    }
}
