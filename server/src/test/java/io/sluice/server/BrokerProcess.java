package io.sluice.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real broker as its own process (the test class path's {@link Main}) on 127.0.0.1, for tests that read
 * what it logs or kill it for real: {@link #kill()} is SIGKILL, {@link #stop()} SIGTERM, {@link #close()} kills
 * what is still running. Its standard error is appended to a file the test can read; its listeners' ports are
 * read from its ready line. A restart on the same ports and data directory is a new {@code BrokerProcess}.
 */
public final class BrokerProcess implements AutoCloseable {
    private static final Pattern READY = Pattern.compile("Sluice ready: .*");
    private static final Pattern LISTENER = Pattern.compile("(\\w+)=127\\.0\\.0\\.1:(\\d+)");

    private final Process process;
    private final Path log;
    private final Map<String, Integer> ports = new HashMap<>();

    private BrokerProcess(Process process, Path log, String ready) {
        this.process = process;
        this.log = log;
        Matcher m = LISTENER.matcher(ready);
        while (m.find()) {
            ports.put(m.group(1), Integer.parseInt(m.group(2)));
        }
    }

    /**
     * Start with {@code flags} as given (listeners on the ports they name; without a store setting it keeps
     * nothing on disk: a process does not get the build's sluice.persistence=none); returns once ready.
     */
    public static BrokerProcess start(Path log, String... flags) throws IOException {
        List<String> all = new ArrayList<>(List.of(flags));
        if (!all.contains("--persistence") && !all.contains("--data-dir")) {
            all.addAll(List.of("--persistence", "none"));
        }
        return launch(0, log, all);
    }

    /** Ports for a broker and its restarts: free now, reused by every start. */
    public record Ports(int mqtt, int stomp, int http) {
        public static Ports free() throws IOException {
            return new Ports(freePort(), freePort(), freePort());
        }
    }

    /**
     * Start on {@code ports} with the RocksDB store in {@code dataDir}, plus {@code extra} flags (a later flag
     * wins: {@code --persistence none} runs the same ports without a store); returns once ready.
     */
    public static BrokerProcess start(Ports ports, Path dataDir, Path log, String... extra) throws IOException {
        return start(0, ports, dataDir, log, extra);
    }

    /**
     * As {@link #start(Ports, Path, Path, String...)}, with no file the process writes allowed to grow past
     * {@code maxFileKb} (the shell's {@code ulimit -f}): a disk that fills up, for this process alone.
     */
    public static BrokerProcess startWithFileLimit(int maxFileKb, Ports ports, Path dataDir, Path log, String... extra)
            throws IOException {
        return start(maxFileKb, ports, dataDir, log, extra);
    }

    /**
     * As {@link #start(Ports, Path, Path, String...)}, with an open-files limit of {@code files} (the shell's
     * {@code ulimit -n}, soft and hard: the JVM cannot raise it).
     */
    public static BrokerProcess startWithOpenFilesLimit(int files, Ports ports, Path dataDir, Path log,
                                                        String... extra) throws IOException {
        List<String> prefix = List.of("bash", "-c", "ulimit -n " + files + " && exec \"$0\" \"$@\"");
        return launch(0, prefix, System.getProperty("java.class.path"), log, storeFlags(ports, dataDir, extra));
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

    /** Whether {@link #startAsNobody} can work here: it needs root and util-linux's setpriv. */
    public static boolean canStartAsNobody() {
        return "root".equals(System.getProperty("user.name")) && Files.isExecutable(Path.of(SETPRIV));
    }

    /**
     * As {@link #start(Ports, Path, Path, String...)}, run as the unprivileged user nobody (setpriv), so file
     * permissions bind it as they bind a real deployment's service user (root ignores them). {@code readable} is
     * a directory every user can read (the class path's jars are linked or copied there: the build's own may sit
     * under a home only root can enter); the data directory must be nobody's.
     */
    public static BrokerProcess startAsNobody(Path readable, Ports ports, Path dataDir, Path log, String... extra)
            throws IOException {
        List<String> prefix = List.of(SETPRIV, "--reuid=nobody", "--regid=nogroup", "--clear-groups");
        return launch(0, prefix, readableClassPath(readable), log, storeFlags(ports, dataDir, extra));
    }

    private static final String SETPRIV = "/usr/bin/setpriv";

    private static String readableClassPath(Path readable) throws IOException {
        Files.setPosixFilePermissions(readable, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> entries = new ArrayList<>();
        int n = 0;
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path from = Path.of(entry);
            Path to = readable.resolve((n++) + "-" + from.getFileName());
            if (Files.isDirectory(from)) {
                // the build's class directories: copied too, as the checkout itself may sit where only root enters
                if (!Files.exists(to)) {
                    copyReadable(from, to);
                }
                entries.add(to.toString());
                continue;
            }
            if (!Files.isRegularFile(from)) {
                continue;
            }
            if (!Files.exists(to)) {
                try {
                    Files.createLink(to, from);
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(from, to);
                }
                Files.setPosixFilePermissions(to, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            }
            entries.add(to.toString());
        }
        return String.join(java.io.File.pathSeparator, entries);
    }

    private static void copyReadable(Path from, Path to) throws IOException {
        try (java.util.stream.Stream<Path> tree = Files.walk(from)) {
            for (Path p : (Iterable<Path>) tree::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                    Files.setPosixFilePermissions(target,
                            java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
                } else {
                    Files.copy(p, target);
                    Files.setPosixFilePermissions(target,
                            java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
                }
            }
        }
    }

    private static List<String> storeFlags(Ports ports, Path dataDir, String... extra) {
        List<String> flags = new ArrayList<>(List.of("--mqtt-port", Integer.toString(ports.mqtt()),
                "--stomp-port", Integer.toString(ports.stomp()), "--http-port", Integer.toString(ports.http()),
                "--persistence", "rocksdb", "--data-dir", dataDir.toString(), "--sys-interval", "0"));
        flags.addAll(List.of(extra));
        return flags;
    }

    private static BrokerProcess start(int maxFileKb, Ports ports, Path dataDir, Path log, String... extra)
            throws IOException {
        return launch(maxFileKb, log, storeFlags(ports, dataDir, extra));
    }

    private static BrokerProcess launch(int maxFileKb, Path log, List<String> flags) throws IOException {
        return launch(maxFileKb, List.of(), System.getProperty("java.class.path"), log, flags);
    }

    private static BrokerProcess launch(int maxFileKb, List<String> prefix, String classPath, Path log,
                                        List<String> flags) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(prefix);
        if (maxFileKb > 0) {
            // ulimit counts 1024-byte blocks; exec keeps the pid, so kill and stop reach the broker itself
            cmd.addAll(List.of("bash", "-c", "ulimit -f " + maxFileKb + " && exec \"$0\" \"$@\""));
        }
        cmd.add(java);
        if (maxFileKb > 0) {
            cmd.add("-Djava.library.path=" + nativeLibrary());
        }
        cmd.addAll(List.of("-Xmx512m", "-cp", classPath, Main.class.getName(),
                "--bind", "127.0.0.1"));
        cmd.addAll(flags);
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        if (line == null || !READY.matcher(line).matches()) {
            try {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
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
        return new BrokerProcess(p, log, line);
    }

    /** The port of a listener named in the ready line ("mqtt", "http", "stomp", "https"...). */
    public int port(String listener) {
        Integer port = ports.get(listener);
        if (port == null) {
            throw new IllegalArgumentException("no " + listener + " listener: " + ports);
        }
        return port;
    }

    /** SIGKILL, and wait until it is gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("still alive 20 s after SIGKILL");
        }
    }

    /** SIGSTOP: the process stands still (its connections open, as in a long pause of the whole machine). */
    public void pause() throws IOException, InterruptedException {
        signal("STOP");
    }

    /** SIGCONT after {@link #pause}. */
    public void resume() throws IOException, InterruptedException {
        signal("CONT");
    }

    private void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed");
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

    /** The process id, for signals Java has no call for (SIGSTOP, SIGCONT). */
    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Everything it logged so far. */
    public String log() throws IOException {
        return Files.readString(log);
    }

    public List<String> logLines() throws IOException {
        return Files.readAllLines(log);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }

    private static int freePort() throws IOException {
        return StablePorts.free();
    }
}
