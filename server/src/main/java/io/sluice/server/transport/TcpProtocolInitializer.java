package io.sluice.server.transport;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.ConnectionLog;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Transport;

import java.util.Optional;

/**
 * The pipeline of a TCP listener dedicated to one protocol (MQTT on 1883): the protocol's handlers straight on
 * the socket, installed once the channel is active so they see the same state as on WebSocket.
 */
public final class TcpProtocolInitializer extends ChannelInitializer<SocketChannel> {
    private final ProtocolRegistry registry;
    private final String protocol;
    private final TransportConfig config;
    private final ConnectionEvents events;

    public TcpProtocolInitializer(ProtocolRegistry registry, String protocol, TransportConfig config) {
        this(registry, protocol, config, new ConnectionLog());
    }

    public TcpProtocolInitializer(ProtocolRegistry registry, String protocol, TransportConfig config,
                                  ConnectionEvents events) {
        this.registry = registry;
        this.protocol = protocol;
        this.config = config;
        this.events = events;
    }

    /** The protocol this listener serves ("mqtt", "stomp"). */
    public String protocol() {
        return protocol;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        ConnectionReporter.attach(ch, Transport.TCP, events);
        ch.pipeline().addLast("handshake-timeout", new HandshakeTimeout(config.handshakeTimeoutMillis(), true));
        ch.pipeline().addLast("tcp-install", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                Optional<ProtocolModule> module = registry.byName(protocol);
                if (module.isEmpty()) {
                    ConnectionReporter.refused(ctx.channel(), Refusal.BAD_HANDSHAKE, "protocol " + protocol + " is not enabled on this server");
                    ctx.close();
                    return;
                }
                ctx.pipeline().remove(this);
                ProtocolInstaller.install(ctx.channel(), module.get(),
                        new ConnectionInfo(Transport.TCP, null, ctx.channel().remoteAddress(), null));
                ctx.fireChannelActive();
            }
        });
    }
}
