package io.sluice.server.ops;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Transport;

import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * First handler of every listener's pipeline: asks {@link Admission} when a socket opens. Admitted sockets
 * give their place back when they close. Refused ones are marked and counted and left open for a short grace
 * period, so the protocol behind can answer in its own words (see {@link Admission}); whatever happens, they
 * are closed when the grace period ends. The handler removes itself once it has decided.
 */
@ChannelHandler.Sharable
public final class AdmissionHandler extends ChannelInboundHandlerAdapter {
    /** Long enough to read one CONNECT or upgrade request and write the answer on a loaded machine. */
    static final long REFUSED_GRACE_MILLIS = 5_000;

    private final Admission admission;
    private final Transport transport;
    private final ConnectionEvents events;

    public AdmissionHandler(Admission admission, Transport transport, ConnectionEvents events) {
        this.admission = admission;
        this.transport = transport;
        this.events = events;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        SocketAddress remote = ctx.channel().remoteAddress();
        Refusal refusal = admission.admit(remote);
        if (refusal == null) {
            ctx.channel().closeFuture().addListener(f -> admission.release(remote));
        } else {
            ctx.channel().attr(Admission.REFUSAL).set(refusal);
            events.refused(transport, remote, null, null, refusal, null);
            ctx.executor().schedule(() -> {
                ctx.channel().close();
            }, REFUSED_GRACE_MILLIS, TimeUnit.MILLISECONDS);
        }
        ctx.pipeline().remove(this);
        ctx.fireChannelActive();
    }
}
