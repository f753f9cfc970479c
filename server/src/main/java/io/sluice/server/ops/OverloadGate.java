package io.sluice.server.ops;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Transport;

/**
 * Sheds new connections at the door while the broker is overloaded ({@link Admission#overloaded()}): on the
 * acceptor thread, each socket just accepted is closed before it is handed to an I/O thread, so refusing it
 * costs the overloaded I/O threads nothing; answering it in its protocol (a CONNACK "server busy") would cost
 * them nearly what serving it does, which is what they lack. The client sees its connection closed and backs
 * off, as EMQX's overload protection makes it ({@code backoff_new_conn}). Counted as refused, reason
 * {@code overloaded}, without a log line per socket (a storm would flood the log).
 *
 * <p>Sits on every listener's server channel, in front of Netty's acceptor.
 */
@ChannelHandler.Sharable
public final class OverloadGate extends ChannelInboundHandlerAdapter {
    private final Admission admission;
    private final Transport transport;
    private final ConnectionEvents events;

    OverloadGate(Admission admission, Transport transport, ConnectionEvents events) {
        this.admission = admission;
        this.transport = transport;
        this.events = events;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Channel child && admission.overloaded()) {
            events.refused(transport, child.remoteAddress(), null, null, Refusal.OVERLOADED, null);
            child.unsafe().closeForcibly();
            return;
        }
        ctx.fireChannelRead(msg);
    }
}
