package io.sluice.server.mqtt;

import io.netty.bootstrap.Bootstrap;
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

import java.util.concurrent.BlockingQueue;
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

    private RawMqttClient(int port) {
        channel = new Bootstrap().group(GROUP).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
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
    }

    public static RawMqttClient open(int port) {
        return new RawMqttClient(port);
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
