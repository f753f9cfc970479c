package io.sluice.bench.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.MessageToMessageDecoder;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.stomp.StompSubframeAggregator;
import io.netty.handler.codec.stomp.StompSubframeDecoder;
import io.netty.handler.codec.stomp.StompSubframeEncoder;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.Promise;

import javax.net.ssl.SSLException;
import java.io.File;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The generator's client side: ONE event loop thread for every connection (so the generator leaves the broker
 * the rest of the machine), pooled buffers, epoll where available; TCP or WebSocket, in clear or over TLS
 * (BoringSSL where it loads), under Netty's MQTT or STOMP codec.
 */
final class Wire implements AutoCloseable {
    static final int MAX_MESSAGE = 1 << 20;

    final EventLoopGroup group;
    final EventLoop loop;
    private final Bootstrap bootstrap;
    private final LoadOptions options;
    /** The client's TLS context when {@code --tls-ca} is given, else null. */
    private final SslContext tls;
    /**
     * Local addresses connections are bound to in turn (127.0.0.1, .2, ...), null for the kernel's choice: the
     * loopback has about 28,000 ephemeral ports per address pair, fewer than a large idle run needs.
     */
    private final InetSocketAddress[] sources;
    private final AtomicInteger nextSource = new AtomicInteger();

    Wire(LoadOptions options) {
        this.options = options;
        try {
            tls = options.tlsCa == null ? null : SslContextBuilder.forClient().trustManager(new File(options.tlsCa))
                    .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK).build();
        } catch (SSLException e) {
            throw new IllegalArgumentException("--tls-ca " + options.tlsCa + ": " + e.getMessage(), e);
        }
        int n = options.sourceAddressCount();
        if (n > 1) {
            sources = new InetSocketAddress[n];
            for (int i = 0; i < n; i++) {
                try {
                    sources[i] = new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, (byte) ((i + 1) >> 8),
                            (byte) ((i + 1) & 0xff)}), 0);
                } catch (UnknownHostException e) {
                    throw new IllegalStateException(e);
                }
            }
        } else {
            sources = null;
        }
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        group = new MultiThreadIoEventLoopGroup(1, io);
        loop = group.next();
        bootstrap = new Bootstrap().group(loop)
                .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
    }

    /** Open a connection; the promise completes when the broker accepted CONNECT. Call on any thread. */
    Promise<ClientConn> connect(String clientId) {
        return connect(clientId, options.port);
    }

    /** The same, to a given port of the host (another node of a cluster). */
    Promise<ClientConn> connect(String clientId, int port) {
        Promise<ClientConn> connected = loop.newPromise();
        boolean ws = options.ws();
        ClientConn conn = options.stomp()
                ? new StompConn(clientId, ws, options.keepAlive, connected)
                : new MqttConn(clientId, ws, options.keepAlive, options.cleanSession, connected);
        Bootstrap b = bootstrap.clone().handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ChannelPipeline p = ch.pipeline();
                if (tls != null) {
                    p.addLast(tls.newHandler(ch.alloc(), options.host, port));
                }
                if (ws) {
                    URI uri = URI.create((tls == null ? "ws://" : "wss://") + options.host + ":" + port + options.path);
                    p.addLast(new HttpClientCodec(), new HttpObjectAggregator(8192),
                            new WebSocketClientProtocolHandler(WebSocketClientProtocolConfig.newBuilder()
                                    .webSocketUri(uri).version(WebSocketVersion.V13)
                                    .subprotocol(options.stomp() ? "v12.stomp" : "mqtt")
                                    .maxFramePayloadLength(MAX_MESSAGE).handshakeTimeoutMillis(10_000)
                                    .dropPongFrames(true).build()),
                            new FramesToBytes(), new BytesToFrames());
                }
                if (options.keepAlive > 0) {
                    p.addLast(new IdleStateHandler(0, Math.max(1, options.keepAlive / 2), 0, TimeUnit.SECONDS));
                }
                if (options.stomp()) {
                    p.addLast(new StompSubframeDecoder(8192, MAX_MESSAGE), new StompSubframeAggregator(MAX_MESSAGE),
                            new StompSubframeEncoder());
                } else {
                    p.addLast(new MqttDecoder(MAX_MESSAGE), MqttEncoder.INSTANCE);
                }
                p.addLast(conn);
            }
        });
        ChannelFuture f = sources == null ? b.connect(options.host, port)
                : b.connect(new InetSocketAddress(options.host, port),
                        sources[Math.floorMod(nextSource.getAndIncrement(), sources.length)]);
        f.addListener(r -> {
            if (!r.isSuccess()) {
                connected.tryFailure(r.cause());
            }
        });
        // an attempt its caller gave up on (a timeout) leaves no socket behind
        connected.addListener(r -> {
            if (!r.isSuccess()) {
                f.channel().close();
            }
        });
        return connected;
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** WebSocket data frames in, their payload bytes out, in order (a message may span frames). */
    static final class FramesToBytes extends MessageToMessageDecoder<WebSocketFrame> {
        @Override
        protected void decode(ChannelHandlerContext ctx, WebSocketFrame frame, List<Object> out) {
            if (frame instanceof BinaryWebSocketFrame || frame instanceof TextWebSocketFrame
                    || frame instanceof ContinuationWebSocketFrame) {
                out.add(frame.content().retain());
            }
        }
    }

    /** Each encoded packet or frame out as one binary WebSocket frame. */
    static final class BytesToFrames extends MessageToMessageEncoder<ByteBuf> {
        @Override
        protected void encode(ChannelHandlerContext ctx, ByteBuf msg, List<Object> out) {
            out.add(new BinaryWebSocketFrame(msg.retain()));
        }
    }
}
