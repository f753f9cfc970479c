package io.sluice.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.sluice.protocol.ws.Subprotocol;
import io.sluice.server.events.ConnectionInfo;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A stand-in protocol for transport tests: its units are lines, and it answers each line with
 * {@code name + ":" + line} in a write of its own, so a test sees both which module got the bytes and where
 * the unit boundaries fell. The line {@code bye} makes it close the
 * connection, {@code pause MILLIS} makes it stop reading for that long (as backpressure pauses a publisher). Recognised, when sniffed, by the first line starting with one of its commands.
 */
final class LineEchoModule implements ProtocolModule {
    private final String name;
    private final List<Subprotocol> subprotocols;
    private final List<String> paths;
    private final List<String> commands;
    private final boolean acceptsText;

    LineEchoModule(String name, List<Subprotocol> subprotocols, List<String> paths, List<String> commands,
                   boolean acceptsText) {
        this.name = name;
        this.subprotocols = subprotocols;
        this.paths = paths;
        this.commands = commands;
        this.acceptsText = acceptsText;
    }

    /** Serves the MQTT subprotocols and /mqtt; binary only; recognised by a first line starting "MQ". */
    static LineEchoModule mqttLike() {
        return new LineEchoModule("mqtt", List.of(Subprotocol.MQTT, Subprotocol.MQTT_V31), List.of("/mqtt"),
                List.of("MQ"), false);
    }

    /** Serves the STOMP subprotocols and /stomp; text frames welcome; recognised by CONNECT or STOMP. */
    static LineEchoModule stompLike() {
        return new LineEchoModule("stomp", List.of(Subprotocol.STOMP_12, Subprotocol.STOMP_11, Subprotocol.STOMP_10),
                List.of("/stomp"), List.of("CONNECT", "STOMP"), true);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Subprotocol> subprotocols() {
        return subprotocols;
    }

    @Override
    public List<String> paths() {
        return paths;
    }

    /** Undecided until the first line is complete, like a STOMP command line. */
    @Override
    public Recognition recognize(ByteBuf head) {
        int eol = head.indexOf(head.readerIndex(), head.writerIndex(), (byte) '\n');
        if (eol < 0) {
            return Recognition.NEED_MORE;
        }
        String line = head.toString(head.readerIndex(), eol - head.readerIndex(), StandardCharsets.UTF_8);
        return commands.stream().anyMatch(line::startsWith) ? Recognition.YES : Recognition.NO;
    }

    @Override
    public boolean acceptsTextFrames() {
        return acceptsText;
    }

    @Override
    public void install(ChannelPipeline pipeline, ConnectionInfo info) {
        pipeline.addLast(new LineBasedFrameDecoder(64 * 1024, false, true));
        pipeline.addLast(new SimpleChannelInboundHandler<ByteBuf>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, ByteBuf line) {
                String text = line.toString(StandardCharsets.UTF_8);
                if (text.equals("bye\n")) { // the protocol ends the connection
                    ctx.close();
                    return;
                }
                if (text.startsWith("pause ")) { // stop reading for a while, as backpressure does to a publisher
                    long millis = Long.parseLong(text.substring(6).trim());
                    ctx.channel().config().setAutoRead(false);
                    ctx.executor().schedule(() -> {
                        ctx.writeAndFlush(ByteBufUtil.writeUtf8(ctx.alloc(), name + ":resumed\n"));
                        ctx.channel().config().setAutoRead(true);
                    }, millis, java.util.concurrent.TimeUnit.MILLISECONDS);
                    return;
                }
                ctx.writeAndFlush(ByteBufUtil.writeUtf8(ctx.alloc(), name + ":" + line.toString(StandardCharsets.UTF_8)));
            }
        });
    }
}
