package io.sluice.bench.side;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** One broker under test, started as its own process on loopback ports, stopped at the end. */
final class Broker {
    final String name;
    final boolean ceiling;
    final boolean stomp;
    final int tcpPort;
    final int wsPort;
    final int stompPort;
    final String wsPath;
    private final List<String> command;
    private final Path log;
    private Process process;
    /** Times the broker was found dead before a load and started again. */
    int restarts;

    Broker(String name, boolean ceiling, boolean stomp, int tcpPort, int wsPort, int stompPort, String wsPath,
           List<String> command, Path log) {
        this.name = name;
        this.ceiling = ceiling;
        this.stomp = stomp;
        this.tcpPort = tcpPort;
        this.wsPort = wsPort;
        this.stompPort = stompPort;
        this.wsPath = wsPath;
        this.command = command;
        this.log = log;
    }

    void start() throws IOException, InterruptedException {
        File out = log.toFile();
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(out));
        pb.environment().remove("JAVA_OPTS"); // the flags measured are the launcher's, not this shell's
        process = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited at start (exit " + process.exitValue() + "); see " + log);
            }
            if (listening(tcpPort) && listening(wsPort)) {
                Thread.sleep(500);
                return;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException(name + " did not open ports " + tcpPort + " and " + wsPort + " within 60 s; see " + log);
    }

    /** Start it again if it died since the last load (a crash is counted and reported, not hidden). */
    void ensureRunning() throws IOException, InterruptedException {
        if (process != null && !process.isAlive()) {
            restarts++;
            System.out.println(name + " had exited (exit " + process.exitValue() + "); starting it again");
            start();
        }
    }

    /** A fresh process: stop this one and start it again (for figures that belong to a process's first minute). */
    void restart() throws IOException, InterruptedException {
        stop();
        start();
    }

    long pid() {
        return process.pid();
    }

    void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
