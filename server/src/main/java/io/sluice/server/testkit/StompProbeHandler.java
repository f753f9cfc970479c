package io.sluice.server.testkit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.stomp.DefaultStompFrame;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeaders;
import io.netty.util.ReferenceCountUtil;
import io.sluice.protocol.mqtt.ReasonCode;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The STOMP connection's probe, after the frame aggregator: traces each frame both ways, notes the frame being
 * handled for strict mode's quote, and carries out the faults that mean something in STOMP (drop, drop after
 * N frames, delayed MESSAGE frames, a refused CONNECT and a server ERROR).
 */
final class StompProbeHandler extends ChannelDuplexHandler implements ProtocolProbe {
    private final Probe probe;
    private ChannelHandlerContext ctx;

    StompProbeHandler(Probe probe) {
        this.probe = probe;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof StompFrame frame)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (probe.kit.strict()) {
            probe.lastInbound = render(frame);
        }
        StompCommand command = frame.command();
        if (command == StompCommand.CONNECT || command == StompCommand.STOMP) {
            String login = frame.headers().getAsString(StompHeaders.LOGIN);
            String clientId = frame.headers().getAsString("client-id");
            probe.clientId(clientId != null ? clientId : login);
            probe.kit.journal("CONNECT " + probe.describe() + " accept-version "
                    + frame.headers().getAsString(StompHeaders.ACCEPT_VERSION));
            Faults.Refusal refusal = probe.kit.faults().takeRefusal(probe.clientId());
            if (refusal != null) {
                trace("in", frame);
                ReferenceCountUtil.release(frame);
                probe.kit.journal("fault: refusing CONNECT of " + probe.describe() + " with " + refusal.reason());
                error(ctx, "connection refused", refusal.reason());
                return;
            }
        }
        trace("in", frame);
        boolean drop = probe.faults.countdownToDrop();
        ctx.fireChannelRead(msg);
        if (drop) {
            probe.kit.journal("fault: dropping " + probe.describe() + " after its frames");
            ctx.channel().close();
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof StompFrame frame) {
            long delay = probe.faults.delayMillis;
            if (frame.command() == StompCommand.MESSAGE && delay > 0) {
                trace("delayed", frame);
                ctx.executor().schedule(() -> {
                    trace("out", frame);
                    ctx.writeAndFlush(frame, promise);
                }, delay, TimeUnit.MILLISECONDS);
                return;
            }
            trace("out", frame);
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (probe.kit.tracer() != null) {
            probe.trace("closed", "CLOSED", g -> { }, 0, null);
        }
        super.channelInactive(ctx);
    }

    @Override
    public void disconnect(ReasonCode reason) {
        if (ctx.channel().isActive()) {
            error(ctx, "disconnected by the server", reason);
        }
    }

    private void error(ChannelHandlerContext ctx, String message, ReasonCode reason) {
        DefaultStompFrame error = new DefaultStompFrame(StompCommand.ERROR,
                Unpooled.copiedBuffer("A test fault: " + reason.description() + " (" + MqttTrace.hex(reason.code()) + ")",
                        StandardCharsets.UTF_8));
        error.headers().set(StompHeaders.MESSAGE, message + ": " + reason.description());
        error.headers().set(StompHeaders.CONTENT_TYPE, "text/plain");
        trace("out", error);
        ctx.writeAndFlush(error).addListener(ChannelFutureListener.CLOSE);
    }

    /** A frame as text: command, headers, blank line, body (as much as a violation keeps). */
    private static byte[] render(StompFrame frame) {
        StringBuilder sb = new StringBuilder(frame.command().name()).append('\n');
        for (Map.Entry<CharSequence, CharSequence> h : frame.headers()) {
            sb.append(h.getKey()).append(':').append(h.getValue()).append('\n');
        }
        sb.append('\n');
        byte[] head = sb.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuf body = frame.content();
        int room = Math.max(0, io.sluice.server.events.Violation.MAX_BYTES - head.length);
        byte[] out = java.util.Arrays.copyOf(head, Math.min(io.sluice.server.events.Violation.MAX_BYTES,
                head.length + Math.min(room, body.readableBytes())));
        if (out.length > head.length) {
            body.getBytes(body.readerIndex(), out, head.length, out.length - head.length);
        }
        return out;
    }

    private void trace(String direction, StompFrame frame) {
        if (probe.kit.tracer() == null) {
            return;
        }
        probe.trace(direction, frame.command().name(), g -> {
            for (Map.Entry<CharSequence, CharSequence> h : frame.headers()) {
                String name = h.getKey().toString();
                boolean secret = name.equals("passcode") || name.equals("Authorization");
                g.writeStringField(name, secret ? "(hidden)" : h.getValue().toString());
            }
        }, frame.content().readableBytes(), Payloads.prefix(frame.content()));
    }
}
