package io.sluice.server.mqtt;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The deliveries of one drain are encoded back to back into one buffer, over WebSocket one binary frame (MQTT 5
 * section 6.0: a frame may carry several packets): every packet arrives whole, in order, with its own flags and
 * packet id, whether it went that way or on its own (an MQTT 5 delivery with properties), over TCP and WebSocket,
 * MQTT 3.1.1 and 5. The drain is made deterministic by queueing for an offline persistent session: the whole
 * window leaves in the one drain that follows the CONNACK.
 */
class MqttDeliveryBatchTest {
    /** Within the default in-flight window (32): all leave in one drain. */
    private static final int MESSAGES = 20;
    private MqttTestServer server;

    @BeforeEach
    void start() {
        server = new MqttTestServer();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private RawMqttClient open(boolean webSocket) {
        return webSocket ? RawMqttClient.openWebSocket(server.httpPort()) : RawMqttClient.open(server.port());
    }

    /** Every third message (MQTT 5 only) carries a user property, so it goes as a packet object of its own. */
    private static boolean withProperty(MqttVersion version, int i) {
        return version == MqttVersion.MQTT_5 && i % 3 == 1;
    }

    @ParameterizedTest(name = "{0}, WebSocket {1}")
    @CsvSource({"MQTT_3_1_1, true", "MQTT_5, true", "MQTT_3_1_1, false", "MQTT_5, false"})
    void aDrainsDeliveriesArriveWholeAndInOrder(MqttVersion version, boolean webSocket) {
        String id = "batch-" + version + "-" + webSocket;
        try (RawMqttClient sub = open(webSocket)) {
            sub.connect(version, id, false, sessionExpiry(version));
            sub.send(MqttMessageBuilders.subscribe().messageId(1)
                    .addSubscription(MqttQoS.AT_LEAST_ONCE, "batch/#").build());
            sub.expect(MqttMessageType.SUBACK);
            sub.send(MqttMessage.DISCONNECT);
            assertTrue(sub.awaitClosed(10_000), "closed after DISCONNECT");
        }
        try (RawMqttClient pub = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, id + "-pub", true)) {
            for (int i = 0; i < MESSAGES; i++) {
                MqttProperties props = new MqttProperties();
                if (withProperty(version, i)) {
                    props.add(new MqttProperties.UserProperty("n", Integer.toString(i)));
                }
                // QoS 1: an offline session keeps only QoS 1 and 2 messages
                pub.send(new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false,
                        MqttQoS.AT_LEAST_ONCE, false, 0), new MqttPublishVariableHeader("batch/" + i, i + 1, props),
                        Unpooled.wrappedBuffer(("m" + i).getBytes(StandardCharsets.UTF_8))));
                pub.expect(MqttMessageType.PUBACK);
            }
        }
        try (RawMqttClient sub = open(webSocket)) {
            sub.connect(version, id, false, sessionExpiry(version));
            List<Integer> packetIds = new ArrayList<>();
            for (int i = 0; i < MESSAGES; i++) {
                MqttPublishMessage p = (MqttPublishMessage) sub.expect(MqttMessageType.PUBLISH);
                assertEquals("batch/" + i, p.variableHeader().topicName());
                assertEquals("m" + i, p.payload().toString(StandardCharsets.UTF_8));
                assertEquals(1, p.fixedHeader().qosLevel().value(), "QoS of message " + i);
                assertEquals(false, p.fixedHeader().isDup(), "DUP of message " + i);
                assertEquals(false, p.fixedHeader().isRetain(), "retain flag of message " + i);
                assertEquals(withProperty(version, i),
                        p.variableHeader().properties().getProperty(MqttProperties.USER_PROPERTY) != null,
                        "user property of message " + i);
                packetIds.add(p.variableHeader().packetId());
            }
            assertEquals(packetIds.stream().distinct().count(), packetIds.size(), "distinct packet ids " + packetIds);
            for (int packetId : packetIds) {
                sub.send(new MqttMessage(new MqttFixedHeader(MqttMessageType.PUBACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
                        MqttMessageIdVariableHeader.from(packetId)));
            }
            if (webSocket) {
                // at most: the CONNACK in a frame of its own; then MQTT 3.1.1: the whole drain in one frame; MQTT 5:
                // one frame for each run of messages without properties and one for each message with (7 of the 20).
                // Fewer when a busy machine lets the CONNACK and the drain leave together; one per packet (21) would
                // mean no batching at all.
                int atMost = 1 + (version == MqttVersion.MQTT_5 ? 14 : 1);
                assertTrue(sub.frames.size() <= atMost, "frames carrying the CONNACK and the " + MESSAGES
                        + " deliveries: " + sub.frames.size() + ", expected at most " + atMost);
                assertEquals(1 + MESSAGES, packetsIn(sub.frames, version));
            }
            assertEquals(null, sub.next(200), "nothing more");
        }
    }

    private static MqttProperties sessionExpiry(MqttVersion version) {
        MqttProperties props = new MqttProperties();
        if (version == MqttVersion.MQTT_5) {
            props.add(new MqttProperties.IntegerProperty(MqttProperties.SESSION_EXPIRY_INTERVAL, 600));
        }
        return props;
    }

    /** How many whole MQTT packets the frames' payloads decode to, none spanning two frames. */
    private static int packetsIn(List<ByteBuf> frames, MqttVersion version) {
        int n = 0;
        for (ByteBuf frame : frames) {
            EmbeddedChannel decoder = new EmbeddedChannel(new MqttDecoder());
            decoder.attr(io.netty.util.AttributeKey.<MqttVersion>valueOf("NETTY_CODEC_MQTT_VERSION")).set(version);
            decoder.writeInbound(frame.retainedDuplicate());
            Object m;
            while ((m = decoder.readInbound()) != null) {
                assertTrue(((MqttMessage) m).decoderResult().isSuccess(), "decoded " + m);
                n++;
                ReferenceCountUtil.release(m);
            }
            decoder.finishAndReleaseAll();
        }
        return n;
    }
}
