package io.sluice.bench.bandwidth;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.MessageToMessageDecoder;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.extensions.compression.WebSocketClientCompressionHandler;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubAckMessage;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.ReferenceCountUtil;
import io.sluice.protocol.delta.FossilDelta;
import io.sluice.protocol.mqtt.Properties;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Bytes on the wire, broker CPU and memory for a stream of realistic JSON documents (about 2 KB, a few fields
 * changing per update) fanned out to MQTT 5 subscribers over WebSocket, in six modes: plain, permessage-deflate
 * (with and without context takeover, the latter being what connections get past {@code ws-compression-memory}),
 * Fossil deltas, and deltas with each kind of deflate. Each mode runs against a fresh broker process (the packaged server, loopback,
 * ephemeral ports), so its CPU time and RSS are the broker's alone; every subscriber decodes what it gets
 * (Netty's inflater, then the Java Fossil decoder) and checks it against the documents published, in order.
 *
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar bandwidth [--subscribers 20] [--messages 1000] [--warmup 300]
 *        [--size 2048] [--changed 4] [--window 32]
 *   java -jar benchmarks/target/benchmarks.jar bandwidth --contexts 1000 [--messages 40]
 * </pre>
 * The second form measures what one permessage-deflate context costs ({@link ContextMemory}).
 * Bytes per message are the socket bytes a subscriber read (WebSocket and MQTT framing included) divided by the
 * messages it received; broker CPU per message is the process's user+system time over the measured phase divided
 * by deliveries; memory per connection is the broker's RSS growth from before the subscribers connected to the
 * end of the run, per subscriber (the broker's heap is fixed and pre-touched, so this is native memory). The
 * figures compare modes in one run on one machine: read them as ratios.
 */
public final class BandwidthBenchmark {
    enum Mode {
        PLAIN("plain", false, false, true),
        DEFLATE("deflate", true, false, true),
        DEFLATE_NO_CONTEXT("deflate, no context takeover", true, false, false),
        DELTA("delta", false, true, true),
        BOTH("delta + deflate", true, true, true),
        BOTH_NO_CONTEXT("delta + deflate, no context takeover", true, true, false);

        final String label;
        final boolean deflate;
        final boolean delta;
        /** False: the broker answers every offer with no context takeover (as past --ws-compression-memory). */
        final boolean contextTakeover;

        Mode(String label, boolean deflate, boolean delta, boolean contextTakeover) {
            this.label = label;
            this.deflate = deflate;
            this.delta = delta;
            this.contextTakeover = contextTakeover;
        }
    }

    record Result(Mode mode, double wireBytesPerMessage, double cpuMicrosPerDelivery, double rssKbPerConnection,
                  double deliveriesPerSecond, long mismatches) {
    }

    private final int subscribers;
    private final int messages;
    private final int warmup;
    private final int window;
    private final byte[][] docs;

    BandwidthBenchmark(int subscribers, int messages, int warmup, int size, int changed, int window) {
        this.subscribers = subscribers;
        this.messages = messages;
        this.warmup = warmup;
        this.window = window;
        this.docs = Documents.stream(warmup + messages, size, changed, 42);
    }

    public static void main(String[] args) throws Exception {
        if (Arrays.asList(args).contains("--contexts")) {
            ContextMemory.main(intArg(args, "--contexts", 1000), intArg(args, "--messages", 40));
            return;
        }
        int subscribers = intArg(args, "--subscribers", 20);
        int messages = intArg(args, "--messages", 1000);
        int warmup = intArg(args, "--warmup", 300);
        int size = intArg(args, "--size", 2048);
        int changed = intArg(args, "--changed", 4);
        int window = intArg(args, "--window", 32);
        BandwidthBenchmark b = new BandwidthBenchmark(subscribers, messages, warmup, size, changed, window);
        System.out.printf("bandwidth: %d subscribers (MQTT 5 over WebSocket), %d documents of %d bytes (+%d warm-up), "
                        + "%d fields changed per update, QoS 1, publisher window %d%n",
                subscribers, messages, b.docs[0].length, warmup, changed, window);
        List<Result> results = new ArrayList<>();
        for (Mode m : Mode.values()) {
            results.add(b.run(m));
        }
        Result plain = results.get(0);
        System.out.println();
        System.out.println("| mode | wire bytes / message | vs plain | broker CPU µs / delivery | vs plain | broker RSS KB / connection | deliveries / s | vs plain | decode errors |");
        System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (Result r : results) {
            System.out.printf("| %s | %.0f | %.3f | %.2f | %.2f | %.0f | %.0f | %.2f | %d |%n", r.mode().label,
                    r.wireBytesPerMessage(), r.wireBytesPerMessage() / plain.wireBytesPerMessage(),
                    r.cpuMicrosPerDelivery(), r.cpuMicrosPerDelivery() / plain.cpuMicrosPerDelivery(),
                    r.rssKbPerConnection(), r.deliveriesPerSecond(), r.deliveriesPerSecond() / plain.deliveriesPerSecond(),
                    r.mismatches());
        }
        System.out.printf("machine load average at the end: %s%n", Files.readString(Path.of("/proc/loadavg")).trim());
    }

    private static int intArg(String[] args, String name, int def) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return Integer.parseInt(args[i + 1]);
            }
        }
        return def;
    }

    Result run(Mode mode) throws Exception {
        try (BrokerProcess broker = BrokerProcess.start(mode.contextTakeover);
             Clients clients = new Clients()) {
            long rssBefore = broker.rssBytes();
            List<Subscriber> subs = new ArrayList<>();
            for (int i = 0; i < subscribers; i++) {
                subs.add(clients.subscriber(broker.httpPort, mode, "bw-sub-" + i, docs));
            }
            for (Subscriber s : subs) {
                s.ready.get(30, TimeUnit.SECONDS);
            }
            Publisher pub = clients.publisher(broker.mqttPort, window);
            pub.ready.get(30, TimeUnit.SECONDS);
            // warm-up: the JIT compiles the paths before the measured phase
            pub.send(docs, 0, warmup).get(300, TimeUnit.SECONDS);
            awaitReceived(subs, warmup);
            long bytes0 = subs.stream().mapToLong(s -> s.wireBytes.get()).sum();
            long cpu0 = broker.cpuNanos();
            long t0 = System.nanoTime();
            pub.send(docs, warmup, warmup + messages).get(600, TimeUnit.SECONDS);
            awaitReceived(subs, warmup + messages);
            long elapsed = System.nanoTime() - t0;
            long cpu = broker.cpuNanos() - cpu0;
            long bytes = subs.stream().mapToLong(s -> s.wireBytes.get()).sum() - bytes0;
            long rss = broker.rssBytes() - rssBefore;
            long deliveries = (long) subscribers * messages;
            long mismatches = subs.stream().mapToLong(s -> s.mismatches.get()).sum();
            Result r = new Result(mode, (double) bytes / deliveries, cpu / 1000.0 / deliveries,
                    rss / 1024.0 / subscribers, deliveries / (elapsed / 1e9), mismatches);
            System.out.printf("%-36s %6.0f wire bytes/message, %6.2f µs broker CPU/delivery, %6.0f KB RSS/connection, "
                    + "%8.0f deliveries/s, %d decode errors%n", mode.label, r.wireBytesPerMessage(),
                    r.cpuMicrosPerDelivery(), r.rssKbPerConnection(), r.deliveriesPerSecond(), mismatches);
            return r;
        }
    }

    private static void awaitReceived(List<Subscriber> subs, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        for (Subscriber s : subs) {
            while (s.received.get() < n) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("subscriber stuck at " + s.received.get() + " of " + n);
                }
                Thread.sleep(5);
            }
        }
    }

    /** The packaged broker as a child process: its ready line gives the ports, /proc its CPU time and RSS. */
    static final class BrokerProcess implements AutoCloseable {
        private static final Pattern READY = Pattern.compile("mqtt=[^ ]+:(\\d+) http=[^ ]+:(\\d+)");
        final Process process;
        final int mqttPort;
        final int httpPort;

        private BrokerProcess(Process process, int mqttPort, int httpPort) {
            this.process = process;
            this.mqttPort = mqttPort;
            this.httpPort = httpPort;
        }

        static BrokerProcess start(boolean contextTakeover) throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            // a fixed, pre-touched heap: RSS growth is then native memory (deflate contexts, buffers), not heap sizing
            Process p = new ProcessBuilder(java, "-Xms512m", "-Xmx512m", "-XX:+AlwaysPreTouch",
                    "-cp", System.getProperty("java.class.path"),
                    "io.sluice.server.Main", "--bind", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0",
                    "--stomp-port", "-1", "--sys-interval", "0", "--log-level", "warn",
                    "--ws-compression-context-takeover", Boolean.toString(contextTakeover))
                    .redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = out.readLine()) != null) {
                Matcher m = READY.matcher(line);
                if (line.startsWith("Sluice ready") && m.find()) {
                    Thread drain = new Thread(() -> {
                        try {
                            while (out.readLine() != null) {
                                // keep the pipe from filling
                            }
                        } catch (IOException e) {
                            // the broker went away
                        }
                    }, "broker-output");
                    drain.setDaemon(true);
                    drain.start();
                    return new BrokerProcess(p, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
                }
            }
            p.destroyForcibly();
            throw new IOException("the broker exited before its ready line");
        }

        long rssBytes() throws IOException {
            for (String l : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("\\D+", "")) * 1024;
                }
            }
            return -1;
        }

        /** User + system time; /proc's clock ticks are 1/100 s on Linux. */
        long cpuNanos() throws IOException {
            String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L;
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** The clients' one event loop thread, apart from the broker's process. */
    static final class Clients implements AutoCloseable {
        final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

        Subscriber subscriber(int httpPort, Mode mode, String clientId, byte[][] docs) {
            Subscriber s = new Subscriber(clientId, mode.delta, docs);
            new Bootstrap().group(group).channel(NioSocketChannel.class).handler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(s.counter());
                    ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(65536));
                    if (mode.deflate) {
                        ch.pipeline().addLast(new WebSocketClientCompressionHandler(0));
                    }
                    ch.pipeline().addLast(new WebSocketClientProtocolHandler(WebSocketClientProtocolConfig.newBuilder()
                            .webSocketUri(URI.create("ws://127.0.0.1:" + httpPort + "/mqtt")).subprotocol("mqtt")
                            .allowExtensions(true).maxFramePayloadLength(1 << 20).build()));
                    ch.pipeline().addLast(new FrameBytes(), new BytesFrame(), new MqttDecoder(1 << 20), MqttEncoder.INSTANCE, s);
                }
            }).connect("127.0.0.1", httpPort);
            return s;
        }

        Publisher publisher(int mqttPort, int window) {
            Publisher p = new Publisher(window);
            new Bootstrap().group(group).channel(NioSocketChannel.class).handler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(new MqttDecoder(1 << 20), MqttEncoder.INSTANCE, p);
                }
            }).connect("127.0.0.1", mqttPort);
            return p;
        }

        @Override
        public void close() {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static MqttMessage connect(String clientId) {
        return MqttMessageBuilders.connect().clientId(clientId).protocolVersion(MqttVersion.MQTT_5).cleanSession(true)
                .keepAlive(60).build();
    }

    /** One MQTT 5 subscriber: counts socket bytes, decodes deltas, acknowledges, checks each document in order. */
    static final class Subscriber extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Void> ready = new CompletableFuture<>();
        final AtomicLong wireBytes = new AtomicLong();
        final AtomicInteger received = new AtomicInteger();
        final AtomicLong mismatches = new AtomicLong();
        private final String clientId;
        private final boolean delta;
        private final byte[][] docs;
        private byte[] last;

        Subscriber(String clientId, boolean delta, byte[][] docs) {
            this.clientId = clientId;
            this.delta = delta;
            this.docs = docs;
        }

        ChannelInboundHandlerAdapter counter() {
            return new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof ByteBuf b) {
                        wireBytes.addAndGet(b.readableBytes());
                    }
                    ctx.fireChannelRead(msg);
                }
            };
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
                ctx.writeAndFlush(connect(clientId));
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof MqttConnAckMessage) {
                    MqttProperties props = new MqttProperties();
                    if (delta) {
                        props.add(new MqttProperties.UserProperty("sluice-delta", "fossil"));
                    }
                    ctx.writeAndFlush(MqttMessageBuilders.subscribe().messageId(1).properties(props)
                            .addSubscription(MqttQoS.AT_LEAST_ONCE, "bw/doc").build());
                } else if (msg instanceof MqttSubAckMessage) {
                    ready.complete(null);
                } else if (msg instanceof MqttPublishMessage p) {
                    byte[] wire = ByteBufUtil.getBytes(p.payload());
                    boolean isDelta = false;
                    for (java.util.Map.Entry<String, String> u : Properties.userProperties(p.variableHeader().properties())) {
                        isDelta |= u.getKey().equals("sluice-delta");
                    }
                    byte[] payload = isDelta ? FossilDelta.apply(last, wire) : wire;
                    last = payload;
                    int n = received.getAndIncrement();
                    if (n >= docs.length || !Arrays.equals(payload, docs[n])) {
                        mismatches.incrementAndGet();
                    }
                    if (p.fixedHeader().qosLevel() == MqttQoS.AT_LEAST_ONCE) {
                        ctx.writeAndFlush(MqttMessageBuilders.pubAck().packetId(p.variableHeader().packetId()).build());
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ready.completeExceptionally(cause);
            mismatches.incrementAndGet();
        }
    }

    /** A QoS 1 publisher over TCP keeping {@code window} PUBLISHes unacknowledged. */
    static final class Publisher extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Void> ready = new CompletableFuture<>();
        private final int window;
        private Channel channel;
        private byte[][] docs;
        private int next;
        private int end;
        private int inFlight;
        private int packetId;
        private CompletableFuture<Void> done;

        Publisher(int window) {
            this.window = window;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            channel = ctx.channel();
            ctx.writeAndFlush(connect("bw-pub"));
        }

        /** Publish docs[from, to) and complete once all are acknowledged; call from one thread at a time. */
        CompletableFuture<Void> send(byte[][] docs, int from, int to) {
            CompletableFuture<Void> f = new CompletableFuture<>();
            channel.eventLoop().execute(() -> {
                this.docs = docs;
                this.next = from;
                this.end = to;
                this.done = f;
                pump();
            });
            return f;
        }

        private void pump() {
            while (inFlight < window && next < end) {
                packetId = packetId % 65_535 + 1;
                channel.write(MqttMessageBuilders.publish().topicName("bw/doc").qos(MqttQoS.AT_LEAST_ONCE)
                        .messageId(packetId).payload(Unpooled.wrappedBuffer(docs[next++])).build());
                inFlight++;
            }
            channel.flush();
            if (inFlight == 0 && next >= end && done != null) {
                done.complete(null);
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof MqttConnAckMessage) {
                    ready.complete(null);
                } else if (msg instanceof MqttPubAckMessage
                        || (msg instanceof MqttMessage m && m.fixedHeader().messageType() == MqttMessageType.PUBACK)) {
                    inFlight--;
                    pump();
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    /** WebSocket frames to the bytes MQTT reads (a packet may span frames). */
    static final class FrameBytes extends MessageToMessageDecoder<WebSocketFrame> {
        @Override
        protected void decode(ChannelHandlerContext ctx, WebSocketFrame f, List<Object> out) {
            if (f instanceof BinaryWebSocketFrame || f instanceof ContinuationWebSocketFrame) {
                out.add(f.content().retain());
            }
        }
    }

    /** MQTT's bytes into binary frames. */
    static final class BytesFrame extends MessageToMessageEncoder<ByteBuf> {
        @Override
        protected void encode(ChannelHandlerContext ctx, ByteBuf b, List<Object> out) {
            out.add(new BinaryWebSocketFrame(b.retain()));
        }
    }

    /**
     * The real size of one deflate context: RSS growth over {@code n} compressing (then inflating) contexts made
     * by Netty's permessage-deflate codecs, as the broker makes them, each fed {@code messages} 2 KB documents.
     * zlib's memory is native and touched as the window fills, so it shows in RSS, not in the heap.
     */
    static final class ContextMemory {
        static void main(int n, int messages) throws Exception {
            var ext = new io.netty.handler.codec.http.websocketx.extensions.compression.PerMessageDeflateServerExtensionHandshaker(0)
                    .handshakeExtension(new io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionData(
                            "permessage-deflate", java.util.Map.of()));
            byte[][] docs = Documents.stream(messages, 2048, 4, 7);
            List<io.netty.channel.embedded.EmbeddedChannel> keep = new ArrayList<>();
            System.gc();
            long rss0 = rss();
            for (int i = 0; i < n; i++) {
                var ch = new io.netty.channel.embedded.EmbeddedChannel(ext.newExtensionEncoder());
                for (byte[] d : docs) {
                    ch.writeOutbound(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(d)));
                    ((WebSocketFrame) ch.readOutbound()).release();
                }
                keep.add(ch);
            }
            System.gc();
            long rss1 = rss();
            var enc = new io.netty.channel.embedded.EmbeddedChannel(ext.newExtensionEncoder());
            List<byte[]> compressed = new ArrayList<>();
            for (byte[] d : docs) {
                enc.writeOutbound(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(d)));
                WebSocketFrame f = enc.readOutbound();
                compressed.add(ByteBufUtil.getBytes(f.content()));
                f.release();
            }
            for (int i = 0; i < n; i++) {
                var ch = new io.netty.channel.embedded.EmbeddedChannel(ext.newExtensionDecoder());
                for (byte[] c : compressed) {
                    ch.writeInbound(new BinaryWebSocketFrame(true, 4, Unpooled.wrappedBuffer(c)));
                    ((WebSocketFrame) ch.readInbound()).release();
                }
                keep.add(ch);
            }
            System.gc();
            long rss2 = rss();
            System.out.printf("permessage-deflate contexts after %d messages of %d bytes: %d KB RSS per compressing "
                    + "context, %d KB per inflating context (%d of each)%n", messages, docs[0].length,
                    (rss1 - rss0) / n / 1024, (rss2 - rss1) / n / 1024, n);
            java.lang.ref.Reference.reachabilityFence(keep); // the contexts stay alive until measured
        }

        private static long rss() throws IOException {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("\\D+", "")) * 1024;
                }
            }
            return -1;
        }
    }

    /** A stream of JSON documents of one shape, each a copy of the previous with a few values changed. */
    static final class Documents {
        static byte[][] stream(int count, int size, int changed, long seed) {
            Random r = new Random(seed);
            List<int[]> values = new ArrayList<>();
            StringBuilder probe = new StringBuilder();
            while (render(values, probe).length() < size) {
                values.add(new int[] {r.nextInt(100_000), r.nextInt(1000)});
            }
            byte[][] docs = new byte[count][];
            for (int i = 0; i < count; i++) {
                for (int c = 0; c < changed; c++) {
                    int[] v = values.get(r.nextInt(values.size()));
                    v[r.nextInt(2)] = r.nextInt(100_000);
                }
                docs[i] = render(values, new StringBuilder()).append("").toString().getBytes(StandardCharsets.UTF_8);
            }
            return docs;
        }

        private static StringBuilder render(List<int[]> values, StringBuilder sb) {
            sb.setLength(0);
            sb.append("{\"source\":\"exchange-feed\",\"instruments\":[");
            for (int i = 0; i < values.size(); i++) {
                int[] v = values.get(i);
                sb.append(i == 0 ? "" : ",").append("{\"symbol\":\"SYM").append(i).append("\",\"price\":")
                        .append(v[0] / 100).append('.').append(String.format("%02d", v[0] % 100))
                        .append(",\"volume\":").append(v[1]).append(",\"currency\":\"EUR\",\"open\":true}");
            }
            return sb.append("]}");
        }
    }
}
