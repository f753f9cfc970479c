package io.sluice.bench.startup;

import io.sluice.server.Sluice;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Arrays;

/**
 * Start-to-ready time of an embedded broker, as a test sees it: from {@code Sluice.builder().start()} until its
 * MQTT port accepts a connection. The first start in a JVM pays for class loading and is the figure a test run
 * feels once; the later ones are what a per-method broker costs. {@code benchmarks.jar startup [RUNS]}
 * (default 30); run it a few times for the cold figure, each in a fresh JVM.
 */
public final class StartupTime {
    private StartupTime() {
    }

    public static void main(String[] args) throws IOException {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        long jvmStart = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
        double first = startOnce();
        long sinceJvm = System.currentTimeMillis() - jvmStart;
        double[] warm = new double[runs];
        for (int i = 0; i < runs; i++) {
            warm[i] = startOnce();
        }
        Arrays.sort(warm);
        System.out.printf("first start in this JVM: %.1f ms (JVM start to broker stopped: %d ms)%n", first, sinceJvm);
        System.out.printf("next %d starts: median %.1f ms, p90 %.1f ms, max %.1f ms%n", runs,
                warm[runs / 2], warm[(int) Math.min(runs - 1, Math.ceil(runs * 0.9) - 1)], warm[runs - 1]);
    }

    /** Milliseconds from start() to a connected socket on the MQTT port; the broker is closed afterwards. */
    private static double startOnce() throws IOException {
        long t0 = System.nanoTime();
        try (Sluice sluice = Sluice.start(); Socket s = new Socket()) {
            s.connect(new InetSocketAddress(sluice.urls().host(), sluice.urls().mqttPort()), 5000);
            return (System.nanoTime() - t0) / 1e6;
        }
    }
}
