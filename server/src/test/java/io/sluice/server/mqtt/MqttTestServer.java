package io.sluice.server.mqtt;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.BrokerConfig;
import io.sluice.server.config.Settings;
import io.sluice.server.transport.ConnectionInfo;
import io.sluice.server.transport.Transport;

import java.net.InetSocketAddress;

/** A broker and the MQTT module on a plain TCP listener on 127.0.0.1, ephemeral port, for tests. */
final class MqttTestServer implements AutoCloseable {
    final Broker broker;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final Channel listener;

    MqttTestServer() {
        this(Settings.defaults());
    }

    MqttTestServer(Settings settings) {
        this(settings, BrokerConfig.DEFAULTS);
    }

    MqttTestServer(Settings settings, BrokerConfig config) {
        broker = new Broker(config);
        MqttModule module = new MqttModule(broker, settings);
        listener = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        module.install(ch.pipeline(), new ConnectionInfo(Transport.TCP, null, ch.remoteAddress(), null));
                    }
                })
                .bind("127.0.0.1", 0).syncUninterruptibly().channel();
    }

    int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    String tcpUri() {
        return "tcp://127.0.0.1:" + port();
    }

    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        broker.close();
    }
}
