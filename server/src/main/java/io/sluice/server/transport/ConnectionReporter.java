package io.sluice.server.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Transport;

/**
 * The transport's side of the connection events: tells the listener's {@link ConnectionEvents} when a
 * connection reaches its protocol, when it closes (with why, if a handler said), and when one is refused
 * before reaching a protocol. Each channel carries its listener's events and transport as attributes, so any
 * handler reports through {@link #events(Channel)} without being handed it. The lines themselves are written by
 * {@link io.sluice.server.events.ConnectionLog}.
 */
public final class ConnectionReporter extends ChannelInboundHandlerAdapter {
    private static final AttributeKey<Transport> TRANSPORT = AttributeKey.valueOf("sluice.transport");
    private static final AttributeKey<String> CLOSE_REASON = AttributeKey.valueOf("sluice.closeReason");
    private static final AttributeKey<ConnectionEvents> EVENTS = AttributeKey.valueOf("sluice.connectionEvents");

    private final ConnectionInfo info;
    private final String protocol;
    private long openedNanos;

    public ConnectionReporter(ConnectionInfo info, String protocol) {
        this.info = info;
        this.protocol = protocol;
    }

    /** Label a new channel with the transport it arrived on and the events its listener reports to. */
    public static void attach(Channel channel, Transport transport, ConnectionEvents events) {
        channel.attr(TRANSPORT).set(transport);
        channel.attr(EVENTS).set(events);
    }

    /**
     * The events of the channel's listener; {@link ConnectionEvents#NONE} if none was attached. Attributes are read
     * with {@code hasAttr} first here and elsewhere: {@code attr(key)} adds the key to the channel even to read it,
     * and an idle connection would carry every key anything ever looked for.
     */
    public static ConnectionEvents events(Channel channel) {
        ConnectionEvents e = channel.hasAttr(EVENTS) ? channel.attr(EVENTS).get() : null;
        return e == null ? ConnectionEvents.NONE : e;
    }

    /** Say why the server is closing this connection; the close line reports the first reason given. */
    public static void closeReason(Channel channel, String reason) {
        channel.attr(CLOSE_REASON).setIfAbsent(reason);
    }

    /** A connection turned away before reaching a protocol: reported (logged and counted) with the detail. */
    public static void refused(Channel channel, Refusal kind, String detail) {
        closeReason(channel, detail);
        events(channel).refused(channel.hasAttr(TRANSPORT) ? channel.attr(TRANSPORT).get() : null, channel.remoteAddress(), null, null, kind, detail);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        openedNanos = System.nanoTime();
        events(ctx.channel()).opened(protocol, info);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        String reason = ctx.channel().hasAttr(CLOSE_REASON) ? ctx.channel().attr(CLOSE_REASON).get() : null;
        long seconds = (System.nanoTime() - openedNanos) / 1_000_000_000L;
        events(ctx.channel()).closed(protocol, info, seconds, reason == null ? "connection closed" : reason);
        ctx.fireChannelInactive();
    }
}
