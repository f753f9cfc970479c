package io.sluice.server.stomp;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
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

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A STOMP client for tests on Netty's own STOMP codec (client side): frames out through StompSubframeEncoder,
 * frames in through StompSubframeDecoder. It also keeps every raw byte received, for checks of the exact
 * encoding, and can write raw bytes, for input the encoder would never produce.
 */
final class StompTestClient implements AutoCloseable {
    static final long TIMEOUT_SECONDS = 20;
    private static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());

    /** A received frame, copied out of Netty's buffers. */
    record Frame(StompCommand command, List<Map.Entry<String, String>> headers, byte[] body) {
        String header(String name) {
            for (Map.Entry<String, String> e : headers) {
                if (e.getKey().equals(name)) {
                    return e.getValue();
                }
            }
            return null;
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return command + " " + headers + " " + text();
        }
    }

    final Channel channel;
    private final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    private final ByteArrayOutputStream raw = new ByteArrayOutputStream();
    private final AtomicInteger heartbeats = new AtomicInteger();
    private final CountDownLatch closed = new CountDownLatch(1);

    StompTestClient(int port) {
        channel = new Bootstrap().group(GROUP).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new RawTap());
                        ch.pipeline().addLast(new StompSubframeDecoder(64 * 1024, 64 * 1024));
                        ch.pipeline().addLast(new StompSubframeAggregator(16 * 1024 * 1024));
                        ch.pipeline().addLast(new StompSubframeEncoder());
                        ch.pipeline().addLast(new Collector());
                    }
                })
                .connect("127.0.0.1", port).syncUninterruptibly().channel();
    }

    /** CONNECT with accept-version (null: none, a 1.0 client) and optional heart-beat; returns CONNECTED. */
    Frame connect(String acceptVersion) throws InterruptedException {
        return connect(acceptVersion, null);
    }

    Frame connect(String acceptVersion, String heartbeat) throws InterruptedException {
        StompFrame f = new DefaultStompFrame(StompCommand.CONNECT);
        if (acceptVersion != null) {
            f.headers().set("accept-version", acceptVersion);
        }
        f.headers().set("host", "localhost");
        if (heartbeat != null) {
            f.headers().set("heart-beat", heartbeat);
        }
        send(f);
        Frame connected = next();
        assertEquals(StompCommand.CONNECTED, connected.command(), connected.toString());
        return connected;
    }

    static StompFrame frame(StompCommand command, String... headers) {
        return withBody(new DefaultStompFrame(command), headers);
    }

    /** A SEND frame with a body. */
    static StompFrame sendFrame(String destination, String body, String... headers) {
        return sendFrame(destination, body.getBytes(StandardCharsets.UTF_8), headers);
    }

    static StompFrame sendFrame(String destination, byte[] body, String... headers) {
        StompFrame f = new DefaultStompFrame(StompCommand.SEND, Unpooled.wrappedBuffer(body));
        f.headers().set("destination", destination);
        return withBody(f, headers);
    }

    private static StompFrame withBody(StompFrame f, String... headers) {
        for (int i = 0; i < headers.length; i += 2) {
            f.headers().add(headers[i], headers[i + 1]);
        }
        return f;
    }

    void send(StompFrame frame) {
        channel.writeAndFlush(frame).syncUninterruptibly();
    }

    void send(StompCommand command, String... headers) {
        send(frame(command, headers));
    }

    void sendRaw(String text) {
        sendRaw(text.getBytes(StandardCharsets.UTF_8));
    }

    void sendRaw(byte[] bytes) {
        channel.writeAndFlush(Unpooled.wrappedBuffer(bytes)).syncUninterruptibly();
    }

    /** Sends the frame with a receipt header and waits for that RECEIPT. */
    void sendAndAwaitReceipt(StompFrame frame, String receipt) throws InterruptedException {
        frame.headers().set("receipt", receipt);
        send(frame);
        Frame r = next();
        assertEquals(StompCommand.RECEIPT, r.command(), r.toString());
        assertEquals(receipt, r.header("receipt-id"));
    }

    void subscribe(String destination, String id, String... more) throws InterruptedException {
        List<String> h = new ArrayList<>(List.of("destination", destination, "id", id));
        h.addAll(List.of(more));
        sendAndAwaitReceipt(frame(StompCommand.SUBSCRIBE, h.toArray(new String[0])), "sub-" + id);
    }

    Frame next() throws InterruptedException {
        Frame f = frames.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(f, "no frame within " + TIMEOUT_SECONDS + " s");
        return f;
    }

    Frame next(StompCommand expected) throws InterruptedException {
        Frame f = next();
        assertEquals(expected, f.command(), f.toString());
        return f;
    }

    /** The next frame if one arrives within the time, else null (for checks that something does not arrive). */
    Frame poll(long millis) throws InterruptedException {
        return frames.poll(millis, TimeUnit.MILLISECONDS);
    }

    /** Expects an ERROR whose message header contains the text, then the connection closing. */
    Frame expectError(String messageContains) throws InterruptedException {
        Frame f = next(StompCommand.ERROR);
        assertTrue(f.header("message").contains(messageContains), f.toString());
        assertTrue(f.body().length > 0, "ERROR body says what was wrong");
        awaitClosed();
        return f;
    }

    void awaitClosed() throws InterruptedException {
        assertTrue(closed.await(TIMEOUT_SECONDS, TimeUnit.SECONDS), "server closed the connection");
    }

    boolean isOpen() {
        return closed.getCount() > 0;
    }

    int heartbeatsReceived() {
        return heartbeats.get();
    }

    synchronized String rawText() {
        return raw.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }

    private final class RawTap extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            byte[] bytes = ByteBufUtil.getBytes(b);
            synchronized (StompTestClient.this) {
                raw.writeBytes(bytes);
            }
            boolean onlyEols = bytes.length > 0;
            for (byte x : bytes) {
                onlyEols &= x == '\n' || x == '\r';
            }
            if (onlyEols) {
                heartbeats.incrementAndGet();
            }
            ctx.fireChannelRead(msg);
        }
    }

    private final class Collector extends SimpleChannelInboundHandler<StompFrame> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, StompFrame f) {
            List<Map.Entry<String, String>> headers = new ArrayList<>();
            f.headers().forEach(e -> headers.add(Map.entry(e.getKey().toString(), e.getValue().toString())));
            frames.add(new Frame(f.command(), headers, ByteBufUtil.getBytes(f.content())));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closed.countDown();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
