package io.sluice.server.mqtt;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.extensions.compression.PerMessageDeflateServerExtensionHandshaker;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionData;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.protocol.ws.FramePayloadCodec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The one-buffer PUBLISH (and its WebSocket frame header written in place) is byte for byte what Netty's MQTT
 * encoder and frame encoder write, for every flag combination, both protocol levels, and the payload lengths at
 * which a frame header changes size (RFC 6455 section 5.2: 7-bit, 16-bit and 64-bit lengths).
 */
class MqttPublishEncoderTest {
    private static final int[] PAYLOADS = {0, 1, 100, 104, 105, 120, 121, 65_000, 65_510, 65_511, 70_000};
    private static final String[] TOPICS = {"a", "sensors/k1/temp", "gr\u00fc\u00dfe/\u6e29\u5ea6/\uD83D\uDE00"};

    /** A channel that has read a CONNECT of this level, so Netty's encoder knows it, as on a real connection. */
    private static EmbeddedChannel channel(boolean v5, ChannelHandler... outbound) {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.pipeline().addLast(new MqttDecoder());
        for (ChannelHandler h : outbound) {
            ch.pipeline().addLast(h);
        }
        EmbeddedChannel enc = new EmbeddedChannel(MqttEncoder.INSTANCE);
        enc.writeOutbound(MqttMessageBuilders.connect().clientId("c")
                .protocolVersion(v5 ? MqttVersion.MQTT_5 : MqttVersion.MQTT_3_1_1).build());
        ch.writeInbound((ByteBuf) enc.readOutbound());
        Object connect = ch.readInbound();
        io.netty.util.ReferenceCountUtil.release(connect);
        enc.finishAndReleaseAll();
        return ch;
    }

    /** Frame objects met by {@link #write} (framed here rather than in place). */
    private int frameObjects;

    private byte[] write(EmbeddedChannel ch, MqttMessage m) {
        ch.writeOutbound(m);
        ByteBuf all = Unpooled.buffer();
        Object o;
        while ((o = ch.readOutbound()) != null) {
            if (o instanceof ByteBuf b) {
                all.writeBytes(b);
                b.release();
            } else {
                // a frame object: encode it as the wire would
                frameObjects++;
                EmbeddedChannel framer = new EmbeddedChannel(new WebSocket13FrameEncoder(false));
                framer.writeOutbound(o);
                ByteBuf b = framer.readOutbound();
                all.writeBytes(b);
                b.release();
                framer.finishAndReleaseAll();
            }
        }
        byte[] bytes = ByteBufUtil.getBytes(all);
        all.release();
        return bytes;
    }

    private static MqttPublishMessage publish(String topic, int qos, boolean dup, boolean retain, byte[] payload) {
        return new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, dup, MqttQoS.valueOf(qos), retain, 0),
                new MqttPublishVariableHeader(topic, qos == 0 ? 0 : 4711, MqttProperties.NO_PROPERTIES),
                Unpooled.wrappedBuffer(payload));
    }

    private static List<Object[]> cases() {
        List<Object[]> all = new ArrayList<>();
        for (int payload : PAYLOADS) {
            for (String topic : TOPICS) {
                for (int qos = 0; qos <= 2; qos++) {
                    for (int flags = 0; flags < 4; flags++) {
                        all.add(new Object[] {topic, qos, (flags & 1) != 0, (flags & 2) != 0, payload});
                    }
                }
            }
        }
        return all;
    }

    @Test
    void overWebSocketTheOneBufferFrameIsWhatNettysEncodersWrite() {
        for (boolean v5 : new boolean[] {false, true}) {
            EmbeddedChannel netty = channel(v5, new WebSocket13FrameEncoder(false), new FramePayloadCodec(false),
                    MqttEncoder.INSTANCE);
            // no frame encoder behind ours: a frame it did not write in place would come out as a frame object
            EmbeddedChannel ours = channel(v5, new FramePayloadCodec(false),
                    MqttEncoder.INSTANCE, new MqttPublishEncoder(() -> v5, FramePayloadCodec.HEADROOM));
            for (Object[] c : cases()) {
                byte[] payload = new byte[(int) c[4]];
                java.util.Arrays.fill(payload, (byte) 7);
                byte[] expected = write(netty, publish((String) c[0], (int) c[1], (boolean) c[2], (boolean) c[3], payload));
                frameObjects = 0;
                byte[] actual = write(ours, publish((String) c[0], (int) c[1], (boolean) c[2], (boolean) c[3], payload));
                assertEquals(0, frameObjects, "framed in place: " + java.util.Arrays.toString(c));
                assertEquals(ByteBufUtil.hexDump(expected), ByteBufUtil.hexDump(actual),
                        "v5=" + v5 + " " + java.util.Arrays.toString(c));
            }
            netty.finishAndReleaseAll();
            ours.finishAndReleaseAll();
        }
    }

    @Test
    void overTcpThePacketIsWhatNettysEncoderWrites() {
        for (boolean v5 : new boolean[] {false, true}) {
            EmbeddedChannel netty = channel(v5, MqttEncoder.INSTANCE);
            EmbeddedChannel ours = channel(v5, MqttEncoder.INSTANCE, new MqttPublishEncoder(() -> v5, 0));
            for (Object[] c : cases()) {
                byte[] payload = new byte[(int) c[4]];
                byte[] expected = write(netty, publish((String) c[0], (int) c[1], (boolean) c[2], (boolean) c[3], payload));
                byte[] actual = write(ours, publish((String) c[0], (int) c[1], (boolean) c[2], (boolean) c[3], payload));
                assertEquals(ByteBufUtil.hexDump(expected), ByteBufUtil.hexDump(actual),
                        "v5=" + v5 + " " + java.util.Arrays.toString(c));
            }
            netty.finishAndReleaseAll();
            ours.finishAndReleaseAll();
        }
    }

    /** A PUBLISH with properties is Netty's to encode, and the frame is still right. */
    @Test
    void aPublishWithPropertiesGoesToNettysEncoder() {
        EmbeddedChannel netty = channel(true, new WebSocket13FrameEncoder(false), new FramePayloadCodec(false),
                MqttEncoder.INSTANCE);
        EmbeddedChannel ours = channel(true, new WebSocket13FrameEncoder(false), new FramePayloadCodec(false),
                MqttEncoder.INSTANCE, new MqttPublishEncoder(() -> true, FramePayloadCodec.HEADROOM));
        for (EmbeddedChannel ch : List.of(netty, ours)) {
            MqttProperties props = new MqttProperties();
            props.add(new MqttProperties.IntegerProperty(MqttProperties.TOPIC_ALIAS, 3));
            props.add(new MqttProperties.StringProperty(MqttProperties.CONTENT_TYPE, "text/plain"));
            ch.writeOutbound(new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false,
                    MqttQoS.AT_LEAST_ONCE, false, 0), new MqttPublishVariableHeader("t", 9, props),
                    Unpooled.wrappedBuffer(new byte[] {1, 2, 3})));
        }
        Object a = netty.readOutbound();
        Object b = ours.readOutbound();
        EmbeddedChannel framer = new EmbeddedChannel(new WebSocket13FrameEncoder(false));
        framer.writeOutbound(a, b);
        ByteBuf fa = framer.readOutbound();
        ByteBuf fb = framer.readOutbound();
        assertEquals(ByteBufUtil.hexDump(fa), ByteBufUtil.hexDump(fb));
        fa.release();
        fb.release();
        framer.finishAndReleaseAll();
        netty.finishAndReleaseAll();
        ours.finishAndReleaseAll();
    }

    /** With permessage-deflate on, frames stay frame objects, so the extension still compresses every message. */
    @Test
    void withAnExtensionTheCodecLeavesFramingToIt() {
        ChannelHandler deflate = new PerMessageDeflateServerExtensionHandshaker()
                .handshakeExtension(new WebSocketExtensionData("permessage-deflate", Map.of())).newExtensionEncoder();
        EmbeddedChannel ch = channel(false, new WebSocket13FrameEncoder(false), deflate, new FramePayloadCodec(false),
                MqttEncoder.INSTANCE, new MqttPublishEncoder(() -> false, FramePayloadCodec.HEADROOM));
        ch.writeOutbound(publish("t", 0, false, false, new byte[200]));
        ByteBuf wire = ch.readOutbound();
        // RSV1 set: the frame was compressed (RFC 7692 section 6), so it went through the extension as a frame
        assertEquals(0x40, wire.getByte(0) & 0x40);
        wire.release();
        ch.finishAndReleaseAll();
    }

    /**
     * PUBACK, PUBREC, PUBREL and PUBCOMP, both protocol levels, with and without a reason code and properties, as
     * a bare packet id or as Netty's variable header: the bytes are Netty's, over WebSocket and TCP, and the ones
     * that are their packet id alone (MQTT 5 section 3.4.2.1) are framed in place.
     */
    @Test
    void acknowledgementsAreWhatNettysEncodersWrite() {
        MqttMessageType[] types = {MqttMessageType.PUBACK, MqttMessageType.PUBREC, MqttMessageType.PUBREL,
                MqttMessageType.PUBCOMP};
        for (boolean v5 : new boolean[] {false, true}) {
            for (boolean ws : new boolean[] {false, true}) {
                EmbeddedChannel netty = ws ? channel(v5, new WebSocket13FrameEncoder(false), new FramePayloadCodec(false),
                        MqttEncoder.INSTANCE) : channel(v5, MqttEncoder.INSTANCE);
                EmbeddedChannel ours = ws ? channel(v5, new FramePayloadCodec(false), MqttEncoder.INSTANCE,
                        new MqttPublishEncoder(() -> v5, FramePayloadCodec.HEADROOM))
                        : channel(v5, MqttEncoder.INSTANCE, new MqttPublishEncoder(() -> v5, 0));
                for (MqttMessageType type : types) {
                    for (int packetId : new int[] {1, 0x1234, 65_535}) {
                        for (int variant = 0; variant < 4; variant++) {
                            byte reason = (byte) ((variant & 1) != 0 ? 0x10 : 0);
                            boolean props = (variant & 2) != 0;
                            String what = "v5=" + v5 + " ws=" + ws + " " + type + " id=" + packetId + " reason=" + reason
                                    + " props=" + props;
                            byte[] expected = write(netty, ack(type, packetId, reason, props));
                            frameObjects = 0;
                            byte[] actual = write(ours, ack(type, packetId, reason, props));
                            assertEquals(ByteBufUtil.hexDump(expected), ByteBufUtil.hexDump(actual), what);
                            boolean bare = !v5 || (reason == 0 && !props);
                            if (ws && bare) {
                                assertEquals(0, frameObjects, "framed in place: " + what);
                            }
                        }
                        byte[] expected = write(netty, idOnly(type, packetId));
                        frameObjects = 0;
                        assertEquals(ByteBufUtil.hexDump(expected), ByteBufUtil.hexDump(write(ours, idOnly(type, packetId))),
                                "v5=" + v5 + " ws=" + ws + " " + type + " as a message id header");
                        assertEquals(0, frameObjects);
                    }
                }
                netty.finishAndReleaseAll();
                ours.finishAndReleaseAll();
            }
        }
    }

    private static MqttFixedHeader ackHeader(MqttMessageType type) {
        return new MqttFixedHeader(type, false,
                type == MqttMessageType.PUBREL ? MqttQoS.AT_LEAST_ONCE : MqttQoS.AT_MOST_ONCE, false, 0);
    }

    private static MqttMessage ack(MqttMessageType type, int packetId, byte reason, boolean withProperties) {
        MqttProperties props = new MqttProperties();
        if (withProperties) {
            props.add(new MqttProperties.StringProperty(MqttProperties.REASON_STRING, "why"));
        }
        return new MqttMessage(ackHeader(type), new MqttPubReplyMessageVariableHeader(packetId, reason,
                withProperties ? props : MqttProperties.NO_PROPERTIES));
    }

    private static MqttMessage idOnly(MqttMessageType type, int packetId) {
        return new MqttMessage(ackHeader(type), MqttMessageIdVariableHeader.from(packetId));
    }
}
