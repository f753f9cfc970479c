package io.sluice.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
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
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line: --help, bad flags and values, the config file, the ready line, SIGTERM. */
class MainTest {
    private static final Pattern READY =
            Pattern.compile("Sluice ready: mqtt=127\\.0\\.0\\.1:(\\d+) http=127\\.0\\.0\\.1:(\\d+) stomp=127\\.0\\.0\\.1:(\\d+)");

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private Main.Started run(String... args) {
        return Main.start(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void helpListsEverySettingAndExitsZero() {
        Main.Started s = run("--help");
        assertNull(s.server());
        assertEquals(0, s.exitCode());
        for (String flag : List.of("--mqtt-port", "--http-port", "--bind", "--config", "--log-level",
                "--ws-ping-interval", "--ws-idle-timeout", "--handshake-timeout", "--ws-max-frame-size")) {
            assertTrue(out().contains(flag), flag + " missing from --help:\n" + out());
        }
    }

    @Test
    void anUnknownFlagStopsStartUpNamingIt() {
        Main.Started s = run("--mqtt-port", "0", "--no-such-flag", "1");
        assertNull(s.server());
        assertEquals(2, s.exitCode());
        assertTrue(err().startsWith("sluice: ") && err().contains("--no-such-flag"), err());
    }

    @Test
    void aBadValueStopsStartUpNamingTheFlag() {
        assertEquals(2, run("--http-port", "70000").exitCode());
        assertTrue(err().contains("--http-port"), err());
        err.reset();
        assertEquals(2, run("--log-level", "loud").exitCode());
        assertTrue(err().contains("--log-level"), err());
        err.reset();
        assertEquals(2, run("--ws-ping-interval=soon").exitCode());
        assertTrue(err().contains("--ws-ping-interval"), err());
    }

    @Test
    void configFileKeysAreSettingsAndFlagsWin(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sluice.properties");
        Files.writeString(file, "bind=127.0.0.1\nmqtt-port=0\nhttp-port=0\nstomp-port=-1\n");
        Main.Started s = run("--config", file.toString(), "--stomp-port", "0");
        try {
            assertNotNull(s.server(), err());
            Matcher m = READY.matcher(out().trim());
            assertTrue(m.matches(), out());
            assertEquals(s.server().port("mqtt"), Integer.parseInt(m.group(1)));
            assertEquals(s.server().port("http"), Integer.parseInt(m.group(2)));
            assertEquals(s.server().port("stomp"), Integer.parseInt(m.group(3)));
        } finally {
            if (s.server() != null) {
                s.server().close();
            }
        }
    }

    @Test
    void anUnknownConfigKeyStopsStartUpNamingIt(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.properties");
        Files.writeString(file, "mqtt-prot=1883\n");
        assertEquals(2, run("--config", file.toString()).exitCode());
        assertTrue(err().contains("mqtt-prot"), err());
    }

    @Test
    void aDisabledListenerIsLeftOutOfTheReadyLine() {
        Main.Started s = run("--bind", "127.0.0.1", "--mqtt-port", "0", "--http-port", "-1", "--stomp-port", "-1");
        try {
            assertEquals("Sluice ready: mqtt=127.0.0.1:" + s.server().port("mqtt"), out().trim());
            assertEquals(-1, s.server().port("http"));
        } finally {
            s.server().close();
        }
    }

    @Test
    void aPortInUseStopsStartUpWithExitCode1() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            Main.Started s = run("--bind", "127.0.0.1", "--mqtt-port", String.valueOf(taken.getLocalPort()),
                    "--http-port", "0", "--stomp-port", "0");
            assertNull(s.server());
            assertEquals(1, s.exitCode());
            assertTrue(err().contains("--mqtt-port"), err());
        }
    }

    /** Log lines go to stderr, one per event, starting with an ISO date-time; --log-level sets the level. */
    @Test
    void theLogLevelIsAppliedAndLinesCarryTheDateTime(@TempDir Path dir) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (String level : List.of("info", "warn")) {
            Path log = dir.resolve(level + ".log");
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                    "--bind", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0", "--stomp-port", "0",
                    "--log-level", level, "--persistence", "none")
                    .redirectError(log.toFile())
                    .start();
            try {
                String ready = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
                assertNotNull(ready);
                p.destroy();
                assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            } finally {
                p.destroyForcibly();
            }
            List<String> lines = Files.readAllLines(log);
            boolean listening = lines.stream().anyMatch(l -> l.matches(
                    "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) \\[main\\] INFO SluiceServer - listening for mqtt .*"));
            if (level.equals("info")) {
                assertTrue(listening, String.join("\n", lines));
            } else {
                assertTrue(lines.stream().noneMatch(l -> l.contains(" INFO ")), String.join("\n", lines));
            }
        }
    }

    /** The real process: the ready line on stdout, listeners that accept, and SIGTERM exits with 0. */
    @Test
    void theProcessPrintsTheReadyLineAndStopsCleanlyOnSigterm() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "--bind", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0", "--stomp-port", "0",
                "--log-level", "warn", "--persistence", "none")
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            BufferedReader stdout = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = stdout.readLine();
            assertNotNull(line, "no ready line");
            Matcher m = READY.matcher(line);
            assertTrue(m.matches(), line);
            for (int i = 1; i <= 3; i++) {
                try (Socket s = new Socket("127.0.0.1", Integer.parseInt(m.group(i)))) {
                    assertTrue(s.isConnected());
                }
            }
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "still running 30 s after SIGTERM");
            assertEquals(0, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
    }
}
