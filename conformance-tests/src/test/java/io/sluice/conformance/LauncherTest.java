package io.sluice.conformance;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's start command, {@code bin/sluice}, run as a user runs it, on the jar the build made: the process
 * it starts is the broker's JVM itself (so its pid, signals and exit status are the broker's), with the
 * broker's JVM settings; the first run leaves a class-data archive behind when it stops and the next one uses
 * it; a collector named in JAVA_OPTS replaces the launcher's.
 */
class LauncherTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path JAR = ROOT.resolve("server/target/sluice.jar");

    @Test
    void startsTheBrokerJvmWithItsSettingsAndSharesClassDataFromTheSecondRun(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Files.isRegularFile(JAR), "server/target/sluice.jar is built by mvn package");
        // the archive is written next to the jar: a link in a directory of the test's own keeps it there
        Path jar = Files.createSymbolicLink(dir.resolve("sluice.jar"), JAR);

        long first = runUntilReadyThenStop(jar, Map.of(), cmdline -> {
            assertTrue(cmdline.contains("-XX:+UseSerialGC"), cmdline.toString());
            assertTrue(cmdline.contains("-Xmn32m"), cmdline.toString());
            assertTrue(cmdline.contains("-Dio.netty.leakDetection.level=disabled"), cmdline.toString());
            assertTrue(cmdline.stream().anyMatch(a -> a.startsWith("-XX:ArchiveClassesAtExit=")), cmdline.toString());
        });
        Path written = dir.resolve("sluice.jsa." + first + ".tmp");
        assertTrue(Files.size(written) >= 8_000_000, "a class-data archive of a started broker: " + Files.size(written));

        runUntilReadyThenStop(jar, Map.of(), cmdline -> assertTrue(
                cmdline.contains("-XX:SharedArchiveFile=" + dir.resolve("sluice.jsa")), cmdline.toString()));
        assertFalse(Files.exists(written), "the archive was taken in place");

        runUntilReadyThenStop(jar, Map.of("JAVA_OPTS", "-XX:+UseParallelGC"), cmdline -> {
            assertFalse(cmdline.contains("-XX:+UseSerialGC"), cmdline.toString());
            assertTrue(cmdline.contains("-XX:+UseParallelGC"), cmdline.toString());
        });
    }

    /** Start bin/sluice, check the JVM it became, stop it with SIGTERM; returns its pid. */
    private static long runUntilReadyThenStop(Path jar, Map<String, String> env,
                                              java.util.function.Consumer<List<String>> check) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("sh", ROOT.resolve("bin/sluice").toString(), "--mqtt-port", "0",
                "--http-port", "0", "--stomp-port", "0", "--persistence", "none")
                .directory(jar.getParent().toFile()).redirectErrorStream(true);
        pb.environment().remove("JAVA_OPTS");
        pb.environment().put("SLUICE_JAR", jar.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
                try {
                    for (String line; (line = out.readLine()) != null; ) {
                        if (line.startsWith("Sluice ready:")) {
                            return line;
                        }
                    }
                    return null;
                } catch (IOException e) {
                    return null;
                }
            });
            String line = ready.get(90, TimeUnit.SECONDS);
            assertTrue(line != null, "no ready line");
            // exec: the pid we started is the JVM, not a shell waiting for it
            assertEquals("java", Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/exe")).getFileName().toString());
            String raw = Files.readString(Path.of("/proc/" + p.pid() + "/cmdline"));
            check.accept(Stream.of(raw.split("\0")).toList());
            CompletableFuture.runAsync(() -> drain(out));
            p.destroy();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "stopped on SIGTERM");
            assertEquals(0, p.exitValue());
            return p.pid();
        } finally {
            p.destroyForcibly();
        }
    }

    private static void drain(BufferedReader out) {
        try {
            while (out.readLine() != null) {
                // the broker's log after the ready line is not the test's business
            }
        } catch (IOException e) {
            // the process went away
        }
    }
}
