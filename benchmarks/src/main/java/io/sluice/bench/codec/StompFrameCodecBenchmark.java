package io.sluice.bench.codec;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.stomp.DefaultStompFrame;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeaders;
import io.netty.handler.codec.stomp.StompSubframeAggregator;
import io.netty.handler.codec.stomp.StompSubframeDecoder;
import io.netty.handler.codec.stomp.StompSubframeEncoder;
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
 * A STOMP 1.2 MESSAGE frame (the broker's outbound frame) through Netty's StompSubframeEncoder, and a SEND frame
 * (its inbound frame) through StompSubframeDecoder plus StompSubframeAggregator.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class StompFrameCodecBenchmark {
    @Param({"16", "65536"})
    int payloadSize;

    private ByteBuf payload;
    private ByteBuf encodedSend;
    private EmbeddedChannel encoder;
    private EmbeddedChannel decoder;
    private long messageId;

    @Setup(Level.Trial)
    public void setUp() {
        payload = Channels.payload(payloadSize);
        encoder = new EmbeddedChannel(new StompSubframeEncoder());
        decoder = new EmbeddedChannel(new StompSubframeDecoder(), new StompSubframeAggregator(1 << 20));
        StompFrame send = new DefaultStompFrame(StompCommand.SEND, payload.retainedDuplicate());
        send.headers().set(StompHeaders.DESTINATION, "/topic/site.42.dev.7.temp")
                .set(StompHeaders.CONTENT_TYPE, "application/octet-stream")
                .setInt(StompHeaders.CONTENT_LENGTH, payloadSize)
                .set(StompHeaders.RECEIPT, "r-1");
        encoder.writeOutbound(send);
        encodedSend = Channels.collectOutbound(encoder);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        encoder.finishAndReleaseAll();
        decoder.finishAndReleaseAll();
        payload.release();
        encodedSend.release();
    }

    @Benchmark
    public int encodeMessage() {
        StompFrame m = new DefaultStompFrame(StompCommand.MESSAGE, payload.retainedDuplicate());
        m.headers().set(StompHeaders.DESTINATION, "/topic/site.42.dev.7.temp")
                .set(StompHeaders.SUBSCRIPTION, "sub-0")
                .set(StompHeaders.MESSAGE_ID, Long.toString(++messageId))
                .set(StompHeaders.ACK, "a-" + messageId)
                .set(StompHeaders.CONTENT_TYPE, "application/octet-stream")
                .setInt(StompHeaders.CONTENT_LENGTH, payloadSize);
        encoder.writeOutbound(m);
        return Channels.drainOutbound(encoder);
    }

    @Benchmark
    public int decodeSend() {
        decoder.writeInbound(encodedSend.retainedDuplicate());
        StompFrame f = decoder.readInbound();
        int n = f.content().readableBytes();
        f.release();
        return n;
    }
}
