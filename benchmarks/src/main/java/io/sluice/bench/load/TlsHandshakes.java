package io.sluice.bench.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;

import java.io.File;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * New MQTT connections over TLS per second ({@code java -jar benchmarks.jar tls-handshakes --port N --ca FILE};
 * without {@code --ca}, the same connections in clear, to compare):
 * {@code --concurrency} connections at a time, each a TCP connect, a full TLS handshake (or a resumed one with
 * {@code --resume true}: the client offers the session or ticket the server gave it before), with
 * {@code --ws PATH} a WebSocket upgrade to subprotocol {@code mqtt} on that path (WSS), an
 * MQTT 3.1.1 CONNECT answered by CONNACK, then close. The client is BoringSSL (netty-tcnative) on one event-loop
 * thread, trusting only {@code --ca}. Bounded by {@code --duration} and {@code --max}; loopback only. The last
 * line is one JSON object.
 */
public final class TlsHandshakes {
    private TlsHandshakes() {
    }

    public static void main(String[] args) throws Exception {
        int port = 8883;
        String ca = null;
        boolean resume = false;
        int concurrency = 8;
        double duration = 5;
        double warmup = 1;
        long max = 1_000_000;
        long brokerPid = 0;
        String label = "";
        String wsPath = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(v);
                case "--ca" -> ca = v;
                case "--resume" -> resume = Boolean.parseBoolean(v);
                case "--concurrency" -> concurrency = Math.max(1, Integer.parseInt(v));
                case "--duration" -> duration = Double.parseDouble(v);
                case "--warmup" -> warmup = Double.parseDouble(v);
                case "--max" -> max = Long.parseLong(v);
                case "--broker-pid" -> brokerPid = Long.parseLong(v);
                case "--label" -> label = v;
                case "--ws" -> wsPath = v.startsWith("/") ? v : "/" + v;
                default -> {
                    System.err.println("flags: --port N (8883) --ca PEM (without it: clear TCP, to compare) --resume true|false (false) --concurrency N (8)"
                            + " --ws PATH (a WebSocket upgrade first: WSS with --ca, WS without)"
                            + " --duration S (5) --warmup S (1) --max N --broker-pid PID --label L");
                    System.exit(2);
                }
            }
        }
        // without --ca the same connections in clear, so the difference is what TLS costs
        SslContext tls = ca == null ? null : SslContextBuilder.forClient().trustManager(new File(ca))
                .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK).build();
        new TlsHandshakes.Run(tls, port, wsPath, resume, concurrency, duration, warmup, max, brokerPid, label).go();
    }

    /**
     * tcnative's SSL.isSessionReused, looked up at run time (tcnative is a runtime dependency of the server) and only
     * once BoringSSL is loaded, which initialising that class needs.
     */
    private static final class SessionReused {
        static final MethodHandle HANDLE = lookup();
    }

    private static MethodHandle lookup() {
        try {
            return MethodHandles.publicLookup().findStatic(Class.forName("io.netty.internal.tcnative.SSL"),
                    "isSessionReused", MethodType.methodType(boolean.class, long.class));
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    /** Whether the handshake resumed a session (BoringSSL engines only; false for the JDK's). */
    static boolean reused(SslHandler ssl) {
        if (!(ssl.engine() instanceof ReferenceCountedOpenSslEngine e) || SessionReused.HANDLE == null) {
            return false;
        }
        try {
            return (boolean) SessionReused.HANDLE.invokeExact(e.sslPointer());
        } catch (Throwable t) {
            return false;
        }
    }

    private static final class Run {
        private final SslContext tls;
        private final int port;
        /** The WebSocket path to upgrade on before MQTT, null for MQTT straight over the socket. */
        private final String wsPath;
        private final boolean resume;
        private final int concurrency;
        private final double duration;
        private final double warmup;
        private final long max;
        private final ProcessStats broker;
        private final String label;
        private final AtomicLong done = new AtomicLong();
        private final AtomicLong resumed = new AtomicLong();
        private final AtomicLong failed = new AtomicLong();
        private final AtomicLong attempts = new AtomicLong();
        private volatile boolean stop;
        private volatile long measureFrom = Long.MAX_VALUE;
        private final AtomicLong measured = new AtomicLong();
        private final AtomicLong measuredResumed = new AtomicLong();
        private CountDownLatch finished;
        private Bootstrap bootstrap;

        Run(SslContext tls, int port, String wsPath, boolean resume, int concurrency, double duration, double warmup,
            long max, long brokerPid, String label) {
            this.tls = tls;
            this.port = port;
            this.wsPath = wsPath;
            this.resume = resume;
            this.concurrency = concurrency;
            this.duration = duration;
            this.warmup = warmup;
            this.max = max;
            this.broker = new ProcessStats(brokerPid);
            this.label = label;
        }

        void go() throws Exception {
            boolean epoll = Epoll.isAvailable();
            IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, io);
            try {
                bootstrap = new Bootstrap().group(group).channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                        .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                        .option(ChannelOption.TCP_NODELAY, true)
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
                finished = new CountDownLatch(concurrency);
                long start = System.nanoTime();
                for (int i = 0; i < concurrency; i++) {
                    next();
                }
                Thread.sleep((long) (warmup * 1000));
                double cpu0 = broker.cpuSeconds();
                long t0 = System.nanoTime();
                measureFrom = t0;
                Thread.sleep((long) (duration * 1000));
                stop = true;
                long t1 = System.nanoTime();
                long count = measured.get();
                long countResumed = measuredResumed.get();
                double cpu1 = broker.cpuSeconds();
                finished.await(30, TimeUnit.SECONDS);
                double seconds = (t1 - t0) / 1e9;
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("label", label);
                r.put("resume", resume);
                r.put("concurrency", concurrency);
                r.put("tls", tls != null);
                r.put("websocket", wsPath != null);
                r.put("client_provider", tls == null ? "none" : OpenSsl.isAvailable() ? "BoringSSL" : "JDK");
                r.put("handshakes_per_s", count / seconds);
                r.put("resumed_fraction", count == 0 ? 0.0 : (double) countResumed / count);
                r.put("failed", failed.get());
                r.put("total", done.get());
                if (broker.enabled() && count > 0) {
                    r.put("broker_cpu_us_per_handshake", (cpu1 - cpu0) * 1e6 / count);
                }
                r.put("seconds", (System.nanoTime() - start) / 1e9);
                System.out.printf(Locale.ROOT, "tls-handshakes %s: %.0f connections/s (%sMQTT CONNECT), %.0f%% resumed, %d failed%n",
                        label, count / seconds, (tls == null ? "" : "TLS + ") + (wsPath == null ? "" : "WebSocket upgrade + "),
                        100.0 * (double) r.get("resumed_fraction"), failed.get());
                System.out.println(Json.write(r));
            } finally {
                group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            }
        }

        /** One connection: TCP, TLS, (WebSocket upgrade,) CONNECT, CONNACK, close; then the next, until the run stops. */
        private void next() {
            if (stop || done.get() >= max) {
                finished.countDown();
                return;
            }
            bootstrap.clone().handler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    // the client's session cache is keyed by the peer's host and port: the real port finds what it
                    // kept from the last handshake, a port never used before finds nothing (the host is still
                    // verified against the certificate either way)
                    int peerPort = resume ? port : 1 + (int) (attempts.getAndIncrement() % 65_000);
                    SslHandler ssl = tls == null ? null : tls.newHandler(ch.alloc(), "127.0.0.1", peerPort);
                    if (ssl != null) {
                        ch.pipeline().addLast(ssl);
                    }
                    if (wsPath != null) {
                        URI uri = URI.create((ssl == null ? "ws://" : "wss://") + "127.0.0.1:" + port + wsPath);
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(8192),
                                new WebSocketClientProtocolHandler(WebSocketClientProtocolConfig.newBuilder()
                                        .webSocketUri(uri).version(WebSocketVersion.V13).subprotocol("mqtt")
                                        .handshakeTimeoutMillis(10_000).dropPongFrames(true).build()),
                                new Wire.FramesToBytes(), new Wire.BytesToFrames());
                    }
                    ch.pipeline().addLast(new MqttDecoder(), MqttEncoder.INSTANCE, new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelActive(ChannelHandlerContext ctx) {
                            if (wsPath == null) {
                                connect(ctx);
                            }
                            ctx.fireChannelActive();
                        }

                        @Override
                        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                            // over a WebSocket, CONNECT goes once the upgrade is answered with 101
                            if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
                                connect(ctx);
                            }
                            ctx.fireUserEventTriggered(evt);
                        }

                        private void connect(ChannelHandlerContext ctx) {
                            ctx.writeAndFlush(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_3_1_1)
                                    .clientId("tls-" + Long.toHexString(System.nanoTime())).cleanSession(true).build());
                        }

                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            if (msg instanceof MqttConnAckMessage ack
                                    && ack.variableHeader().connectReturnCode() == MqttConnectReturnCode.CONNECTION_ACCEPTED) {
                                done.incrementAndGet();
                                boolean wasResumed = ssl != null && reused(ssl);
                                if (wasResumed) {
                                    resumed.incrementAndGet();
                                }
                                if (System.nanoTime() >= measureFrom && !stop) {
                                    measured.incrementAndGet();
                                    if (wasResumed) {
                                        measuredResumed.incrementAndGet();
                                    }
                                }
                            } else {
                                failed.incrementAndGet();
                            }
                            ctx.close();
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            if (failed.getAndIncrement() == 0) {
                                System.out.println("first failure: " + cause);
                            }
                            ctx.close();
                        }

                        @Override
                        public void channelInactive(ChannelHandlerContext ctx) {
                            next();
                        }
                    });
                }
            }).connect("127.0.0.1", port).addListener(f -> {
                if (!f.isSuccess()) {
                    failed.incrementAndGet();
                    next();
                }
            });
        }
    }
}
