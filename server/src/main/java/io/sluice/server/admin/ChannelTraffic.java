package io.sluice.server.admin;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

/**
 * The first handler of every client socket: counts the bytes it reads and writes (the wire bytes, framing
 * included) and lets the {@link ConnectionTable} find the socket of a connection by its remote address.
 * Only the socket's event loop writes the counters; the admin thread reads them.
 */
final class ChannelTraffic extends ChannelDuplexHandler {
    private final ConnectionTable table;
    private volatile Channel channel;
    private volatile long bytesIn;
    private volatile long bytesOut;

    ChannelTraffic(ConnectionTable table) {
        this.table = table;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        channel = ctx.channel();
        table.opened(this);
        super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        table.closed(this);
        super.channelInactive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        bytesIn += size(msg);
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        bytesOut += size(msg);
        ctx.write(msg, promise);
    }

    private static int size(Object msg) {
        if (msg instanceof ByteBuf b) {
            return b.readableBytes();
        }
        return msg instanceof ByteBufHolder h ? h.content().readableBytes() : 0;
    }

    Channel channel() {
        return channel;
    }

    long bytesIn() {
        return bytesIn;
    }

    long bytesOut() {
        return bytesOut;
    }

    /** Reads are off while a protocol's inbound gate holds the publisher back (QoS 1 backpressure). */
    boolean readsPaused() {
        Channel c = channel;
        return c != null && c.isActive() && !c.config().isAutoRead();
    }
}
