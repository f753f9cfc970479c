package io.sluice.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The broker as a non-Java test suite runs it: a real process with {@code --strict --trace DIR --port-file FILE
 * --violations-file FILE}, ports read from the file, a client that breaks a rule, SIGTERM, and the report.
 */
class CliTestRunTest {
    @Test
    void portFileThenViolationsReportOnExit(@TempDir Path dir) throws Exception {
        Path ports = dir.resolve("ports.json");
        Path violations = dir.resolve("violations.jsonl");
        Path traces = dir.resolve("trace");
        Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.sluice.server.Main",
                "--strict", "--trace", traces.toString(), "--port-file", ports.toString(),
                "--violations-file", violations.toString(), "--bind", "127.0.0.1",
                "--mqtt-port", "0", "--http-port", "0", "--stomp-port", "0", "--log-level", "warn", "--persistence", "none"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("out.txt").toFile()).start();
        try {
            long deadline = System.currentTimeMillis() + 30_000;
            while (!Files.exists(ports)) {
                assertTrue(System.currentTimeMillis() < deadline && p.isAlive(), "no port file");
                Thread.sleep(20);
            }
            String json = Files.readString(ports);
            int mqtt = port(json, "mqtt");
            assertTrue(port(json, "http") > 0 && port(json, "stomp") > 0, json);
            try (Socket s = new Socket("127.0.0.1", mqtt)) {
                OutputStream out = s.getOutputStream();
                out.write(new byte[] {0x10, 0x0D, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'z'});
                out.write(new byte[] {0x30, 0x06, 0, 3, 'a', '/', '#', 'x'});
                out.flush();
                InputStream in = s.getInputStream();
                in.readNBytes(4);
                assertEquals(-1, in.read(), "the broker closes the offending connection");
            }
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
        String output = Files.readString(dir.resolve("out.txt"), StandardCharsets.UTF_8);
        assertTrue(output.contains("strict mode: 1 protocol violation(s)"), output);
        assertTrue(output.contains("[MQTT-3.3.2-2]"), output);
        String lines = Files.readString(violations);
        assertTrue(lines.contains("\"rule\":\"MQTT-3.3.2-2\"") && lines.contains("\"clientId\":\"z\""), lines);
        assertTrue(Files.readString(traces.resolve("mqtt-z.jsonl")).contains("\"type\":\"VIOLATION\""));
    }

    private static int port(String json, String name) throws IOException {
        Matcher m = Pattern.compile("\"" + name + "\":(\\d+)").matcher(json);
        if (!m.find()) {
            throw new IOException("no " + name + " in " + json);
        }
        return Integer.parseInt(m.group(1));
    }
}
