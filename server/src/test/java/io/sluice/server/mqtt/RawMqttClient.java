package io.sluice.server.mqtt;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.MessageToMessageCodec;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;

import java.net.URI;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * A test client at packet level, on Netty's MQTT codec, for what real client libraries refuse to do: leave a
 * delivery unacknowledged, send malformed or forbidden packets, and watch exactly what the broker answers.
 */
public final class RawMqttClient implements AutoCloseable {
    private static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

    private final Channel channel;
    private final BlockingQueue<MqttMessage> received = new LinkedBlockingQueue<>();

    /** Over WebSocket: a copy of each binary frame's payload received, in order. */
    final List<ByteBuf> frames = new CopyOnWriteArrayList<>();

    private RawMqttClient(int port) {
        this(port, null);
    }

    /** {@code wsUri}: MQTT over WebSocket at this URI (subprotocol {@code mqtt}); null: over TCP. */
    private RawMqttClient(int port, URI wsUri) {
        CompletableFuture<Void> upgraded = new CompletableFuture<>();
        channel = new Bootstrap().group(GROUP).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (wsUri != null) {
                            ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 16),
                                    new WebSocketClientProtocolHandler(WebSocketClientHandshakerFactory.newHandshaker(
                                            wsUri, WebSocketVersion.V13, "mqtt", false, null, 1 << 24)),
                                    new FrameBytes(upgraded));
                        } else {
                            upgraded.complete(null);
                        }
                        ch.pipeline().addLast(new MqttDecoder(16 * 1024 * 1024), MqttEncoder.INSTANCE,
                                new SimpleChannelInboundHandler<MqttMessage>(false) {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, MqttMessage msg) {
                                        if (msg instanceof MqttPublishMessage p) {
                                            // keep a heap copy so tests need not release anything
                                            MqttPublishMessage copy = p.replace(
                                                    Unpooled.wrappedBuffer(ByteBufUtil.getBytes(p.content())));
                                            ReferenceCountUtil.release(p);
                                            received.add(copy);
                                        } else {
                                            received.add(msg);
                                        }
                                    }
                                });
                    }
                })
                .connect("127.0.0.1", port).syncUninterruptibly().channel();
        upgraded.orTimeout(10, TimeUnit.SECONDS).join();
    }

    /** Binary frames in, their payloads on to the MQTT decoder (kept, copied, in {@link #frames}); bytes out as frames. */
    private final class FrameBytes extends MessageToMessageCodec<BinaryWebSocketFrame, ByteBuf> {
        private final CompletableFuture<Void> upgraded;

        FrameBytes(CompletableFuture<Void> upgraded) {
            this.upgraded = upgraded;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
                upgraded.complete(null);
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        protected void encode(ChannelHandlerContext ctx, ByteBuf msg, List<Object> out) {
            out.add(new BinaryWebSocketFrame(msg.retain()));
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, BinaryWebSocketFrame frame, List<Object> out) {
            frames.add(Unpooled.wrappedBuffer(ByteBufUtil.getBytes(frame.content())));
            out.add(frame.content().retain());
        }
    }

    public static RawMqttClient open(int port) {
        return new RawMqttClient(port);
    }

    /** MQTT over WebSocket on the HTTP port, at {@code /mqtt}, not yet connected at MQTT level. */
    static RawMqttClient openWebSocket(int httpPort) {
        return new RawMqttClient(httpPort, URI.create("ws://127.0.0.1:" + httpPort + "/mqtt"));
    }

    /** Connect and return the CONNACK. */
    public static RawMqttClient connected(int port, MqttVersion version, String clientId, boolean clean) {
        return connected(port, version, clientId, clean, MqttProperties.NO_PROPERTIES);
    }

    static RawMqttClient connected(int port, MqttVersion version, String clientId, boolean clean,
                                   MqttProperties props) {
        RawMqttClient c = open(port);
        MqttConnAckMessage ack = c.connect(version, clientId, clean, props);
        assertEquals(0, ack.variableHeader().connectReturnCode().byteValue(), "CONNACK " + ack);
        return c;
    }

    MqttConnAckMessage connect(MqttVersion version, String clientId, boolean clean, MqttProperties props) {
        send(MqttMessageBuilders.connect().protocolVersion(version).clientId(clientId).cleanSession(clean)
                .keepAlive(60).properties(props).build());
        return (MqttConnAckMessage) expect(MqttMessageType.CONNACK);
    }

    /**
     * Decode what comes back as this version before any CONNECT went out (Netty's codec learns the version
     * from the CONNECT it encodes, under this attribute name).
     */
    RawMqttClient speaking(MqttVersion version) {
        channel.attr(AttributeKey.<MqttVersion>valueOf("NETTY_CODEC_MQTT_VERSION")).set(version);
        return this;
    }

    public void send(MqttMessage m) {
        channel.writeAndFlush(m).syncUninterruptibly();
    }

    void sendBytes(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            b[i] = (byte) bytes[i];
        }
        channel.writeAndFlush(Unpooled.wrappedBuffer(b)).syncUninterruptibly();
    }

    /** The next packet, or null when none arrives within the time. */
    public MqttMessage next(long millis) {
        try {
            return received.poll(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    public MqttMessage expect(MqttMessageType type) {
        MqttMessage m = next(10_000);
        assertNotNull(m, "no " + type + " within 10 s");
        assertEquals(type, m.fixedHeader().messageType(), "expected " + type + ", got " + m);
        return m;
    }

    /** True when the broker closed the connection within the time. */
    boolean awaitClosed(long millis) {
        return channel.closeFuture().awaitUninterruptibly(millis);
    }

    boolean isOpen() {
        return channel.isActive();
    }

    /** Drop the connection without DISCONNECT, as a crashed client would. */
    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
