package io.sluice.server.stomp;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.sluice.server.security.Security;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.BrokerConfig;
import io.sluice.server.config.Settings;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.Transport;
import io.sluice.server.mqtt.MqttModule;
import io.sluice.server.transport.ProtocolModule;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/** One broker with the STOMP and the MQTT module, each on a plain TCP listener on 127.0.0.1, ephemeral ports. */
final class StompTestServer implements AutoCloseable {
    final Broker broker;
    final StompModule stomp;
    final RecordingEvents events = new RecordingEvents();
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final Channel stompListener;
    private final Channel mqttListener;

    StompTestServer() {
        this(Settings.defaults());
    }

    StompTestServer(Settings settings) {
        this(settings, BrokerConfig.DEFAULTS);
    }

    StompTestServer(Settings settings, BrokerConfig config) {
        this(settings, config, Security.allowAll());
    }

    StompTestServer(Settings settings, BrokerConfig config, Security security) {
        broker = new Broker(config);
        stomp = new StompModule(broker, settings, security, events);
        stompListener = listen(stomp);
        mqttListener = listen(new MqttModule(broker, settings));
    }

    private Channel listen(ProtocolModule module) {
        return new ServerBootstrap()
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
        return ((InetSocketAddress) stompListener.localAddress()).getPort();
    }

    int mqttPort() {
        return ((InetSocketAddress) mqttListener.localAddress()).getPort();
    }

    @Override
    public void close() {
        stompListener.close().syncUninterruptibly();
        mqttListener.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        broker.close();
    }
}
