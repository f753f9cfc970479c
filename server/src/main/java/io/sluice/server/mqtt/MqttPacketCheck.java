package io.sluice.server.mqtt;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageFactory;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.AttributeKey;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.events.Rule;
import io.sluice.server.testkit.Probe;

import java.util.List;

/**
 * Cuts the byte stream into whole packets by their Remaining Length and holds each to {@link MqttPacketRules}
 * before Netty's {@code MqttDecoder} sees it, so a length field claiming more than its packet holds is answered
 * at once instead of reading into the next packet or waiting for bytes that belong to no packet, and the
 * CONNECT flag and MQTT 5 property rules Netty leaves unchecked are enforced. A packet over
 * {@code --max-packet-size} is refused as soon as its fixed header arrives, without buffering it.
 *
 * <p>The packets a connection sends most (PUBLISH and its acknowledgements, without properties) are decoded here
 * at once by {@link CommonPacketDecoder}, in the same pass that finds the packet's end, and go on as the message
 * objects Netty's decoder would have made; {@code MqttDecoder} passes them through untouched. Everything else,
 * and anything that decoder declines, is checked and handed to Netty's decoder as the whole packet's bytes.
 *
 * <p>A broken rule goes on as an invalid message whose cause is a {@link Violation}, so {@link MqttProtocolGuard}
 * answers it as it answers every decoding failure (MQTT 5: CONNACK or DISCONNECT with the rule's reason code;
 * 3.1.1: close), and the log line names the rule ({@code [MQTT-3.1.2-22] ...}). Nothing after it is read.
 */
final class MqttPacketCheck extends ByteToMessageDecoder {
    /** A packet that broke {@code violation}'s rule; {@code version} is known when it was the CONNECT. */
    static final class Violation extends DecoderException {
        final MqttPacketRules.Violation violation;
        final MqttVersion version;
        /** The violation as logs and reason strings give it: "[MQTT-3.1.2-22] ...", by the client's version. */
        final String description;

        Violation(MqttPacketRules.Violation violation, int level, MqttVersion version) {
            super(violation.describe(level), null);
            this.violation = violation;
            this.version = version;
            this.description = violation.describe(level);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this; // an answer to a client, not a bug: no stack trace
        }
    }

    /** The channel attribute where Netty's MQTT codec keeps the connection's version (MqttCodecUtil). */
    private static final AttributeKey<MqttVersion> NETTY_CODEC_VERSION = AttributeKey.valueOf("NETTY_CODEC_MQTT_VERSION");

    private final int maxPacketSize;
    /** Null: every packet goes to Netty's decoder (the tests compare both ways). */
    private final CommonPacketDecoder commonPackets;
    private int level;
    private boolean failed;

    MqttPacketCheck(int maxPacketSize) {
        this(maxPacketSize, true);
    }

    MqttPacketCheck(int maxPacketSize, boolean decodeCommonPackets) {
        this.maxPacketSize = maxPacketSize;
        this.commonPackets = decodeCommonPackets ? new CommonPacketDecoder() : null;
    }

    /**
     * One packet per call: {@code ByteToMessageDecoder} hands each packet on before it calls again, so the packet
     * strict mode quotes ({@link Probe#inbound}) is the one the handlers are working on.
     */
    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!failed && in.isReadable()) {
            int start = in.readerIndex();
            int remaining = 0;
            int headerBytes = 1;
            boolean complete = false;
            for (int i = 0; i < 4; i++) {
                if (start + headerBytes >= in.writerIndex()) {
                    return; // the Remaining Length is not all here yet
                }
                int b = in.getUnsignedByte(start + headerBytes++);
                remaining |= (b & 0x7F) << (7 * i);
                if ((b & 0x80) == 0) {
                    complete = true;
                    break;
                }
            }
            int type = in.getUnsignedByte(start) >> 4;
            if (!complete) {
                Probe.inbound(ctx.channel(), in, start, in.readableBytes());
                fail(in, out, type, 0, new MqttPacketRules.Violation(Rule.MQTT_MALFORMED_PACKET,
                        ReasonCode.MALFORMED_PACKET, "Remaining Length is longer than four bytes"), level, null);
                return;
            }
            long total = (long) headerBytes + remaining;
            if (total > maxPacketSize) {
                Probe.inbound(ctx.channel(), in, start, in.readableBytes());
                fail(in, out, type, remaining, new MqttPacketRules.Violation(Rule.MQTT_PACKET_TOO_LARGE,
                        ReasonCode.PACKET_TOO_LARGE, "a packet of " + total + " bytes exceeds the Maximum Packet Size "
                        + maxPacketSize), level, null);
                return;
            }
            if (in.readableBytes() < total) {
                return;
            }
            Probe.inbound(ctx.channel(), in, start, (int) total);
            if (level != 0 && commonPackets != null) {
                MqttMessage common = commonPackets.decode(in, start, headerBytes, remaining, level);
                if (common != null) {
                    in.skipBytes((int) total);
                    out.add(common);
                    return;
                }
            }
            ByteBuf packet = in.slice(start, (int) total);
            boolean connect = type == MqttMessageType.CONNECT.value() && level == 0;
            int packetLevel = connect ? MqttPacketRules.connectLevel(packet) : level;
            MqttPacketRules.Violation v = MqttPacketRules.check(packet, packetLevel);
            if (v != null) {
                MqttVersion version = null;
                if (connect && packetLevel != 0) {
                    version = MqttVersion.fromProtocolNameAndLevel(packetLevel == 3 ? "MQIsdp" : "MQTT", (byte) packetLevel);
                    // Netty's encoder writes the CONNACK for the version its decoder saw, and its decoder never saw this CONNECT
                    ctx.channel().attr(NETTY_CODEC_VERSION).set(version);
                }
                fail(in, out, type, remaining, v, connect ? packetLevel : level, version);
                return;
            }
            if (connect) {
                level = packetLevel;
            }
            out.add(in.readRetainedSlice((int) total));
        }
        if (failed) {
            in.skipBytes(in.readableBytes());
        }
    }

    private void fail(ByteBuf in, List<Object> out, int type, int remaining, MqttPacketRules.Violation v, int level,
                      MqttVersion version) {
        failed = true;
        in.skipBytes(in.readableBytes());
        MqttMessageType messageType = type >= 1 && type <= 15 ? MqttMessageType.valueOf(type) : null;
        MqttFixedHeader header = messageType == null ? null
                : new MqttFixedHeader(messageType, false, MqttQoS.AT_MOST_ONCE, false, remaining);
        out.add(MqttMessageFactory.newInvalidMessage(header, null, new Violation(v, level, version)));
    }
}
