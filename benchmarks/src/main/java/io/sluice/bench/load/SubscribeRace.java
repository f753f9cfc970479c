package io.sluice.bench.load;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.Promise;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * How often a PUBLISH sent right after another connection's SUBSCRIBE, without waiting for its SUBACK, misses
 * that subscriber ({@code java -jar benchmarks.jar subscribe-race --port N --trials T}): what Eclipse Paho's
 * interoperability suites ({@code test_request_response}, {@code test_subscribe_options}) do. Connection A
 * writes SUBSCRIBE (QoS 1) to a fresh topic and, in the same event-loop turn, connection B writes a QoS 1
 * PUBLISH to it; the trial counts as missed when A has its SUBACK and no message 1 s later. MQTT orders packets
 * within one connection only, so a broker that reads the two sockets on different threads may match the
 * PUBLISH before the SUBSCRIBE is in place. Bounded by {@code --trials}; loopback only.
 */
public final class SubscribeRace {
    private SubscribeRace() {
    }

    public static void main(String[] args) throws Exception {
        int port = 1883;
        int trials = 1000;
        String label = "";
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[i + 1]);
                case "--trials" -> trials = Integer.parseInt(args[i + 1]);
                case "--label" -> label = args[i + 1];
                default -> {
                    System.err.println("flags: --port N (1883) --trials T (1000) --label L");
                    System.exit(2);
                }
            }
        }
        LoadOptions o = LoadOptions.parse(new String[] {"--transport", "tcp", "--port", Integer.toString(port)});
        try (Wire wire = new Wire(o)) {
            String run = Long.toHexString(System.nanoTime() & 0xffffff);
            ClientConn sub = wire.connect("race-sub-" + run).get(30, TimeUnit.SECONDS);
            ClientConn pub = wire.connect("race-pub-" + run).get(30, TimeUnit.SECONDS);
            int missed = 0;
            for (int t = 0; t < trials; t++) {
                String topic = "race/" + run + "/" + t;
                Promise<Void> got = wire.loop.newPromise();
                Promise<Void> subacked = wire.loop.newPromise();
                wire.loop.submit(() -> {
                    sub.listener = (conn, payload, now) -> got.trySuccess(null);
                    sub.subscribe(topic, 1, () -> subacked.trySuccess(null));
                    ByteBuf payload = Unpooled.copiedBuffer("x", StandardCharsets.US_ASCII);
                    pub.publish(topic, payload, 1);
                    pub.flush();
                }).sync();
                subacked.get(10, TimeUnit.SECONDS);
                if (!got.await(1, TimeUnit.SECONDS)) {
                    missed++;
                }
            }
            System.out.printf(Locale.ROOT, "subscribe-race %s: %d of %d publishes sent right after another connection's "
                    + "SUBSCRIBE missed it (%.2f%%)%n", label, missed, trials, 100.0 * missed / trials);
            System.out.println(Json.write(java.util.Map.<String, Object>of("label", label, "trials", trials, "missed", missed)));
        }
    }
}
