package io.sluice.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.server.events.Refusal;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Turns away, in its protocol, a socket that admission shed as it was accepted (the broker is overloaded): on a
 * thread of its own ({@link EventLoops#refusals()}), with no protocol handler, no session, no log line, just the
 * protocol's answer built from the first bytes ({@link ProtocolModule#refusal}: an MQTT CONNACK 0x89 "server busy",
 * 3.1.1 return code 0x03 "server unavailable", a STOMP ERROR frame), then a lingering close (FIN, the rest of what
 * the client sends dropped until it closes). A client told so backs off as a
 * well-behaved client does on any refusal, and knows it was refused rather than cut off by a network fault.
 *
 * <p>Bounded: at most {@code max} sockets are being answered at once; past that {@link #answer} says no and the
 * caller closes the socket unanswered, so a storm far past the broker cannot pile sockets onto this thread. A
 * socket that does not say enough to be answered within {@link #GRACE_MILLIS} is closed.
 */
public final class ShedAnswer {
    /** A CONNECT normally follows the TCP handshake at once; a client slower than this is closed unanswered. */
    static final long GRACE_MILLIS = 2_000;
    /** More than any protocol needs to be answered (an MQTT CONNECT up to its protocol level is 14 bytes). */
    private static final int MAX_HEAD = 64;

    private final EventLoopGroup loop;
    private final ProtocolModule module;
    private final int max;
    private final AtomicInteger answering = new AtomicInteger();

    /**
     * @param module the listener's protocol, whose answer refuses; null to close unanswered (a TLS listener, where
     *               an answer would cost a TLS handshake)
     */
    public ShedAnswer(EventLoopGroup loop, ProtocolModule module, int max) {
        this.loop = loop;
        this.module = module;
        this.max = max;
    }

    /**
     * On the acceptor thread, for a socket not yet registered anywhere: answer it with {@code refusal} and close it;
     * false (the socket untouched) when this listener has no answer or {@code max} sockets are being answered.
     */
    public boolean answer(Channel child, Refusal refusal) {
        if (module == null) {
            return false;
        }
        if (answering.incrementAndGet() > max) {
            answering.decrementAndGet();
            return false;
        }
        child.closeFuture().addListener(f -> answering.decrementAndGet());
        child.pipeline().addLast(new Answer(module, refusal));
        loop.register(child).addListener(f -> {
            if (!f.isSuccess()) {
                child.unsafe().closeForcibly();
            }
        });
        return true;
    }

    /** Sockets being answered now. */
    public int answering() {
        return answering.get();
    }

    private static final class Answer extends ChannelInboundHandlerAdapter {
        private final ProtocolModule module;
        private final Refusal refusal;
        private ByteBuf head;
        private ScheduledFuture<?> timeout;
        private boolean done;

        Answer(ProtocolModule module, Refusal refusal) {
            this.module = module;
            this.refusal = refusal;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            timeout = ctx.executor().schedule(() -> {
                ctx.close();
            }, GRACE_MILLIS, TimeUnit.MILLISECONDS);
            head = ctx.alloc().heapBuffer(16, MAX_HEAD);
            tryAnswer(ctx); // a protocol that needs no bytes (STOMP) answers at once
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (!done && msg instanceof ByteBuf in) {
                    head.writeBytes(in, Math.min(in.readableBytes(), head.maxWritableBytes()));
                    tryAnswer(ctx);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void tryAnswer(ChannelHandlerContext ctx) {
            ByteBuf answer = module.refusal(head, refusal);
            if (answer == null && head.isWritable()) {
                return; // more bytes needed
            }
            done = true;
            if (answer == null || !answer.isReadable()) {
                ReferenceCountUtil.release(answer);
                ctx.close();
            } else if (ctx.channel() instanceof DuplexChannel duplex) {
                // a lingering close: the answer, then FIN, reading (and dropping) until the client closes or the
                // grace period ends; closing with the rest of its CONNECT unread would send RST, and the client
                // could lose the answer
                ctx.writeAndFlush(answer).addListener(f -> duplex.shutdownOutput());
            } else {
                ctx.writeAndFlush(answer).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a client going away while refused: nothing to say
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (timeout != null) {
                timeout.cancel(false);
            }
            if (head != null) {
                head.release();
                head = null;
            }
        }
    }
}
