package io.sluice.conformance;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.stomp.DefaultStompFrame;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompSubframeAggregator;
import io.netty.handler.codec.stomp.StompSubframeDecoder;
import io.netty.handler.codec.stomp.StompSubframeEncoder;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The STOMP side of the Java clients' cross-protocol checks: a STOMP 1.2 client on Netty's STOMP codec (client
 * side) over the broker's STOMP TCP listener.
 */
public final class StompPeer implements AutoCloseable {
    private static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private static final long TIMEOUT_SECONDS = 15;

    /** A frame as received: command, destination header, body text. */
    public record Frame(StompCommand command, String destination, String receiptId, String body) {
    }

    private final Channel channel;
    private final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    private int receipts;

    public StompPeer(int port) throws InterruptedException {
        channel = new Bootstrap().group(GROUP).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new StompSubframeDecoder(),
                                new StompSubframeAggregator(1024 * 1024),
                                new StompSubframeEncoder(),
                                new SimpleChannelInboundHandler<StompFrame>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, StompFrame f) {
                                        frames.add(new Frame(f.command(),
                                                f.headers().getAsString("destination"),
                                                f.headers().getAsString("receipt-id"),
                                                f.content().toString(StandardCharsets.UTF_8)));
                                    }
                                });
                    }
                })
                .connect(TestBroker.HOST, port).syncUninterruptibly().channel();
        StompFrame connect = new DefaultStompFrame(StompCommand.CONNECT);
        connect.headers().set("accept-version", "1.2").set("host", "localhost");
        channel.writeAndFlush(connect).syncUninterruptibly();
        expect(StompCommand.CONNECTED);
    }

    public void subscribe(String destination) throws InterruptedException {
        StompFrame f = new DefaultStompFrame(StompCommand.SUBSCRIBE);
        f.headers().set("destination", destination).set("id", "s" + receipts).set("ack", "auto");
        withReceipt(f);
    }

    public void send(String destination, String body) throws InterruptedException {
        StompFrame f = new DefaultStompFrame(StompCommand.SEND, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        f.headers().set("destination", destination);
        withReceipt(f);
    }

    private void withReceipt(StompFrame f) throws InterruptedException {
        String receipt = "r" + (++receipts);
        f.headers().set("receipt", receipt);
        channel.writeAndFlush(f).syncUninterruptibly();
        Frame r = expect(StompCommand.RECEIPT);
        if (!receipt.equals(r.receiptId())) {
            throw new AssertionError("RECEIPT " + r.receiptId() + ", expected " + receipt);
        }
    }

    public Frame expect(StompCommand command) throws InterruptedException {
        Frame f = frames.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (f == null) {
            throw new AssertionError("no STOMP " + command + " within " + TIMEOUT_SECONDS + " s");
        }
        if (f.command() != command) {
            throw new AssertionError("expected STOMP " + command + ", got " + f);
        }
        return f;
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
