package io.sluice.bench.load;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.MessageToMessageDecoder;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
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
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttSubAckPayload;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import io.netty.util.AttributeKey;
import io.sluice.protocol.topic.TopicFilter;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The ceiling: MQTT 3.1.1 over TCP and WebSocket on Netty with no broker logic: CONNACK and SUBACK at once,
 * PUBACK at once, and every PUBLISH relayed to the connections subscribed to its topic (exact map; wildcard
 * filters in a plain list), with no sessions, no queues, no flow control, no limits. Whatever a broker does
 * beyond this costs something; Sluice's share of this forwarder's rate is what its logic costs.
 *
 * <p>{@code java -jar benchmarks.jar forwarder --mqtt-port 1883 --http-port 8083 [--threads 2]}; WebSocket on
 * {@code /mqtt}, subprotocol {@code mqtt}. Loopback only.
 */
public final class RawForwarder {
    private static final AttributeKey<int[]> PACKET_ID = AttributeKey.valueOf("forwarderPacketId");
    private final Map<String, List<Target>> exact = new ConcurrentHashMap<>();
    private final List<Target> wildcard = new CopyOnWriteArrayList<>();

    private record Target(String filter, Channel channel, int qos) {
    }

    public static void main(String[] args) throws Exception {
        int mqttPort = 1883;
        int httpPort = 8083;
        int threads = 2;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--mqtt-port" -> mqttPort = Integer.parseInt(args[i + 1]);
                case "--http-port" -> httpPort = Integer.parseInt(args[i + 1]);
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown flag " + args[i]
                        + " (flags: --mqtt-port N --http-port N --threads N)");
            }
        }
        Running r = new RawForwarder().start(mqttPort, httpPort, threads);
        System.out.println("Raw forwarder ready: mqtt=" + r.tcp.localAddress() + " http=" + r.http.localAddress());
        r.tcp.closeFuture().sync();
    }

    /** A started forwarder: its listeners (port 0 binds an ephemeral one) and its event loops. */
    public static final class Running implements AutoCloseable {
        private final EventLoopGroup group;
        private final Channel tcp;
        private final Channel http;

        private Running(EventLoopGroup group, Channel tcp, Channel http) {
            this.group = group;
            this.tcp = tcp;
            this.http = http;
        }

        public int mqttPort() {
            return ((java.net.InetSocketAddress) tcp.localAddress()).getPort();
        }

        public int httpPort() {
            return ((java.net.InetSocketAddress) http.localAddress()).getPort();
        }

        @Override
        public void close() {
            tcp.close().syncUninterruptibly();
            http.close().syncUninterruptibly();
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** Bind both listeners on loopback and serve until closed. */
    public static Running start(int mqttPort, int httpPort, int threads) throws InterruptedException {
        return new RawForwarder().serve(mqttPort, httpPort, threads);
    }

    private Running serve(int mqttPort, int httpPort, int threads) throws InterruptedException {
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, io);
        ServerBootstrap base = new ServerBootstrap().group(group)
                .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.TCP_NODELAY, true);
        Channel tcp = base.clone().childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                mqtt(ch.pipeline());
            }
        }).bind("127.0.0.1", mqttPort).sync().channel();
        Channel http = base.clone().childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(8192),
                        new WebSocketServerProtocolHandler(WebSocketServerProtocolConfig.newBuilder()
                                .websocketPath("/mqtt").subprotocols("mqtt").maxFramePayloadLength(Wire.MAX_MESSAGE)
                                .build()),
                        new FramesToBytes(), new BytesToFrames());
                mqtt(ch.pipeline());
            }
        }).bind("127.0.0.1", httpPort).sync().channel();
        return new Running(group, tcp, http);
    }

    private void mqtt(ChannelPipeline p) {
        p.addLast(new MqttDecoder(Wire.MAX_MESSAGE), MqttEncoder.INSTANCE, new Relay());
    }

    private final class Relay extends SimpleChannelInboundHandler<MqttMessage> {
        private final List<Channel> toFlush = new ArrayList<>();

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, MqttMessage m) {
            switch (m.fixedHeader().messageType()) {
                case CONNECT -> ctx.write(MqttMessageBuilders.connAck()
                        .returnCode(MqttConnectReturnCode.CONNECTION_ACCEPTED).build());
                case SUBSCRIBE -> subscribe(ctx, (MqttSubscribeMessage) m);
                case PUBLISH -> publish(ctx, (MqttPublishMessage) m);
                case PINGREQ -> ctx.write(new MqttMessage(new MqttFixedHeader(MqttMessageType.PINGRESP, false,
                        MqttQoS.AT_MOST_ONCE, false, 0)));
                case DISCONNECT -> ctx.close();
                default -> {
                }
            }
        }

        private void subscribe(ChannelHandlerContext ctx, MqttSubscribeMessage m) {
            List<Integer> granted = new ArrayList<>();
            for (MqttTopicSubscription s : m.payload().topicSubscriptions()) {
                int qos = Math.min(1, s.qualityOfService().value());
                Target t = new Target(s.topicFilter(), ctx.channel(), qos);
                if (TopicFilter.hasWildcard(s.topicFilter())) {
                    wildcard.add(t);
                } else {
                    exact.computeIfAbsent(s.topicFilter(), k -> new CopyOnWriteArrayList<>()).add(t);
                }
                granted.add(qos);
            }
            ctx.write(new MqttSubAckMessage(new MqttFixedHeader(MqttMessageType.SUBACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
                    MqttMessageIdVariableHeader.from(m.variableHeader().messageId()), new MqttSubAckPayload(granted)));
        }

        private void publish(ChannelHandlerContext ctx, MqttPublishMessage m) {
            String topic = m.variableHeader().topicName();
            int qos = m.fixedHeader().qosLevel().value();
            if (qos > 0) {
                ctx.write(new MqttPubAckMessage(new MqttFixedHeader(MqttMessageType.PUBACK, false, MqttQoS.AT_MOST_ONCE, false, 2),
                        MqttMessageIdVariableHeader.from(m.variableHeader().packetId())));
            }
            List<Target> targets = exact.get(topic);
            if (targets != null) {
                for (Target t : targets) {
                    relay(ctx, t, topic, qos, m.payload());
                }
            }
            for (Target t : wildcard) {
                if (TopicFilter.matches(t.filter(), topic)) {
                    relay(ctx, t, topic, qos, m.payload());
                }
            }
        }

        private void relay(ChannelHandlerContext ctx, Target t, String topic, int qos, ByteBuf payload) {
            int q = Math.min(qos, t.qos());
            int id = 0;
            if (q > 0) {
                int[] counter = t.channel().attr(PACKET_ID).setIfAbsent(new int[1]);
                if (counter == null) {
                    counter = t.channel().attr(PACKET_ID).get();
                }
                synchronized (counter) {
                    counter[0] = counter[0] % 65_535 + 1;
                    id = counter[0];
                }
            }
            MqttPublishMessage out = new MqttPublishMessage(
                    new MqttFixedHeader(MqttMessageType.PUBLISH, false, MqttQoS.valueOf(q), false, 0),
                    new MqttPublishVariableHeader(topic, id), payload.retainedDuplicate());
            // write now, flush once per read batch (channelReadComplete), for every target alike
            Channel ch = t.channel();
            ch.write(out, ch.voidPromise());
            if (!toFlush.contains(ch)) {
                toFlush.add(ch);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
            for (Channel ch : toFlush) {
                ch.flush();
            }
            toFlush.clear();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Channel ch = ctx.channel();
            wildcard.removeIf(t -> t.channel() == ch);
            exact.values().forEach(list -> list.removeIf(t -> t.channel() == ch));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
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
