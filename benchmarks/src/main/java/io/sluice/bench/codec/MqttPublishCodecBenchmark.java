package io.sluice.bench.codec;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
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

/** MQTT 3.1.1 QoS 1 PUBLISH through Netty's MqttEncoder and MqttDecoder, as the broker's pipeline runs them. */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MqttPublishCodecBenchmark {
    @Param({"16", "65536"})
    int payloadSize;

    private ByteBuf payload;
    private ByteBuf encoded;
    private EmbeddedChannel encoder;
    private EmbeddedChannel decoder;
    private int packetId;

    @Setup(Level.Trial)
    public void setUp() {
        payload = Channels.payload(payloadSize);
        encoder = new EmbeddedChannel(MqttEncoder.INSTANCE);
        decoder = new EmbeddedChannel(new MqttDecoder(1 << 20));
        encoder.writeOutbound(publish(1));
        encoded = Channels.collectOutbound(encoder);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        encoder.finishAndReleaseAll();
        decoder.finishAndReleaseAll();
        payload.release();
        encoded.release();
    }

    private MqttPublishMessage publish(int id) {
        return new MqttPublishMessage(
                new MqttFixedHeader(MqttMessageType.PUBLISH, false, MqttQoS.AT_LEAST_ONCE, false, 0),
                new MqttPublishVariableHeader("site/42/dev/7/temp", id),
                payload.retainedDuplicate());
    }

    @Benchmark
    public int encode() {
        packetId = packetId % 65_535 + 1;
        encoder.writeOutbound(publish(packetId));
        return Channels.drainOutbound(encoder);
    }

    @Benchmark
    public int decode() {
        decoder.writeInbound(encoded.retainedDuplicate());
        MqttPublishMessage m = decoder.readInbound();
        int n = m.payload().readableBytes();
        m.release();
        return n;
    }
}
