package io.sluice.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.MessageToMessageDecoder;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPubAckMessage;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.server.config.Settings;
import io.sluice.server.events.Logs;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs the publish path before the broker serves: a private broker on ephemeral loopback ports (memory only,
 * nobody else can reach it) carries MQTT traffic from clients in this JVM, over WebSocket and TCP, QoS 1 point to
 * point and QoS 0 through a wildcard, in rounds of new clients on new topics, until the JIT's compiler threads are
 * nearly idle or the time is up; then it is closed and the real broker starts. The JIT's code is the JVM's, so the
 * real broker's first clients find the publish path compiled instead of starting in the interpreter while the
 * compiler threads take the same cores.
 *
 * <p>Rounds of new clients, because compiled code is specialised to what it has seen: a warm-up whose few clients
 * stayed connected left compiled code in which a new connection's and a new topic's first-use branches had never
 * been taken, and the real broker's first clients, all new, threw that code away in their first milliseconds
 * (benchmarks/analysis.md). The clients here are still not the real ones (their own codecs run in this JVM, their
 * sockets are NIO), so some compiled methods meet other paths when the real traffic comes. Opt-in
 * ({@code --warm-up}), for the command line's start only: an embedded broker's start stays fast, and a test's JVM
 * warms up on the tests.
 */
final class WarmUp {
    private static final String TOPIC = "sluice-warm-up/";
    /** QoS 1 messages a publisher has unacknowledged at most, by publisher: single messages to batches. */
    private static final int[] WINDOWS = {32, 1, 8, 32};
    /** Point-to-point pairs per round. */
    private static final int PAIRS = 4;
    /** How long one round's clients publish before they go and new ones come. */
    private static final long ROUND = 1_000;
    /** The compiler threads' share of one core, in percent, under which an interval counts as quiet. */
    private static final long JIT_QUIET_PERCENT = 10;
    /** How often the rate of delivery is read. */
    private static final long INTERVAL = 500;
    /** Messages a warm-up carries at least before it may end (thresholds of the optimising compiler passed). */
    private static final long MIN_MESSAGES = 50_000;

    private final AtomicLong delivered = new AtomicLong();
    private volatile boolean stopping;

    private WarmUp() {
    }

    /** What a warm-up did: messages delivered, and how long it took. */
    record Result(long messages, long millis, boolean settled) {
    }

    /**
     * Run a private broker with the performance-relevant settings of {@code settings} and traffic through it for
     * at most {@code budget}; quiet (the private broker's log lines are dropped). Never throws: a warm-up that
     * fails leaves a broker that starts cold.
     */
    static Result run(Settings settings, Duration budget) {
        long start = System.nanoTime();
        WarmUp w = new WarmUp();
        boolean settled = false;
        try {
            settled = Logs.capturing(Logs.DISCARD, () -> w.traffic(privateSettings(settings), budget));
        } catch (RuntimeException e) {
            // a broker that cannot warm up still starts; the real start reports what is wrong with the settings
        }
        return new Result(w.delivered.get(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), settled);
    }

    /** Memory only, loopback only, ephemeral ports, no cluster, no files: the rest as the real broker has it. */
    static Settings privateSettings(Settings s) {
        return Settings.defaults()
                .with(Settings.BIND, "127.0.0.1")
                .with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, 0)
                .with(Settings.STOMP_PORT, -1)
                .with(Settings.PERSISTENCE, "none")
                .with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.LOG_LEVEL, "error")
                .with(Settings.NATIVE_TRANSPORT, s.get(Settings.NATIVE_TRANSPORT))
                .with(Settings.IO_THREADS, s.get(Settings.IO_THREADS))
                .with(Settings.INFLIGHT_WINDOW, s.get(Settings.INFLIGHT_WINDOW))
                .with(Settings.LIVE_QUEUE_WINDOWS, s.get(Settings.LIVE_QUEUE_WINDOWS))
                .with(Settings.WS_COMPRESSION, s.get(Settings.WS_COMPRESSION));
    }

    private boolean traffic(Settings settings, Duration budget) {
        long deadline = System.nanoTime() + budget.toNanos();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean watchJit = jit != null && jit.isCompilationTimeMonitoringSupported();
        try (SluiceServer server = SluiceServer.start(settings)) {
            int ws = server.port("http");
            int tcp = server.port("mqtt");
            long last = delivered.get();
            long lastJit = watchJit ? jit.getTotalCompilationTime() : 0;
            long best = 0;
            int quiet = 0;
            for (int round = 0; System.nanoTime() < deadline; round++) {
                List<Channel> channels = connectRound(group, ws, tcp, round, deadline);
                if (channels == null) {
                    return false;
                }
                long roundEnd = Math.min(deadline, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ROUND));
                try {
                    while (System.nanoTime() < roundEnd) {
                        Thread.sleep(Math.min(INTERVAL, Math.max(1, TimeUnit.NANOSECONDS.toMillis(roundEnd - System.nanoTime()))));
                        long now = delivered.get();
                        long rate = now - last;
                        last = now;
                        boolean flat;
                        if (watchJit) {
                            // settled: the compiler threads are nearly idle (the publish path runs compiled code)
                            long compiled = jit.getTotalCompilationTime();
                            flat = (compiled - lastJit) * 100 <= INTERVAL * JIT_QUIET_PERCENT;
                            lastJit = compiled;
                        } else {
                            // without the JIT's clock: the rate of delivery has stopped rising
                            flat = rate * 10 <= best * 11;
                            best = Math.max(best, rate);
                        }
                        quiet = flat ? quiet + 1 : 0;
                        if (quiet >= 2 && now >= MIN_MESSAGES) {
                            return true;
                        }
                    }
                } finally {
                    for (Channel ch : channels) {
                        ch.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
                    }
                }
            }
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            stopping = true;
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * One round's clients, all new: point-to-point pairs over WebSocket and TCP at QoS 1 on topics no earlier round
     * used, publishers with different windows (one message at a time to 32), and a wildcard subscriber
     * that gets everything at QoS 0. New clients and topics every round, because a real broker's first clients are
     * new connections on new topics: the first-use branches (a session's first queue, a topic's first counter, a
     * pipeline's first read) are then in the compiled code's profile instead of traps that throw it away.
     * Null when the subscriptions were not confirmed in time.
     */
    private List<Channel> connectRound(EventLoopGroup group, int ws, int tcp, int round, long deadline) throws InterruptedException {
        List<Channel> channels = new ArrayList<>();
        String prefix = TOPIC + round + "/";
        CountDownLatch subscribed = new CountDownLatch(PAIRS + 1);
        channels.add(connect(group, tcp, false, "w" + round, TOPIC + "#", MqttQoS.AT_MOST_ONCE, 0, subscribed));
        for (int i = 0; i < PAIRS; i++) {
            channels.add(connect(group, i % 2 == 0 ? ws : tcp, i % 2 == 0, "s" + round + "-" + i, prefix + i,
                    MqttQoS.AT_LEAST_ONCE, 0, subscribed));
        }
        if (!subscribed.await(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())), TimeUnit.MILLISECONDS)) {
            for (Channel ch : channels) {
                ch.close();
            }
            return null;
        }
        for (int i = 0; i < PAIRS; i++) {
            int window = WINDOWS[(i + round) % WINDOWS.length];
            channels.add(connect(group, i % 2 == 0 ? ws : tcp, i % 2 == 0, "p" + round + "-" + i, prefix + i, null, window, null));
        }
        return channels;
    }

    /**
     * One client: a subscriber to {@code filter} when {@code qos} is given, else a publisher to {@code topic}
     * keeping {@code window} QoS 1 messages unacknowledged.
     */
    private Channel connect(EventLoopGroup group, int port, boolean webSocket, String id, String topic, MqttQoS qos,
                            int window, CountDownLatch subscribed) throws InterruptedException {
        Client client = new Client("sluice-warm-up-" + id, topic, qos, window, subscribed);
        Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ChannelPipeline p = ch.pipeline();
                        if (webSocket) {
                            p.addLast(new HttpClientCodec(), new HttpObjectAggregator(8192),
                                    new WebSocketClientProtocolHandler(URI.create("ws://127.0.0.1:" + port + "/mqtt"),
                                            WebSocketVersion.V13, "mqtt", false, new DefaultHttpHeaders(), 65536),
                                    new FramesToBytes(), new BytesToFrames());
                        }
                        p.addLast(new MqttDecoder(), MqttEncoder.INSTANCE, client);
                    }
                });
        return b.connect("127.0.0.1", port).sync().channel();
    }

    private final class Client extends SimpleChannelInboundHandler<Object> {
        private final String clientId;
        private final String topic;
        private final MqttQoS subscribeQos;
        private final CountDownLatch subscribed;
        private final int window;
        private final ByteBuf payload = Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(new byte[64]));
        private int packetId;
        private int unacknowledged;

        Client(String clientId, String topic, MqttQoS subscribeQos, int window, CountDownLatch subscribed) {
            this.clientId = clientId;
            this.window = window;
            this.topic = topic;
            this.subscribeQos = subscribeQos;
            this.subscribed = subscribed;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
                sendConnect(ctx);
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (ctx.pipeline().get(WebSocketClientProtocolHandler.class) == null) {
                sendConnect(ctx);
            }
            ctx.fireChannelActive();
        }

        private void sendConnect(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(MqttMessageBuilders.connect().clientId(clientId).protocolVersion(MqttVersion.MQTT_3_1_1)
                    .cleanSession(true).keepAlive(60).build());
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof MqttMessage m) || m.fixedHeader() == null) {
                return;
            }
            switch (m.fixedHeader().messageType()) {
                case CONNACK -> {
                    if (((MqttConnAckMessage) m).variableHeader().connectReturnCode() != MqttConnectReturnCode.CONNECTION_ACCEPTED) {
                        ctx.close();
                    } else if (subscribeQos != null) {
                        ctx.writeAndFlush(MqttMessageBuilders.subscribe().messageId(1).addSubscription(subscribeQos, topic).build());
                    } else {
                        publish(ctx);
                    }
                }
                case SUBACK -> subscribed.countDown();
                case PUBLISH -> {
                    MqttPublishMessage p = (MqttPublishMessage) m;
                    delivered.incrementAndGet();
                    if (p.fixedHeader().qosLevel() == MqttQoS.AT_LEAST_ONCE) {
                        ctx.writeAndFlush(pubAck(p.variableHeader().packetId()));
                    }
                }
                case PUBACK -> {
                    unacknowledged--;
                    publish(ctx);
                }
                default -> {
                }
            }
        }

        private void publish(ChannelHandlerContext ctx) {
            if (stopping) {
                return;
            }
            while (unacknowledged < window) {
                packetId = packetId % 65_535 + 1;
                unacknowledged++;
                ctx.write(MqttMessageBuilders.publish().topicName(topic).qos(MqttQoS.AT_LEAST_ONCE).messageId(packetId)
                        .payload(payload.duplicate()).build());
            }
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static MqttPubAckMessage pubAck(int packetId) {
        return new MqttPubAckMessage(new MqttFixedHeader(MqttMessageType.PUBACK, false, MqttQoS.AT_MOST_ONCE, false, 2),
                MqttMessageIdVariableHeader.from(packetId));
    }

    private static final class FramesToBytes extends MessageToMessageDecoder<WebSocketFrame> {
        @Override
        protected void decode(ChannelHandlerContext ctx, WebSocketFrame frame, List<Object> out) {
            if (frame instanceof BinaryWebSocketFrame || frame instanceof ContinuationWebSocketFrame) {
                out.add(frame.content().retain());
            }
        }
    }

    private static final class BytesToFrames extends MessageToMessageEncoder<ByteBuf> {
        @Override
        protected void encode(ChannelHandlerContext ctx, ByteBuf msg, List<Object> out) {
            out.add(new BinaryWebSocketFrame(msg.retain()));
        }
    }
}
