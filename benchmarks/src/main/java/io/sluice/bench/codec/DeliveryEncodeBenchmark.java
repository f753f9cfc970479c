package io.sluice.bench.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.sluice.protocol.ws.FramePayloadCodec;
import io.sluice.server.mqtt.MqttPublishEncoder;
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
 * One delivery's way from the PUBLISH the MQTT adapter writes to the bytes of its WebSocket frame: Netty's
 * {@code MqttEncoder}, then a frame object that Netty's frame encoder copies into a second buffer
 * ({@code nettyCodecs}), against Sluice's {@code MqttPublishEncoder}, which leaves room for the header that
 * {@code FramePayloadCodec} then writes in place ({@code oneBuffer}). Run with {@code -prof gc} for the bytes
 * allocated per delivery.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class DeliveryEncodeBenchmark {
    @Param({"64", "2048"})
    int payloadSize;

    private byte[] payload;
    private EmbeddedChannel nettyCodecs;
    private EmbeddedChannel oneBuffer;

    @Setup(Level.Trial)
    public void setUp() {
        ByteBuf p = Channels.payload(payloadSize);
        payload = new byte[payloadSize];
        p.readBytes(payload);
        p.release();
        nettyCodecs = new EmbeddedChannel(new WebSocket13FrameEncoder(false), new FramePayloadCodec(false),
                MqttEncoder.INSTANCE);
        oneBuffer = new EmbeddedChannel(new WebSocket13FrameEncoder(false), new FramePayloadCodec(false),
                MqttEncoder.INSTANCE, new MqttPublishEncoder(() -> false, FramePayloadCodec.HEADROOM));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        nettyCodecs.finishAndReleaseAll();
        oneBuffer.finishAndReleaseAll();
    }

    /** The PUBLISH as the adapter writes it: the message's payload wrapped, never copied. */
    private MqttPublishMessage publish() {
        return new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false, MqttQoS.AT_LEAST_ONCE, false, 0),
                new MqttPublishVariableHeader("bench/sensors/k1/temp", 42, MqttProperties.NO_PROPERTIES),
                Unpooled.wrappedBuffer(payload));
    }

    @Benchmark
    public int nettyCodecs() {
        nettyCodecs.writeOutbound(publish());
        return Channels.drainOutbound(nettyCodecs);
    }

    @Benchmark
    public int oneBuffer() {
        oneBuffer.writeOutbound(publish());
        return Channels.drainOutbound(oneBuffer);
    }
}
