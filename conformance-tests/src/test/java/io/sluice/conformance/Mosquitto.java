package io.sluice.conformance;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Debian's mosquitto_pub and mosquitto_sub, run as processes with debug output (-d) so a test can wait for the
 * packets it needs (CONNACK, SUBACK, PINGRESP) instead of sleeping. Received messages are printed as
 * {@code MSG <topic> <qos> <retain> <payload>}.
 */
public final class Mosquitto {
    static final long TIMEOUT_SECONDS = 20;
    private static final Path STDBUF = Path.of("/usr/bin/stdbuf");

    private final int port;
    private final boolean v5;

    public Mosquitto(int port, boolean v5) {
        this.port = port;
        this.v5 = v5;
    }

    /** Null when both programs are on this machine; otherwise what to install. */
    public static String unavailable() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, "mosquitto_sub")) && Files.isExecutable(Path.of(dir, "mosquitto_pub"))) {
                return null;
            }
        }
        return "mosquitto_pub/mosquitto_sub not found: install them to run this row (Debian: apt-get install mosquitto-clients)";
    }

    public static String version() {
        try {
            Process p = new ProcessBuilder("mosquitto_sub", "--help").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            return out.replaceAll("(?s).*?mosquitto_sub version ([0-9.]+).*", "$1").trim();
        } catch (Exception e) {
            return "?";
        }
    }

    private List<String> common(String program, String clientId) {
        List<String> args = new ArrayList<>();
        if (Files.isExecutable(STDBUF)) {
            // line-buffered stdout, so each debug line and message reaches the test as it happens
            args.addAll(List.of(STDBUF.toString(), "-oL"));
        }
        args.addAll(List.of(program, "-d", "-h", TestBroker.HOST, "-p", String.valueOf(port),
                "-V", v5 ? "mqttv5" : "mqttv311", "-i", clientId));
        return args;
    }

    /** mosquitto_pub (message null: -n, an empty message); returns its output, fails unless it exits 0. */
    public String pub(String clientId, String topic, String message, int qos, boolean retain, String... extra) throws Exception {
        List<String> args = common("mosquitto_pub", clientId);
        args.addAll(List.of("-t", topic, "-q", String.valueOf(qos)));
        if (message == null) {
            args.add("-n");
        } else {
            args.addAll(List.of("-m", message));
        }
        if (retain) {
            args.add("-r");
        }
        args.addAll(List.of(extra));
        Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("mosquitto_pub did not finish: " + out);
        }
        if (p.exitValue() != 0) {
            throw new AssertionError("mosquitto_pub exited " + p.exitValue() + ": " + out);
        }
        return out;
    }

    /** mosquitto_pub with any options, for input the broker must refuse; returns the exit code and output. */
    public Exit pubExpectingRefusal(String clientId, String topic, int qos, String... options) throws Exception {
        List<String> args = common("mosquitto_pub", clientId);
        args.addAll(List.of("-t", topic, "-q", String.valueOf(qos)));
        args.addAll(List.of(options));
        Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("mosquitto_pub did not finish: " + out);
        }
        return new Exit(p.exitValue(), out);
    }

    public record Exit(int code, String output) {
    }

    /** A received message as mosquitto_sub printed it. */
    public record Msg(String topic, int qos, boolean retain, String payload) {
    }

    /** Starts mosquitto_sub (bounded by -W) with the given options and filters. */
    public Sub sub(String clientId, List<String> options, int qos, String... filters) throws IOException {
        List<String> args = common("mosquitto_sub", clientId);
        args.addAll(List.of("-q", String.valueOf(qos), "-W", "60", "-F", "MSG %t %q %r %p"));
        if (v5 && options.contains("-c")) {
            args.addAll(List.of("-x", "300"));
        }
        args.addAll(options);
        for (String f : filters) {
            args.addAll(List.of("-t", f));
        }
        return new Sub(new ProcessBuilder(args).redirectErrorStream(true).start());
    }

    /** A running mosquitto_sub and the lines it printed. */
    public static final class Sub implements AutoCloseable {
        private final Process process;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final StringBuilder transcript = new StringBuilder();

        Sub(Process process) throws IOException {
            this.process = process;
            process.getOutputStream().close();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        synchronized (transcript) {
                            transcript.append(line).append('\n');
                        }
                        lines.add(line);
                    }
                } catch (IOException ignored) {
                    // process ended
                }
            }, "mosquitto_sub-reader");
            reader.setDaemon(true);
            reader.start();
        }

        public String awaitLine(Predicate<String> wanted, String what) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
            while (true) {
                String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (line == null) {
                    throw new AssertionError("mosquitto_sub: no " + what + " within " + TIMEOUT_SECONDS + " s; output:\n" + transcript());
                }
                if (wanted.test(line)) {
                    return line;
                }
                if (line.startsWith("MSG ")) {
                    throw new AssertionError("mosquitto_sub: unexpected message before " + what + ": " + line);
                }
            }
        }

        public void awaitSubscribed() throws InterruptedException {
            awaitLine(l -> l.contains("received SUBACK"), "SUBACK");
        }

        public Msg next(String what) throws InterruptedException {
            String line = awaitLine(l -> l.startsWith("MSG "), what);
            String[] p = line.split(" ", 5);
            return new Msg(p[1], Integer.parseInt(p[2]), p[3].equals("1"), p.length > 4 ? p[4] : "");
        }

        public int awaitExit() throws InterruptedException {
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new AssertionError("mosquitto_sub did not exit; output:\n" + transcript());
            }
            return process.exitValue();
        }

        public boolean alive() {
            return process.isAlive();
        }

        /** SIGKILL: the connection ends without DISCONNECT. */
        public void kill() throws InterruptedException {
            process.destroyForcibly().waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }

        public String transcript() {
            synchronized (transcript) {
                return transcript.toString();
            }
        }

        @Override
        public void close() throws InterruptedException {
            if (process.isAlive()) {
                kill();
            }
        }
    }
}
