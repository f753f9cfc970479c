package io.sluice.bench.startup;

import io.sluice.server.Sluice;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Start-to-ready time of an embedded broker, as a test sees it: from {@code Sluice.builder().start()} until its
 * MQTT port accepts a connection. The first start in a JVM pays for class loading and is the figure a test run
 * feels once; the later ones are what a per-method broker costs.
 * <ul>
 *   <li>{@code benchmarks.jar startup [RUNS]} (default 30): one JVM, its first start, then RUNS more;</li>
 *   <li>{@code benchmarks.jar startup --jvms N [--jvm-flag F]...}: the first start of N fresh JVMs, one after
 *   another, with the JVM's defaults (what a {@code mvn test} fork gets) or the flags given; median and range.</li>
 * </ul>
 * Beside the wall-clock time it prints the CPU time of the starting thread, which moves far less than the wall
 * clock when other work shares the machine.
 */
public final class StartupTime {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private StartupTime() {
    }

    public static void main(String[] args) throws Exception {
        int jvms = 0;
        int runs = 30;
        List<String> jvmFlags = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--jvms" -> jvms = Integer.parseInt(args[++i]);
                case "--jvm-flag" -> jvmFlags.add(args[++i]);
                default -> runs = Integer.parseInt(args[i]);
            }
        }
        if (jvms > 0) {
            freshJvms(jvms, jvmFlags);
            return;
        }
        long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
        long cpu0 = THREADS.getCurrentThreadCpuTime();
        double first = startOnce();
        double firstCpu = (THREADS.getCurrentThreadCpuTime() - cpu0) / 1e6;
        long sinceJvm = System.currentTimeMillis() - jvmStart;
        System.out.printf(Locale.ROOT, "first start in this JVM: %.1f ms (CPU of the starting thread %.1f ms; JVM start to broker stopped: %d ms)%n",
                first, firstCpu, sinceJvm);
        if (runs <= 0) {
            return;
        }
        double[] warm = new double[runs];
        for (int i = 0; i < runs; i++) {
            warm[i] = startOnce();
        }
        Arrays.sort(warm);
        System.out.printf(Locale.ROOT, "next %d starts: median %.1f ms, p90 %.1f ms, max %.1f ms%n", runs,
                warm[runs / 2], warm[(int) Math.min(runs - 1, Math.ceil(runs * 0.9) - 1)], warm[runs - 1]);
    }

    /** The first start of {@code n} fresh JVMs running this class, one at a time; median and range. */
    private static void freshJvms(int n, List<String> flags) throws IOException, InterruptedException {
        String launcher = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("java.class.path");
        double[] wall = new double[n];
        double[] cpu = new double[n];
        for (int i = 0; i < n; i++) {
            List<String> cmd = new ArrayList<>(List.of(launcher));
            cmd.addAll(flags);
            cmd.addAll(List.of("-cp", classpath, StartupTime.class.getName(), "0"));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException("a JVM did not start the broker:\n" + out);
            }
            String line = out.lines().filter(l -> l.startsWith("first start")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no result line in:\n" + out));
            wall[i] = Double.parseDouble(line.replaceAll(".*: ([0-9.]+) ms \\(CPU.*", "$1"));
            cpu[i] = Double.parseDouble(line.replaceAll(".*starting thread ([0-9.]+) ms.*", "$1"));
            System.out.printf(Locale.ROOT, "JVM %d: first start %.1f ms, CPU of the starting thread %.1f ms%n", i + 1, wall[i], cpu[i]);
        }
        System.out.printf(Locale.ROOT, "first start, %d fresh JVMs%s: median %.0f ms (%.0f-%.0f); CPU of the starting thread: median %.0f ms (%.0f-%.0f)%n",
                n, flags.isEmpty() ? " with the JVM's defaults" : " with " + String.join(" ", flags),
                median(wall), min(wall), max(wall), median(cpu), min(cpu), max(cpu));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }

    /** Milliseconds from start() to a connected socket on the MQTT port; the broker is closed afterwards. */
    private static double startOnce() throws IOException {
        long t0 = System.nanoTime();
        try (Sluice sluice = Sluice.builder().start(); Socket s = new Socket()) {
            s.connect(new InetSocketAddress(sluice.urls().host(), sluice.urls().mqttPort()), 5000);
            return (System.nanoTime() - t0) / 1e6;
        }
    }
}
