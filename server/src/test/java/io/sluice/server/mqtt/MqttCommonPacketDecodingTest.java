package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.Mqtt5ClientBuilder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.protocol.ws.Subprotocol;
import io.sluice.server.broker.Broker;
import io.sluice.server.config.Settings;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.Refusal;
import io.sluice.server.transport.ProtocolModule;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The common packets (PUBLISH and its acknowledgements without properties) decoded at once by
 * {@link CommonPacketDecoder} reach the handlers exactly as Netty's decoder makes them: the same traffic, sent to a
 * broker that decodes them at once and to one that hands every packet to Netty's decoder, gives the same decoded
 * messages (class, fixed header, variable header, properties, payload bytes) on every connection and the same
 * answers. Real clients (Paho 3.1.1, HiveMQ 5) over TCP and WebSocket publish QoS 0 and 1 to topics that change
 * between packets (same length, a differing byte past the first eight, non-ASCII UTF-8) while a subscriber acknowledges
 * them; a packet-level client sends several packets in one WebSocket frame or TCP write and a packet split across
 * them, every acknowledgement form, and the bad input the decoder must leave to Netty's: ill-formed UTF-8 topics
 * [MQTT-1.5.3-1], U+0000 [MQTT-1.5.3-2], wildcards in a topic name [MQTT-3.3.2-2], packet identifier 0, a topic
 * length that lies.
 */
class MqttCommonPacketDecodingTest {
    private static final List<String> TOPICS = List.of("t/a", "t/b", "t/a", "t/long/topic/name/past/eight",
            "t/long/topic/name/past/eighT", "t/lonG/topic/name/past/eight", "t/ü/é", "t/ü/é", "t/ö/é", "t/a");

    // ---- real clients ----

    @Test
    void realClientsDecodeAlikeBothWays() throws Exception {
        try (Run fast = new Run(true); Run slow = new Run(false)) {
            for (boolean ws : new boolean[] {false, true}) {
                for (int level : new int[] {4, 5}) {
                    String name = (ws ? "ws" : "tcp") + level;
                    for (Run run : List.of(fast, slow)) {
                        List<String> got = level == 4 ? paho(run.server, ws, name) : hive(run.server, ws, name);
                        // sorted: a QoS 0 message may overtake a QoS 1 one in the subscriber's queue (MQTT 5 section 4.6)
                        assertEquals(expected().stream().sorted().toList(), got.stream().sorted().toList(),
                                name + ": what the subscriber received");
                    }
                    assertTrue(fast.common(name + "-pub") >= TOPICS.size(), name + ": the common decoder took the publishes: " + fast.common(name + "-pub") + " " + fast.byClient.get(name + "-pub"));
                    assertTrue(fast.common(name + "-sub") >= TOPICS.size() / 2, name + ": and the PUBACKs");
                    assertEquals(0, slow.common(name + "-pub") + slow.common(name + "-sub"), name);
                }
            }
            awaitRecorded(fast, slow);
            assertSameDecoding(slow, fast);
        }
    }

    /** Per client, the same packets decoded alike; a failure names the first that differs. */
    private static void assertSameDecoding(Run slow, Run fast) {
        Map<String, List<String>> expected = slow.decoded();
        Map<String, List<String>> actual = fast.decoded();
        assertEquals(expected.keySet(), actual.keySet(), "the clients");
        for (String client : expected.keySet()) {
            List<String> e = expected.get(client);
            List<String> a = actual.get(client);
            for (int i = 0; i < Math.min(e.size(), a.size()); i++) {
                assertEquals(e.get(i), a.get(i), client + ": packet " + i);
            }
            assertEquals(e.size(), a.size(), client + ": packets " + e + " against " + a);
        }
    }

    /** The last packets (DISCONNECT) may reach the recorder after the client returns: wait until both runs agree. */
    private static void awaitRecorded(Run fast, Run slow) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!fast.decoded().equals(slow.decoded()) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
    }

    private static List<String> expected() {
        List<String> e = new ArrayList<>();
        for (int i = 0; i < TOPICS.size(); i++) {
            e.add(TOPICS.get(i) + " " + payload(i));
        }
        return e;
    }

    private static String payload(int i) {
        return i == 2 ? "" : "m" + i;
    }

    private static List<String> paho(MqttTestServer server, boolean ws, String name) throws Exception {
        String uri = ws ? server.wsUri() : server.tcpUri();
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        MqttClient sub = new MqttClient(uri, name + "-sub", new MemoryPersistence());
        MqttClient pub = new MqttClient(uri, name + "-pub", new MemoryPersistence());
        try {
            MqttConnectOptions o = new MqttConnectOptions();
            o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
            sub.setCallback(new MqttCallback() {
                @Override
                public void connectionLost(Throwable cause) {
                }

                @Override
                public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage m) {
                    got.add(topic + " " + new String(m.getPayload(), StandardCharsets.UTF_8));
                }

                @Override
                public void deliveryComplete(IMqttDeliveryToken token) {
                }
            });
            sub.connect(o);
            sub.subscribe("t/#", 1);
            pub.connect(o);
            for (int i = 0; i < TOPICS.size(); i++) {
                pub.publish(TOPICS.get(i), payload(i).getBytes(StandardCharsets.UTF_8), i % 2, false);
            }
            return take(got);
        } finally {
            pub.disconnect();
            sub.disconnect();
            pub.close();
            sub.close();
        }
    }

    private static List<String> hive(MqttTestServer server, boolean ws, String name) throws InterruptedException {
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        Mqtt5AsyncClient sub = hiveBuilder(server, ws, name + "-sub").buildAsync();
        Mqtt5BlockingClient pub = hiveBuilder(server, ws, name + "-pub").buildBlocking();
        sub.connect().join();
        sub.subscribeWith().topicFilter("t/#").qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> got.add(p.getTopic() + " " + StandardCharsets.UTF_8.decode(
                        p.getPayload().orElse(java.nio.ByteBuffer.allocate(0)))))
                .send().join();
        pub.connect();
        try {
            for (int i = 0; i < TOPICS.size(); i++) {
                pub.publishWith().topic(TOPICS.get(i)).qos(MqttQos.fromCode(i % 2))
                        .payload(payload(i).getBytes(StandardCharsets.UTF_8)).send();
            }
            return take(got);
        } finally {
            pub.disconnect();
            sub.disconnect().join();
        }
    }

    private static Mqtt5ClientBuilder hiveBuilder(MqttTestServer server, boolean ws, String id) {
        Mqtt5ClientBuilder b = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1");
        return ws ? b.serverPort(server.httpPort()).webSocketConfig().serverPath("mqtt").applyWebSocketConfig()
                : b.serverPort(server.port());
    }

    private static List<String> take(BlockingQueue<String> got) throws InterruptedException {
        List<String> list = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (list.size() < TOPICS.size() && System.nanoTime() < deadline) {
            String s = got.poll(100, TimeUnit.MILLISECONDS);
            if (s != null) {
                list.add(s);
            }
        }
        return list;
    }

    // ---- packets in one write, split across writes, every acknowledgement form ----

    @Test
    void framingAndAcknowledgementsDecodeAlikeBothWays() {
        try (Run fast = new Run(true); Run slow = new Run(false)) {
            for (boolean ws : new boolean[] {false, true}) {
                for (int level : new int[] {4, 5}) {
                    String name = "raw-" + (ws ? "ws" : "tcp") + level;
                    List<List<String>> answers = new ArrayList<>();
                    for (Run run : List.of(fast, slow)) {
                        try (RawMqttClient c = run.connect(ws, level, name)) {
                            byte[] a1 = publish(level, "t/a", 1, 1, "one");
                            byte[] b0 = publish(level, "t/b", 0, 0, "two");
                            byte[] a2 = publish(level, "t/a", 1, 2, "three");
                            byte[] c3 = publish(level, "t/cé", 1, 3, "four");
                            byte[] c0 = publish(level, "t/cé", 0, 0, "");
                            c.sendBytes(ints(concat(a1, b0, a2))); // three packets in one frame or write
                            c.sendBytes(ints(Arrays.copyOfRange(c3, 0, 1))); // then one split across three
                            c.sendBytes(ints(Arrays.copyOfRange(c3, 1, 5)));
                            c.sendBytes(ints(concat(Arrays.copyOfRange(c3, 5, c3.length), Arrays.copyOfRange(c0, 0, 2))));
                            c.sendBytes(ints(Arrays.copyOfRange(c0, 2, c0.length)));
                            List<byte[]> acks = new ArrayList<>(List.of(bytes(0x40, 2, 0, 9), bytes(0x50, 2, 0, 10),
                                    bytes(0x62, 2, 0, 11), bytes(0x70, 2, 0, 12)));
                            if (level == 5) {
                                acks.addAll(List.of(bytes(0x40, 3, 0, 13, 0x10), bytes(0x40, 4, 0, 14, 0, 0),
                                        bytes(0x50, 3, 0, 15, 0x10), bytes(0x62, 4, 0, 16, 0x92, 0),
                                        bytes(0x70, 3, 0, 17, 0x92)));
                            }
                            c.sendBytes(ints(concat(acks.toArray(byte[][]::new))));
                            c.sendBytes(0xC0, 0);
                            answers.add(untilPingResponse(c));
                        }
                    }
                    assertEquals(answers.get(1), answers.get(0), name + ": the broker's answers");
                    assertTrue(fast.common(name) >= (level == 5 ? 14 : 9), name + ": the common decoder took them");
                    assertEquals(0, slow.common(name), name);
                }
            }
            assertSameDecoding(slow, fast);
        }
    }

    private static List<String> untilPingResponse(RawMqttClient c) {
        List<String> got = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            MqttMessage m = c.next(10_000);
            assertNotNull(m, "no PINGRESP within 10 s, after " + got);
            if (m.fixedHeader().messageType() == MqttMessageType.PINGRESP) {
                return got;
            }
            got.add(describe(m));
        }
        throw new AssertionError("no PINGRESP among " + got);
    }

    // ---- bad input: the decoder leaves it to Netty's, which answers as it always did ----

    /** A bad PUBLISH, the MQTT 5 reason code it is answered with. */
    private record Bad(String name, byte[] packet, int reason) {
    }

    private static List<Bad> bad(int level) {
        return List.of(
                new Bad("ill-formed UTF-8", publish(level, bytes('t', '/', 0xC3, 0x28), 0, 0, "x"), 0x81),
                new Bad("an encoded surrogate", publish(level, bytes('t', 0xED, 0xA0, 0x80), 1, 5, "x"), 0x81),
                new Bad("an overlong '/'", publish(level, bytes('t', 0xC0, 0xAF, 'a'), 0, 0, "x"), 0x81),
                new Bad("U+0000", publish(level, bytes('t', '/', 0, 'a'), 0, 0, "x"), 0x81),
                new Bad("a wildcard '+'", publish(level, "t/+", 1, 6, "x"), 0x90),
                new Bad("a wildcard '#' past the cached bytes", publish(level, "t/a/#", 0, 0, "x"), 0x90),
                new Bad("packet identifier 0", publish(level, "t/a", 1, 0, "x"), 0x81),
                new Bad("a topic length that lies", lyingLength(level), 0x81),
                new Bad("PUBACK with packet identifier 0", bytes(0x40, 2, 0, 0), 0x81),
                new Bad("PUBACK with flags", bytes(0x42, 2, 0, 7), 0x81));
    }

    /** A QoS 0 PUBLISH whose topic length claims 200 bytes of a packet of 8. */
    private static byte[] lyingLength(int level) {
        byte[] p = publish(level, "t/a", 0, 0, "xy");
        p[2] = 0;
        p[3] = (byte) 200;
        return p;
    }

    @Test
    void badInputAnsweredAlikeBothWays() {
        try (Run fast = new Run(true); Run slow = new Run(false)) {
            for (boolean ws : new boolean[] {false, true}) {
                for (int level : new int[] {4, 5}) {
                    List<Bad> cases = bad(level);
                    for (int i = 0; i < cases.size(); i++) {
                        Bad bad = cases.get(i);
                        String name = "bad-" + (ws ? "ws" : "tcp") + level + "-" + i;
                        String what = name + ", " + bad.name();
                        List<List<String>> answers = new ArrayList<>();
                        for (Run run : List.of(fast, slow)) {
                            try (RawMqttClient c = run.connect(ws, level, name)) {
                                // a good PUBLISH first, in the same frame, so the topic cache holds "t/a"
                                c.sendBytes(ints(concat(publish(level, "t/a", 0, 0, "ok"), bad.packet())));
                                answers.add(answerUntilClosed(c, what));
                            }
                        }
                        assertEquals(answers.get(1), answers.get(0), what + ": the broker's answer");
                        if (level == 5) {
                            assertEquals(1, answers.get(0).size(), what + ": " + answers.get(0));
                            assertTrue(answers.get(0).get(0).startsWith(
                                    String.format("DISCONNECT reason 0x%02X ", bad.reason())), what + ": " + answers.get(0));
                        } else {
                            assertEquals(List.of(), answers.get(0), what + ": MQTT 3.1.1 closes without a word");
                        }
                        assertEquals(1, fast.common(name), what + ": the good PUBLISH took the common decoder, the bad one not");
                    }
                }
            }
            assertSameDecoding(slow, fast);
        }
    }

    private static List<String> answerUntilClosed(RawMqttClient c, String what) {
        List<String> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (c.isOpen() && System.nanoTime() < deadline) {
            MqttMessage m = c.next(50);
            if (m != null) {
                got.add(describe(m));
            }
        }
        assertTrue(c.awaitClosed(1_000), what + ": the connection is closed");
        MqttMessage m;
        while ((m = c.next(0)) != null) {
            got.add(describe(m));
        }
        return got;
    }

    // ---- a broker either way, recording what the handlers get ----

    /** A broker whose MQTT connections decode the common packets at once or not, recording every decoded packet. */
    private static final class Run implements AutoCloseable {
        /** Per client identifier, how many packets the common decoder made. */
        final Map<String, AtomicInteger> common = new ConcurrentHashMap<>();
        /** Per client identifier, the packets as the handlers received them, described. */
        final Map<String, List<String>> byClient = new ConcurrentHashMap<>();
        final MqttTestServer server;

        Run(boolean decodeCommon) {
            // no Topic Alias Maximum: HiveMQ's client would otherwise name each topic by an alias (a property)
            server = new MqttTestServer(Settings.defaults().with(Settings.CONNECT_RATE, 0)
                    .with(Settings.MQTT_TOPIC_ALIAS_MAXIMUM, 0),
                    (broker, s) -> List.<ProtocolModule>of(new Recording(broker, s, decodeCommon, this)));
        }

        RawMqttClient connect(boolean ws, int level, String clientId) {
            RawMqttClient c = ws ? RawMqttClient.openWebSocket(server.httpPort()) : RawMqttClient.open(server.port());
            MqttVersion version = level == 5 ? MqttVersion.MQTT_5 : MqttVersion.MQTT_3_1_1;
            assertEquals(0, c.connect(version, clientId, true, MqttProperties.NO_PROPERTIES)
                    .variableHeader().connectReturnCode().byteValue());
            return c;
        }

        int common(String clientId) {
            AtomicInteger n = common.get(clientId);
            return n == null ? 0 : n.get();
        }

        /** What was recorded, once every connection is closed. */
        Map<String, List<String>> decoded() {
            return new TreeMap<>(byClient);
        }

        @Override
        public void close() {
            server.close();
        }
    }

    /** The MQTT module with a counter before Netty's decoder and a recorder after it. */
    private static final class Recording implements ProtocolModule {
        private final MqttModule module;
        private final int maxPacketSize;
        private final boolean decodeCommon;
        private final Run run;

        Recording(Broker broker, Settings settings, boolean decodeCommon, Run run) {
            this.module = new MqttModule(broker, settings);
            this.maxPacketSize = settings.get(Settings.MAX_PACKET_SIZE);
            this.decodeCommon = decodeCommon;
            this.run = run;
        }

        @Override
        public String name() {
            return module.name();
        }

        @Override
        public List<Subprotocol> subprotocols() {
            return module.subprotocols();
        }

        @Override
        public List<String> paths() {
            return module.paths();
        }

        @Override
        public Recognition recognize(ByteBuf head) {
            return module.recognize(head);
        }

        @Override
        public ByteBuf refusal(ByteBuf head, Refusal refusal) {
            return module.refusal(head, refusal);
        }

        @Override
        public boolean acceptsTextFrames() {
            return module.acceptsTextFrames();
        }

        @Override
        public boolean wantsWebSocketPings() {
            return module.wantsWebSocketPings();
        }

        @Override
        public void install(ChannelPipeline pipeline, ConnectionInfo info) {
            module.install(pipeline, info);
            pipeline.replace("mqtt-check", "mqtt-check", new MqttPacketCheck(maxPacketSize, decodeCommon));
            String[] client = {"?"};
            pipeline.addBefore("mqtt-decoder", "test-count", new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof MqttMessage m && m.decoderResult().isSuccess()) {
                        run.common.computeIfAbsent(client[0], k -> new AtomicInteger()).incrementAndGet();
                    }
                    ctx.fireChannelRead(msg);
                }
            });
            pipeline.addAfter("mqtt-decoder", "test-record", new ChannelInboundHandlerAdapter() {
                private List<String> packets = new CopyOnWriteArrayList<>();

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof MqttConnectMessage c && packets.isEmpty()) {
                        client[0] = c.payload().clientIdentifier();
                        packets = run.byClient.computeIfAbsent(client[0], k -> new CopyOnWriteArrayList<>());
                    }
                    packets.add(describe((MqttMessage) msg));
                    ctx.fireChannelRead(msg);
                }
            });
        }
    }

    // ---- describing and building packets ----

    /** Everything a handler can read of a decoded packet. */
    static String describe(MqttMessage m) {
        StringBuilder s = new StringBuilder();
        if (m.fixedHeader() != null && m.fixedHeader().messageType() == MqttMessageType.DISCONNECT
                && m.variableHeader() instanceof MqttReasonCodeAndPropertiesVariableHeader h) {
            s.append(String.format("DISCONNECT reason 0x%02X ", h.reasonCode() & 0xFF));
        }
        s.append(m.getClass().getSimpleName()).append(' ').append(m.fixedHeader());
        s.append(m.decoderResult().isSuccess() ? " ok" : " failed: " + m.decoderResult().cause());
        Object v = m.variableHeader();
        if (v instanceof MqttPublishVariableHeader p) {
            s.append(" topic=").append(p.topicName()).append(" id=").append(p.packetId())
                    .append(properties(p.properties()));
        } else if (v instanceof MqttPubReplyMessageVariableHeader r) {
            s.append(" id=").append(r.messageId()).append(" reason=").append(r.reasonCode())
                    .append(properties(r.properties()));
        } else if (v instanceof MqttReasonCodeAndPropertiesVariableHeader r) {
            s.append(" reason=").append(r.reasonCode()).append(properties(r.properties()));
        } else if (v instanceof MqttMessageIdAndPropertiesVariableHeader r) {
            s.append(" id=").append(r.messageId()).append(properties(r.properties()));
        } else if (v != null) {
            s.append(' ').append(v.getClass().getSimpleName()).append(' ').append(v);
        }
        if (m instanceof MqttPublishMessage p) {
            s.append(" payload=").append(ByteBufUtil.hexDump(p.content()));
        } else if (m instanceof MqttConnectMessage c) {
            s.append(" client=").append(c.payload().clientIdentifier());
        } else if (m.payload() != null) {
            s.append(' ').append(m.payload());
        }
        return s.toString();
    }

    private static String properties(MqttProperties p) {
        if (p == MqttProperties.NO_PROPERTIES) {
            return " NO_PROPERTIES";
        }
        StringBuilder s = new StringBuilder(" properties[");
        for (MqttProperties.MqttProperty<?> e : p.listAll()) {
            s.append(e.propertyId()).append('=').append(e.value()).append(';');
        }
        return s.append(']').toString();
    }

    private static byte[] publish(int level, String topic, int qos, int packetId, String payload) {
        return publish(level, topic.getBytes(StandardCharsets.UTF_8), qos, packetId, payload);
    }

    private static byte[] publish(int level, byte[] topic, int qos, int packetId, String payload) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(topic.length >> 8);
        body.write(topic.length);
        body.writeBytes(topic);
        if (qos > 0) {
            body.write(packetId >> 8);
            body.write(packetId);
        }
        if (level == 5) {
            body.write(0);
        }
        body.writeBytes(payload.getBytes(StandardCharsets.UTF_8));
        byte[] b = body.toByteArray();
        assertTrue(b.length < 128);
        return concat(bytes(0x30 | qos << 1, b.length), b);
    }

    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    private static int[] ints(byte[] b) {
        int[] v = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            v[i] = b[i] & 0xFF;
        }
        return v;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
