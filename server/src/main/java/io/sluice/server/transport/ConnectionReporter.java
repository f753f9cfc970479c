package io.sluice.server.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One log line when a connection reaches its protocol, one when it closes (with why, if a handler said), and
 * one for every connection refused before reaching a protocol. Protocol adapters log their own events (CONNECT
 * with the client id and so on); these lines are the transport's view: remote address, transport, protocol.
 */
public final class ConnectionLog extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger("io.sluice.transport");
    private static final AttributeKey<Transport> TRANSPORT = AttributeKey.valueOf("sluice.transport");
    private static final AttributeKey<String> CLOSE_REASON = AttributeKey.valueOf("sluice.closeReason");

    private final ConnectionInfo info;
    private final String protocol;
    private long openedNanos;

    public ConnectionLog(ConnectionInfo info, String protocol) {
        this.info = info;
        this.protocol = protocol;
    }

    /** Label a new channel with the transport it arrived on (used by refusal lines). */
    public static void transport(Channel channel, Transport transport) {
        channel.attr(TRANSPORT).set(transport);
    }

    /** Say why the server is closing this connection; the close line reports the first reason given. */
    public static void closeReason(Channel channel, String reason) {
        channel.attr(CLOSE_REASON).setIfAbsent(reason);
    }

    /** A connection turned away before reaching a protocol: logged here, counted by the listener's events. */
    public static void refused(Channel channel, TransportEvents.Refusal kind, String reason) {
        closeReason(channel, reason);
        Transport t = channel.attr(TRANSPORT).get();
        TransportEvents.of(channel).refused(t, channel.remoteAddress(), kind);
        log.info("refused {} connection from {}: {}", t == null ? "?" : t.label(), channel.remoteAddress(), reason);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        openedNanos = System.nanoTime();
        log.info("open {} {} connection from {}{}", protocol, info.transport().label(), info.remote(), details());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        String reason = ctx.channel().attr(CLOSE_REASON).get();
        long seconds = (System.nanoTime() - openedNanos) / 1_000_000_000L;
        log.info("closed {} {} connection from {}{} after {} s: {}", protocol, info.transport().label(), info.remote(),
                details(), seconds, reason == null ? "connection closed" : reason);
        ctx.fireChannelInactive();
    }

    private String details() {
        StringBuilder sb = new StringBuilder();
        if (info.subprotocol() != null) {
            sb.append(" subprotocol=").append(info.subprotocol().token());
        }
        if (info.path() != null) {
            sb.append(" path=").append(info.path());
        }
        return sb.toString();
    }
}
