package io.sluice.bench.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SSE against MQTT over WebSocket on one broker process, side by side in one run:
 * {@code java -jar benchmarks.jar sse [--jar server/target/sluice.jar] [--streams 1000] [--rate 100] [--duration 5]}.
 * <ol>
 *   <li>memory per idle connection: N idle MQTT WebSockets (the load generator's idle scenario), then N idle SSE
 *       streams, broker RSS and heap after a full GC before and after;</li>
 *   <li>fan-out: one publisher, N subscribers, {@code --rate} messages/s for {@code --duration} s: the load
 *       generator's fanout over MQTT/WebSocket, then POST /publish to N SSE streams; delivered msg/s, p99;</li>
 *   <li>the time for N SSE streams to be back after the broker restarts on the same port (each reconnects every
 *       100 ms with its Last-Event-ID, as a browser does after its retry delay).</li>
 * </ol>
 * The broker is a separate process (its RSS is its own); everything is on loopback and bounded in time.
 */
public final class SseBench {
    private static final Pattern READY = Pattern.compile("http=([^ ]+):(\\d+)");
    private static final Pattern PAYLOAD = Pattern.compile("\"payload\":\"(\\d+)\"");

    private final String jar;
    private final int streams;
    private final int rate;
    private final int duration;
    private Process broker;
    private int httpPort;

    private SseBench(Map<String, String> flags) {
        this.jar = flags.getOrDefault("jar", "server/target/sluice.jar");
        this.streams = Integer.parseInt(flags.getOrDefault("streams", "1000"));
        this.rate = Integer.parseInt(flags.getOrDefault("rate", "100"));
        this.duration = Integer.parseInt(flags.getOrDefault("duration", "5"));
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> flags = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            flags.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        Map<String, Object> r = new SseBench(flags).run();
        System.out.println(Json.write(r));
    }

    private Map<String, Object> run() throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("streams", streams);
        r.put("rate", rate);
        r.put("duration_s", duration);
        start(0);
        try {
            ProcessStats proc = new ProcessStats(broker.pid());
            Map<String, Object> idle = LoadGenerator.run("--scenario", "idle", "--transport", "ws", "--port",
                    String.valueOf(httpPort), "--clients", String.valueOf(streams), "--duration", "2",
                    "--broker-pid", String.valueOf(broker.pid()));
            r.put("ws_idle_heap_bytes_per_conn", idle.get("heap_bytes_per_conn"));
            r.put("ws_idle_rss_bytes_per_conn", idle.get("rss_bytes_per_conn"));
            Map<String, Object> fan = LoadGenerator.run("--scenario", "fanout", "--transport", "ws", "--port",
                    String.valueOf(httpPort), "--clients", String.valueOf(streams), "--duration", String.valueOf(duration),
                    "--rate", String.valueOf(rate), "--payload", "64");
            r.put("ws_fanout_msgs_per_s", fan.get("msgs_per_s"));
            r.put("ws_fanout_p99_us", fan.get("latency_p99_us"));

            EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
            try {
                Streams s = new Streams(group);
                long heapBefore = proc.heapUsedAfterGcKb();
                long rssBefore = proc.rssKb();
                s.openAll();
                Thread.sleep(1000);
                long heapAfter = proc.heapUsedAfterGcKb();
                long rssAfter = proc.rssKb();
                r.put("sse_open", s.open.get());
                r.put("sse_idle_heap_bytes_per_conn", (heapAfter - heapBefore) * 1024 / streams);
                r.put("sse_idle_rss_bytes_per_conn", (rssAfter - rssBefore) * 1024 / streams);

                Histogram latency = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
                s.latency = latency;
                HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                long sent = 0;
                long begin = System.nanoTime();
                long end = begin + TimeUnit.SECONDS.toNanos(duration);
                while (System.nanoTime() < end) {
                    long due = begin + sent * 1_000_000_000L / rate;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                    // not waiting for each answer: the publisher keeps its pace, as the MQTT one does
                    http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort
                                    + "/publish?topic=bench/sse/out&qos=0"))
                            .POST(HttpRequest.BodyPublishers.ofString(Long.toString(System.nanoTime()))).build(),
                            java.net.http.HttpResponse.BodyHandlers.discarding());
                    sent++;
                }
                long expected = sent * streams;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (s.received.get() < expected && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                double seconds = (System.nanoTime() - begin) / 1e9;
                r.put("sse_fanout_sent", sent);
                r.put("sse_fanout_delivered", s.received.get());
                r.put("sse_fanout_msgs_per_s", s.received.get() / Math.max(seconds, duration));
                r.put("sse_fanout_p99_us", latency.getValueAtPercentile(99));

                s.reconnecting = true;
                s.open.set(0);
                broker.destroy();
                broker.waitFor(30, TimeUnit.SECONDS);
                long restart = System.nanoTime();
                start(httpPort);
                long ready = System.nanoTime();
                deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (s.open.get() < streams && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                r.put("sse_resumed", s.open.get());
                r.put("sse_broker_restart_s", (ready - restart) / 1e9);
                r.put("sse_resume_after_ready_s", (System.nanoTime() - ready) / 1e9);
                s.reconnecting = false;
                s.closeAll();
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            }
        } finally {
            broker.destroy();
            broker.waitFor(30, TimeUnit.SECONDS);
        }
        double ws = ((Number) r.get("ws_idle_rss_bytes_per_conn")).doubleValue();
        double sse = ((Number) r.get("sse_idle_rss_bytes_per_conn")).doubleValue();
        r.put("idle_rss_ratio_sse_to_ws", ws <= 0 ? -1 : sse / ws);
        return r;
    }

    private void start(int port) throws Exception {
        Path data = Files.createTempDirectory("sluice-sse-bench");
        broker = new ProcessBuilder("java", "-jar", jar, "--bind", "127.0.0.1", "--mqtt-port", "0", "--stomp-port", "0",
                "--http-port", String.valueOf(port), "--persistence", "none", "--data-dir", data.toString(),
                "--sys-interval", "0", "--shutdown-drain", "0", "--connect-burst", String.valueOf(2 * streams + 100),
                "--log-level", "warn", "--sse-retry", "100ms")
                .redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(broker.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null) {
            Matcher m = READY.matcher(line);
            if (line.startsWith("Sluice ready") && m.find()) {
                httpPort = Integer.parseInt(m.group(2));
                break;
            }
        }
        if (line == null) {
            throw new IllegalStateException("the broker did not start");
        }
        Thread drain = new Thread(() -> {
            try {
                while (out.readLine() != null) {
                    // keep the pipe empty
                }
            } catch (Exception e) {
                // the broker stopped
            }
        });
        drain.setDaemon(true);
        drain.start();
    }

    /** N SSE streams on one topic over Netty: counts events, measures latency, reconnects with Last-Event-ID. */
    private final class Streams {
        final EventLoopGroup group;
        final AtomicInteger open = new AtomicInteger();
        final AtomicLong received = new AtomicLong();
        final List<Channel> channels = new ArrayList<>();
        volatile Histogram latency;
        volatile boolean reconnecting;

        Streams(EventLoopGroup group) {
            this.group = group;
        }

        void openAll() throws Exception {
            for (int i = 0; i < streams; i++) {
                connect(new String[] {null});
                if (i % 100 == 99) {
                    Thread.sleep(50);
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (open.get() < streams && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        }

        void connect(String[] lastId) {
            new Bootstrap().group(group).channel(NioSocketChannel.class).handler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(new HttpClientCodec(), new SimpleChannelInboundHandler<HttpObject>() {
                        @Override
                        public void channelActive(ChannelHandlerContext ctx) {
                            DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET,
                                    "/sse?filter=bench/sse/out");
                            req.headers().set(HttpHeaderNames.HOST, "127.0.0.1");
                            if (lastId[0] != null) {
                                req.headers().set("Last-Event-ID", lastId[0]);
                            }
                            ctx.writeAndFlush(req);
                        }

                        @Override
                        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
                            if (msg instanceof HttpResponse res && res.status().code() == 200) {
                                open.incrementAndGet();
                            }
                            if (msg instanceof HttpContent c) {
                                ByteBuf b = c.content();
                                String text = b.toString(StandardCharsets.UTF_8);
                                int id = text.lastIndexOf("id:");
                                if (id >= 0) {
                                    lastId[0] = text.substring(id + 3, text.indexOf('\n', id));
                                }
                                Histogram h = latency;
                                Matcher m = PAYLOAD.matcher(text);
                                while (m.find()) {
                                    received.incrementAndGet();
                                    if (h != null) {
                                        long micros = (System.nanoTime() - Long.parseLong(m.group(1))) / 1000;
                                        synchronized (h) {
                                            h.recordValue(Math.min(micros, h.getHighestTrackableValue()));
                                        }
                                    }
                                }
                            }
                        }

                        @Override
                        public void channelInactive(ChannelHandlerContext ctx) {
                            if (reconnecting) {
                                ctx.channel().eventLoop().schedule(() -> connect(lastId), 100, TimeUnit.MILLISECONDS);
                            }
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            ctx.close();
                        }
                    });
                }
            }).connect("127.0.0.1", httpPort).addListener(f -> {
                if (f.isSuccess()) {
                    synchronized (channels) {
                        channels.add(((io.netty.channel.ChannelFuture) f).channel());
                    }
                } else if (reconnecting) {
                    group.next().schedule(() -> connect(lastId), 100, TimeUnit.MILLISECONDS);
                }
            });
        }

        void closeAll() {
            synchronized (channels) {
                channels.forEach(Channel::close);
            }
        }
    }
}
