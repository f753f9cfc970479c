package io.sluice.bench;

import java.util.Arrays;

/**
 * Entry point of {@code benchmarks.jar}: JMH by default (every JMH flag works, e.g. {@code -prof gc}), or one
 * of the end-to-end tools named by the first argument.
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        String tool = args.length == 0 ? "" : args[0];
        String[] rest = args.length == 0 ? args : Arrays.copyOfRange(args, 1, args.length);
        switch (tool) {
            case "load" -> io.sluice.bench.load.LoadGenerator.main(rest);
            case "forwarder" -> io.sluice.bench.load.RawForwarder.main(rest);
            case "side", "side-by-side" -> io.sluice.bench.side.SideBySide.main(rest);
            case "startup" -> io.sluice.bench.startup.StartupTime.main(rest);
            case "persistence" -> io.sluice.bench.store.PersistenceBenchmark.main(rest);
            case "sse" -> io.sluice.bench.load.SseBench.main(rest);
            case "bandwidth" -> io.sluice.bench.bandwidth.BandwidthBenchmark.main(rest);
            case "storm-admission" -> io.sluice.bench.load.StormAdmission.main(rest);
            case "subscribe-race" -> io.sluice.bench.load.SubscribeRace.main(rest);
            case "tls-handshakes" -> io.sluice.bench.load.TlsHandshakes.main(rest);
            case "tls" -> io.sluice.bench.side.TlsBench.main(rest);
            case "cluster" -> io.sluice.bench.load.ClusterBench.main(rest);
            default -> org.openjdk.jmh.Main.main(args);
        }
    }
}
