package io.sluice.server.ops;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.sluice.server.auth.Authenticator;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.BrokerConfig;
import io.sluice.server.config.Settings;
import io.sluice.server.mqtt.MqttModule;
import io.sluice.server.transport.ConnectionInfo;
import io.sluice.server.transport.Transport;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * A broker with its operations, MQTT on a TCP listener and the ops endpoints on an HTTP listener, both on
 * 127.0.0.1 with ephemeral ports and {@link AdmissionHandler} first, wired the way the server wires them.
 */
final class OpsTestServer implements AutoCloseable {
    final Broker broker = new Broker(BrokerConfig.DEFAULTS);
    final Operations ops;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final Channel mqtt;
    private final Channel http;

    OpsTestServer(Settings settings) {
        ops = Operations.start(settings, broker);
        MqttModule module = new MqttModule(broker, settings, Authenticator.ALLOW_ALL, ops.events());
        AdmissionHandler tcpAdmission = ops.admissionHandler(Transport.TCP);
        mqtt = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(tcpAdmission);
                        module.install(ch.pipeline(), new ConnectionInfo(Transport.TCP, null, ch.remoteAddress(), null));
                    }
                })
                .bind("127.0.0.1", 0).syncUninterruptibly().channel();
        AdmissionHandler httpAdmission = ops.admissionHandler(Transport.WEBSOCKET);
        int maxHeader = settings.get(Settings.MAX_HTTP_HEADER_SIZE);
        http = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(httpAdmission);
                        ch.pipeline().addLast(new HttpServerCodec(4096, maxHeader, 8192));
                        ch.pipeline().addLast(ops.upgradeRefusalHandler());
                        ch.pipeline().addLast(new HttpObjectAggregator(65_536));
                        ch.pipeline().addLast(new SimpleChannelInboundHandler<FullHttpRequest>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                                FullHttpResponse r = ops.endpoints().respond(req, ctx.alloc());
                                if (r == null) {
                                    r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND);
                                    r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
                                }
                                ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
                            }
                        });
                    }
                })
                .bind("127.0.0.1", 0).syncUninterruptibly().channel();
        ops.readiness().ready();
    }

    int mqttPort() {
        return ((InetSocketAddress) mqtt.localAddress()).getPort();
    }

    int httpPort() {
        return ((InetSocketAddress) http.localAddress()).getPort();
    }

    String mqttUri() {
        return "tcp://127.0.0.1:" + mqttPort();
    }

    /** What the server's close does: drain and close connections, then stop listening. */
    void shutdown() {
        ops.shutdown();
        close();
    }

    @Override
    public void close() {
        mqtt.close().syncUninterruptibly();
        http.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        ops.close();
        broker.close();
    }
}
