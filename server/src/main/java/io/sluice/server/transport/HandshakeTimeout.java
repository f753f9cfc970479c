package io.sluice.server.transport;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.server.events.Refusal;

import java.util.concurrent.TimeUnit;

/**
 * Closes a connection that does not get as far as a protocol within the handshake timeout: on the HTTP port,
 * one that never completes its WebSocket upgrade and names (or shows) its protocol; on a TCP port, one that
 * never sends a byte. A socket that opens and waits costs the broker a file descriptor and buffers; this
 * bounds how long. On the HTTP port the clock restarts with every plain HTTP request answered ({@link #RESTART}),
 * which bounds idle keep-alive connections the same way. The connection counts as established when {@link ProtocolInstaller} fires
 * {@link #ESTABLISHED} (or, with {@code firstByteEnough}, at the first read); the handler then leaves.
 */
public final class HandshakeTimeout extends ChannelInboundHandlerAdapter {
    /** User event: the connection has reached its protocol (or an HTTP endpoint); stop the clock. */
    public static final Object ESTABLISHED = new Object() {
        @Override
        public String toString() {
            return "ESTABLISHED";
        }
    };

    /**
     * User event: a plain HTTP request was answered; the connection gets the timeout again to send its next
     * request (keep-alive) or be closed, so idle HTTP connections do not pile up.
     */
    public static final Object RESTART = new Object() {
        @Override
        public String toString() {
            return "RESTART";
        }
    };

    /**
     * User event: an endpoint holds its answer back on purpose (a long-poll waiting for a message, a publish
     * waiting for room); stop the clock until the answer is written and {@link #RESTART} starts it again.
     */
    public static final Object HOLD = new Object() {
        @Override
        public String toString() {
            return "HOLD";
        }
    };

    private final long timeoutMillis;
    private final boolean firstByteEnough;
    private ScheduledFuture<?> timer;

    public HandshakeTimeout(long timeoutMillis, boolean firstByteEnough) {
        this.timeoutMillis = timeoutMillis;
        this.firstByteEnough = firstByteEnough;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) {
            start(ctx);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        start(ctx);
        ctx.fireChannelActive();
    }

    private void start(ChannelHandlerContext ctx) {
        if (timer == null && timeoutMillis > 0) {
            timer = ctx.executor().schedule(() -> {
                ConnectionReporter.refused(ctx.channel(), Refusal.HANDSHAKE_TIMEOUT, "no protocol established within the handshake timeout ("
                        + timeoutMillis + " ms)");
                ctx.close();
            }, timeoutMillis, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (firstByteEnough) {
            stop(ctx);
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ESTABLISHED) {
            if (!firstByteEnough) {
                stop(ctx);
            }
            return;
        }
        if (evt == HOLD) {
            cancel();
            timer = null;
            return;
        }
        if (evt == RESTART) {
            cancel();
            timer = null;
            start(ctx);
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    private void stop(ChannelHandlerContext ctx) {
        ctx.pipeline().remove(this);
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
        }
    }
}
