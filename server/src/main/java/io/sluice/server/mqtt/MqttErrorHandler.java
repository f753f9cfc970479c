package io.sluice.server.mqtt;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

import java.io.IOException;

/**
 * The end of the MQTT handlers: an I/O error (the peer vanished) is logged quietly, anything else as a bug,
 * and the connection closes; a packet nobody handled is released.
 */
final class MqttErrorHandler extends ChannelInboundHandlerAdapter {
    private final MqttConnection connection;

    MqttErrorHandler(MqttConnection connection) {
        this.connection = connection;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            if (MqttConnection.log().isDebugEnabled()) {
                MqttConnection.log().debug("{}: {}", connection.describe(), cause.toString());
            }
        } else {
            MqttConnection.log().warn("{}: unexpected error, closing the connection (please report it)",
                    connection.describe(), cause);
        }
        ctx.close();
    }
}
