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
 * The real broker as its own process, for tests that read what it logs: started with the given flags on
 * 127.0.0.1, its standard error written to a file, its listeners' ports read from the ready line.
 */
public final class BrokerProcess implements AutoCloseable {
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

    /** Start {@link Main} with {@code --bind 127.0.0.1} and the flags; returns once it printed its ready line. */
    public static BrokerProcess start(Path log, String... flags) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--bind", "127.0.0.1"));
        cmd.addAll(List.of(flags));
        if (!cmd.contains("--persistence") && !cmd.contains("--data-dir")) {
            // a process does not get the build's sluice.persistence=none: keep nothing in the working directory
            cmd.addAll(List.of("--persistence", "none"));
        }
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        String ready = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        if (ready == null || !ready.startsWith("Sluice ready:")) {
            p.destroyForcibly();
            throw new IllegalStateException("no ready line (" + ready + "); see " + log);
        }
        return new BrokerProcess(p, log, ready);
    }

    /** The port of a listener named in the ready line ("mqtt", "http", "stomp"). */
    public int port(String listener) {
        Integer port = ports.get(listener);
        if (port == null) {
            throw new IllegalArgumentException("no " + listener + " listener: " + ports);
        }
        return port;
    }

    /** Everything it logged so far. */
    public List<String> logLines() throws IOException {
        return Files.readAllLines(log);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
