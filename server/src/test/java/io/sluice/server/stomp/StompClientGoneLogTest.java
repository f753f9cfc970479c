package io.sluice.server.stomp;

import io.sluice.server.BrokerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A STOMP client that closes its socket in the middle of a frame is a client going away, not a server error: the
 * broker process logs one line for it (no stack trace, no "server failed"), wherever in the frame the bytes stop.
 * The real broker process, its log read back.
 */
class StompClientGoneLogTest {
    @TempDir
    static Path dir;
    private static BrokerProcess broker;
    private static int stomp;

    @BeforeAll
    static void start() throws Exception {
        broker = BrokerProcess.start(dir.resolve("broker.log"), "--mqtt-port", "-1", "--http-port", "-1",
                "--stomp-port", "0", "--sys-interval", "0");
        stomp = broker.port("stomp");
    }

    @AfterAll
    static void stop() throws Exception {
        broker.close();
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
            lines = broker.logLines();
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
