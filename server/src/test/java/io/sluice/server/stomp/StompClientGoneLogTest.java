package io.sluice.server.stomp;

import io.sluice.server.Main;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A STOMP client that closes its socket in the middle of a frame is a client going away, not a server error: the
 * broker process logs one line for it (no stack trace, no "server failed"), wherever in the frame the bytes stop.
 * The real broker process, its log read back.
 */
class StompClientGoneLogTest {
    private static final Pattern READY = Pattern.compile("Sluice ready: .*stomp=127\\.0\\.0\\.1:(\\d+).*");
    @TempDir
    static Path dir;
    private static Process broker;
    private static Path log;
    private static int stomp;

    @BeforeAll
    static void start() throws Exception {
        log = dir.resolve("broker.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        broker = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "--bind", "127.0.0.1", "--mqtt-port", "-1", "--http-port", "-1", "--stomp-port", "0",
                "--sys-interval", "0")
                .redirectError(log.toFile())
                .start();
        String ready = new BufferedReader(new InputStreamReader(broker.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertNotNull(ready, "no ready line");
        Matcher m = READY.matcher(ready);
        assertTrue(m.matches(), ready);
        stomp = Integer.parseInt(m.group(1));
    }

    @AfterAll
    static void stop() throws Exception {
        broker.destroy();
        broker.waitFor(10, TimeUnit.SECONDS);
    }

    /** Frames cut at every kind of place: in the command, in a header, in a body of known and unknown length. */
    private static final List<String> CUT = List.of(
            "SEN",
            "SEND\ndestination:/topic/cut\ncontent-le",
            "SEND\ndestination:/topic/cut\ncontent-length:100\n\nonly part of the hundred bytes",
            "SEND\ndestination:/topic/cut\n\nno terminating NUL yet");

    @Test
    void aClientClosingMidFrameIsOneLineWithoutATrace() throws Exception {
        for (String cut : CUT) {
            try (Socket s = new Socket("127.0.0.1", stomp)) {
                OutputStream out = s.getOutputStream();
                out.write("CONNECT\naccept-version:1.2\nhost:x\n\n\0".getBytes(StandardCharsets.UTF_8));
                out.flush();
                // wait for CONNECTED so the cut frame is read by a connected session
                byte[] buf = new byte[256];
                int n = s.getInputStream().read(buf);
                assertTrue(n > 0 && new String(buf, 0, n, StandardCharsets.UTF_8).startsWith("CONNECTED"));
                out.write(cut.getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> lines;
        do {
            Thread.sleep(50);
            lines = Files.readAllLines(log);
        } while (lines.stream().filter(l -> l.contains("closed client=")).count() < CUT.size()
                && System.nanoTime() < deadline);
        String all = String.join("\n", lines);
        assertEquals(CUT.size(), lines.stream().filter(l -> l.contains("closed client=")).count(), all);
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("\tat ") || l.contains("Exception")), "no trace:\n" + all);
        assertTrue(lines.stream().noneMatch(l -> l.contains("server failed") || l.contains("internal error")), all);
        for (String l : lines) {
            if (l.contains(" WARN ") || l.contains(" ERROR ")) {
                throw new AssertionError("a client going away is not a warning: " + l);
            }
        }
    }
}
