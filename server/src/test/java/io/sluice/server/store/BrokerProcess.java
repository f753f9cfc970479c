package io.sluice.server.store;

import io.sluice.server.Main;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sluice as its own process (the test class path's {@link Main}) on fixed loopback ports and a data directory,
 * for tests that kill it for real: {@link #kill()} is SIGKILL, {@link #stop()} SIGTERM. Its log goes to a file
 * the test can read. A restart on the same ports and directory is a new {@code BrokerProcess}.
 */
public final class BrokerProcess implements AutoCloseable {
    private static final Pattern READY = Pattern.compile("Sluice ready: .*");

    private final Process process;
    private final Path log;
    public final int mqttPort;
    public final int stompPort;
    public final int httpPort;

    private BrokerProcess(Process process, Path log, int mqttPort, int stompPort, int httpPort) {
        this.process = process;
        this.log = log;
        this.mqttPort = mqttPort;
        this.stompPort = stompPort;
        this.httpPort = httpPort;
    }

    /** Ports for a broker and its restarts: free now, reused by every start. */
    public record Ports(int mqtt, int stomp, int http) {
        public static Ports free() throws IOException {
            return new Ports(freePort(), freePort(), freePort());
        }
    }

    /** Start on {@code ports} with the store in {@code dataDir}, plus {@code extra} flags; returns once ready. */
    public static BrokerProcess start(Ports ports, Path dataDir, Path log, String... extra) throws Exception {
        return start(0, ports, dataDir, log, extra);
    }

    /**
     * As {@link #start(Ports, Path, Path, String...)}, with no file the process writes allowed to grow past
     * {@code maxFileKb} (the shell's {@code ulimit -f}): a disk that fills up, for this process alone.
     */
    public static BrokerProcess startWithFileLimit(int maxFileKb, Ports ports, Path dataDir, Path log, String... extra)
            throws Exception {
        return start(maxFileKb, ports, dataDir, log, extra);
    }

    /**
     * RocksDB unpacks its native library (larger than a small file limit) at start; one unpacked beforehand and
     * named by java.library.path is loaded from there instead.
     */
    private static Path nativeLibrary() throws IOException {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "sluice-test-rocksdb-" + ProcessHandle.current().pid());
        Path lib = dir.resolve("librocksdbjni.so");
        if (!Files.exists(lib)) {
            Files.createDirectories(dir);
            String arch = System.getProperty("os.arch").contains("aarch64") ? "linux-aarch64" : "linux64";
            try (var in = org.rocksdb.RocksDB.class.getResourceAsStream("/librocksdbjni-" + arch + ".so")) {
                if (in == null) {
                    throw new IOException("no RocksDB native library for " + arch + " in the class path");
                }
                Files.copy(in, lib);
            }
            lib.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
        }
        return dir;
    }

    private static BrokerProcess start(int maxFileKb, Ports ports, Path dataDir, Path log, String... extra)
            throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>();
        if (maxFileKb > 0) {
            // ulimit counts 1024-byte blocks; exec keeps the pid, so kill and stop reach the broker itself
            cmd.addAll(List.of("bash", "-c", "ulimit -f " + maxFileKb + " && exec \"$0\" \"$@\""));
        }
        cmd.add(java);
        if (maxFileKb > 0) {
            cmd.add("-Djava.library.path=" + nativeLibrary());
        }
        cmd.addAll(List.of("-Xmx512m", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "--bind", "127.0.0.1", "--mqtt-port", Integer.toString(ports.mqtt()),
                "--stomp-port", Integer.toString(ports.stomp()), "--http-port", Integer.toString(ports.http()),
                "--persistence", "rocksdb", "--data-dir", dataDir.toString(), "--sys-interval", "0"));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        if (line == null || !READY.matcher(line).matches()) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new IllegalStateException("broker did not start (" + line + "); log:\n" + Files.readString(log));
        }
        Thread drain = new Thread(() -> {
            try {
                while (out.readLine() != null) {
                    // keep stdout flowing
                }
            } catch (IOException ignored) {
                // the process ended
            }
        }, "broker-stdout");
        drain.setDaemon(true);
        drain.start();
        return new BrokerProcess(p, log, ports.mqtt(), ports.stomp(), ports.http());
    }

    /** SIGKILL, and wait until it is gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("still alive 20 s after SIGKILL");
        }
    }

    /** SIGTERM; the exit code. */
    public int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("still running 60 s after SIGTERM");
        }
        return process.exitValue();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public String log() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
