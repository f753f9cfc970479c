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
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
    /** What the last broker run printed, for assertion messages. */
    private static java.util.Queue<String> lastOutput = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private static final Pattern JAVA_VERSION = Pattern.compile("^JAVA_VERSION=\"(\\d+)");
    private static final Pattern FULL_VERSION = Pattern.compile("^JAVA_VERSION=\"(\\d+)(\\.(?:\\d+)\\.(\\d+))?");

    @Test
    void startsTheBrokerJvmWithItsSettingsAndSharesClassDataFromTheSecondRun(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Files.isRegularFile(JAR), "server/target/sluice.jar is built by mvn package");
        // the archive is written next to the jar: a link in a directory of the test's own keeps it there
        Path jar = Files.createSymbolicLink(dir.resolve("sluice.jar"), JAR);

        boolean trims = trimsNativeHeap(pathJava());
        long first = runUntilReadyThenStop(jar, Map.of(), cmdline -> {
            assertTrue(cmdline.contains("-XX:+UseSerialGC"), cmdline.toString());
            assertTrue(cmdline.contains("-Xmn32m"), cmdline.toString());
            assertTrue(cmdline.contains("-Dio.netty.leakDetection.level=disabled"), cmdline.toString());
            assertTrue(cmdline.stream().anyMatch(a -> a.startsWith("-XX:ArchiveClassesAtExit=")), cmdline.toString());
            // the C heap's freed pages trimmed where the Java has the flag (17.0.9 on), never asked of one without it
            assertEquals(trims, cmdline.contains("-XX:TrimNativeHeapInterval=2000"), cmdline.toString());
            // before Java 25 (no AOT cache with method profiles) the broker warms up before it serves
            assertTrue(cmdline.contains("-Dsluice.warm-up=10s"), cmdline.toString());
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

    /**
     * A new jar makes a new archive: an archive older than the jar is not mapped (its classes would not match);
     * that run writes a fresh one when it stops, and the run after it maps that. The jar here is a copy whose
     * time is set, so the build's jar is left as it is.
     */
    @Test
    void aNewJarGetsANewClassDataArchive(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Files.isRegularFile(JAR), "server/target/sluice.jar is built by mvn package");
        Assumptions.assumeTrue(feature(pathJava()) < 25, "Java 25 and later keep an AOT cache instead");
        Path jar = Files.copy(JAR, dir.resolve("sluice.jar"));
        Path archive = dir.resolve("sluice.jsa");
        // no warm-up: the archive is of the classes a started broker loaded, which is what this is about
        Map<String, String> quick = Map.of("JAVA_OPTS", "-Dsluice.warm-up=0");
        long first = runUntilReadyThenStop(jar, quick, cmdline -> { });
        runUntilReadyThenStop(jar, quick, cmdline -> assertTrue(
                cmdline.contains("-XX:SharedArchiveFile=" + archive), cmdline.toString()));
        assertFalse(Files.exists(dir.resolve("sluice.jsa." + first + ".tmp")), "the first run's archive was taken in place");

        // the jar is replaced (a new build): now newer than the archive
        Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.from(java.time.Instant.now()));
        long third = runUntilReadyThenStop(jar, quick, cmdline -> {
            assertFalse(cmdline.stream().anyMatch(a -> a.startsWith("-XX:SharedArchiveFile=")), cmdline.toString());
            assertTrue(cmdline.stream().anyMatch(a -> a.startsWith("-XX:ArchiveClassesAtExit=" + archive + ".")), cmdline.toString());
        });
        Path rewritten = dir.resolve("sluice.jsa." + third + ".tmp");
        assertTrue(Files.size(rewritten) >= 8_000_000, "a new archive for the new jar: " + Files.size(rewritten));

        runUntilReadyThenStop(jar, quick, cmdline -> assertTrue(
                cmdline.contains("-XX:SharedArchiveFile=" + archive), cmdline.toString()));
        assertFalse(Files.exists(rewritten), "the new archive was taken in place");
        assertTrue(Files.getLastModifiedTime(archive).compareTo(Files.getLastModifiedTime(jar)) > 0, "the archive in place is the new jar's");
    }

    /**
     * On Java 25 and later the launcher keeps an AOT cache instead of the class-data archive: the first run writes
     * it when it stops, the next one starts with it. Runs where such a JDK is installed (JAVA25_HOME, or one under
     * /usr/lib/jvm); the release file tells the launcher which Java it has.
     */
    @Test
    void onJava25TheSecondRunStartsFromTheAotCacheTheFirstWrote(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(Files.isRegularFile(JAR), "server/target/sluice.jar is built by mvn package");
        Path jdk = java25OrLater();
        Assumptions.assumeTrue(jdk != null, "no JDK 25 or later installed (JAVA25_HOME or /usr/lib/jvm)");
        Path jar = Files.createSymbolicLink(dir.resolve("sluice.jar"), JAR);
        Map<String, String> env = Map.of("JAVA_HOME", jdk.toString());

        long first = runUntilReadyThenStop(jar, env, cmdline -> {
            assertTrue(cmdline.stream().anyMatch(a -> a.startsWith("-XX:AOTCacheOutput=" + dir.resolve("sluice.aot."))),
                    cmdline.toString());
            assertFalse(cmdline.stream().anyMatch(a -> a.startsWith("-XX:ArchiveClassesAtExit")), cmdline.toString());
            // a Java this new trims the C heap it freed: the launcher asks for it
            assertTrue(cmdline.contains("-XX:TrimNativeHeapInterval=2000"), cmdline.toString());
            assertFalse(cmdline.stream().anyMatch(a -> a.startsWith("-Dsluice.warm-up")), cmdline.toString());
        });
        Path written = dir.resolve("sluice.aot." + first + ".tmp");
        assertTrue(Files.isRegularFile(written), "no AOT cache written; the directory holds " + list(dir)
                + ", the broker printed " + lastOutput);
        assertTrue(Files.size(written) >= 16_000_000, "an AOT cache of a started broker: " + Files.size(written));

        runUntilReadyThenStop(jar, env, cmdline -> assertTrue(
                cmdline.contains("-XX:AOTCache=" + dir.resolve("sluice.aot")), cmdline.toString()));
        assertFalse(Files.exists(written), "the cache was taken in place");
        assertFalse(Files.exists(dir.resolve("sluice.jsa")), "no class-data archive beside it");
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).toList();
        }
    }

    /** A JDK of feature version 25 or later: JAVA25_HOME, or the newest such under /usr/lib/jvm; null if none. */
    private static Path java25OrLater() throws IOException {
        String named = System.getenv("JAVA25_HOME");
        if (named != null && Files.isExecutable(Path.of(named, "bin/java"))) {
            return Path.of(named);
        }
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return null;
        }
        try (Stream<Path> all = Files.list(jvms)) {
            return all.filter(d -> Files.isExecutable(d.resolve("bin/java")) && feature(d) >= 25)
                    .max(Comparator.comparingInt(LauncherTest::feature)).orElse(null);
        }
    }

    /** The JDK of the first java on the PATH (what the launcher runs without JAVA_HOME), null if none. */
    private static Path pathJava() throws IOException {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path java = Path.of(dir, "java");
            if (!dir.isEmpty() && Files.isExecutable(java)) {
                return java.toRealPath().getParent().getParent();
            }
        }
        return null;
    }

    /** Whether a JDK has -XX:TrimNativeHeapInterval: 17.0.9 and later 17s, 21.0.1 and later, 22 and later. */
    private static boolean trimsNativeHeap(Path jdk) throws IOException {
        if (jdk == null) {
            return false;
        }
        for (String line : Files.readAllLines(jdk.resolve("release"))) {
            Matcher m = FULL_VERSION.matcher(line);
            if (m.find()) {
                int feature = Integer.parseInt(m.group(1));
                int update = m.group(3) == null ? 0 : Integer.parseInt(m.group(3));
                return feature >= 22 || (feature == 21 && update >= 1) || (feature == 17 && update >= 9);
            }
        }
        return false;
    }

    /** The feature version in a JDK's release file (JAVA_VERSION="25.0.1"), 0 when it has none. */
    private static int feature(Path jdk) {
        try {
            for (String line : Files.readAllLines(jdk.resolve("release"))) {
                Matcher m = JAVA_VERSION.matcher(line);
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
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
            // one reader for the whole output, from the start: what the JVM prints when it stops (the archive or
            // cache it writes) is kept for a failing assertion's message
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            CompletableFuture<String> ready = new CompletableFuture<>();
            lastOutput = new java.util.concurrent.ConcurrentLinkedQueue<>();
            java.util.Queue<String> lines = lastOutput;
            Thread reader = new Thread(() -> {
                try {
                    for (String line; (line = out.readLine()) != null; ) {
                        lines.add(line);
                        if (line.startsWith("Sluice ready:")) {
                            ready.complete(line);
                        }
                    }
                } catch (IOException e) {
                    // the process went away
                }
                ready.complete(null);
            }, "launcher-output");
            reader.setDaemon(true);
            reader.start();
            String line = ready.get(90, TimeUnit.SECONDS);
            assertTrue(line != null, "no ready line: " + lines);
            // exec: the pid we started is the JVM, not a shell waiting for it
            assertEquals("java", Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/exe")).getFileName().toString());
            String raw = Files.readString(Path.of("/proc/" + p.pid() + "/cmdline"));
            check.accept(Stream.of(raw.split("\0")).toList());
            // SIGTERM through the handle: Process.destroy() also closes our ends of its pipes, and a JVM that prints
            // on its way out (the AOT cache is assembled by a second JVM at exit) must not meet a closed stdout
            p.toHandle().destroy();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "stopped on SIGTERM");
            assertEquals(0, p.exitValue());
            reader.join(10_000);
            return p.pid();
        } finally {
            p.destroyForcibly();
        }
    }

}
