package io.sluice.bench.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * RFC 6455 binary frames as the broker sees them: decoding a client's masked frame (unmasking included) and
 * encoding an unmasked server frame; plus the client's masked encode, the load generator's cost per message.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class WebSocketFramingBenchmark {
    @Param({"16", "65536"})
    int payloadSize;

    private ByteBuf payload;
    private ByteBuf maskedFrame;
    private EmbeddedChannel serverDecoder;
    private EmbeddedChannel serverEncoder;
    private EmbeddedChannel clientEncoder;

    @Setup(Level.Trial)
    public void setUp() {
        payload = Channels.payload(payloadSize);
        serverDecoder = new EmbeddedChannel(new WebSocket13FrameDecoder(WebSocketDecoderConfig.newBuilder()
                .expectMaskedFrames(true).allowExtensions(false).maxFramePayloadLength(1 << 20).build()));
        serverEncoder = new EmbeddedChannel(new WebSocket13FrameEncoder(false));
        clientEncoder = new EmbeddedChannel(new WebSocket13FrameEncoder(true));
        clientEncoder.writeOutbound(new BinaryWebSocketFrame(payload.retainedDuplicate()));
        maskedFrame = Channels.collectOutbound(clientEncoder);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        serverDecoder.finishAndReleaseAll();
        serverEncoder.finishAndReleaseAll();
        clientEncoder.finishAndReleaseAll();
        payload.release();
        maskedFrame.release();
    }

    /** A fresh copy per op, as a socket read would fill it: the decoder unmasks in place. */
    @Benchmark
    public int serverDecodeMasked() {
        ByteBuf in = ByteBufAllocator.DEFAULT.buffer(maskedFrame.readableBytes()).writeBytes(maskedFrame, 0,
                maskedFrame.readableBytes());
        serverDecoder.writeInbound(in);
        WebSocketFrame f = serverDecoder.readInbound();
        int n = f.content().readableBytes();
        f.release();
        return n;
    }

    @Benchmark
    public int serverEncode() {
        serverEncoder.writeOutbound(new BinaryWebSocketFrame(payload.retainedDuplicate()));
        return Channels.drainOutbound(serverEncoder);
    }

    @Benchmark
    public int clientEncodeMasked() {
        clientEncoder.writeOutbound(new BinaryWebSocketFrame(payload.retainedDuplicate()));
        return Channels.drainOutbound(clientEncoder);
    }
}
