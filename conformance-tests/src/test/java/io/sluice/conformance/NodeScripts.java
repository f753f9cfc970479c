package io.sluice.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.conformance.matrix.Cells;
import io.sluice.conformance.matrix.Feature;
import io.sluice.conformance.matrix.Matrix;
import io.sluice.conformance.matrix.Row;
import org.junit.jupiter.api.function.ThrowingSupplier;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs the Node scripts of src/test/node (installed by the build with npm ci) and turns the one JSON line each
 * prints into matrix cells. A script runs once per row, on the first of its cells, with the row's built features.
 */
public final class NodeScripts {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final Path DIR = Path.of(System.getProperty("sluice.nodeDir", "src/test/node")).toAbsolutePath();

    private NodeScripts() {
    }

    /** The outcome of one check as the script reported it. */
    public record Result(boolean ok, String detail) {
    }

    /** Null when Node.js and the installed packages are present; otherwise what is missing and what to do. */
    public static String unavailable() {
        if (!Files.isDirectory(DIR.resolve("node_modules/mqtt")) || !Files.isDirectory(DIR.resolve("node_modules/@stomp/stompjs"))) {
            return "Node.js clients not installed: install Node.js 20+ with npm, then run the build again "
                    + "(it runs npm ci in " + DIR + ")";
        }
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            String version = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return "node --version failed: " + version;
            }
            Matrix.clientVersion("Node.js", version);
            Matrix.clientVersion("MQTT.js", packageVersion("mqtt"));
            Matrix.clientVersion("@stomp/stompjs", packageVersion("@stomp/stompjs"));
            return null;
        } catch (IOException e) {
            return "node not found on PATH: install Node.js 20+ with npm";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    public static String packageVersion(String name) {
        try {
            return JSON.readTree(DIR.resolve("node_modules").resolve(name).resolve("package.json").toFile())
                    .path("version").asText("?");
        } catch (IOException e) {
            return "?";
        }
    }

    /** Runs {@code script} with {@code argument} (as JSON) and returns its results by check name. */
    public static Map<String, Result> run(String script, Map<String, Object> argument, Duration timeout) throws Exception {
        String arg = JSON.writeValueAsString(argument);
        Process p = new ProcessBuilder("node", script, arg).directory(DIR.toFile()).start();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("node " + script + " did not finish within " + timeout + "; stderr: "
                    + err.getNow(""));
        }
        String stdout = out.get(10, TimeUnit.SECONDS);
        String stderr = err.get(10, TimeUnit.SECONDS);
        String line = null;
        for (String l : stdout.split("\n")) {
            if (l.startsWith("{\"results\"")) {
                line = l;
            }
        }
        if (line == null) {
            throw new AssertionError("node " + script + " exited " + p.exitValue() + " without results; stdout: "
                    + stdout + "; stderr: " + stderr);
        }
        Map<String, Result> results = new HashMap<>();
        JsonNode node = JSON.readTree(line).path("results");
        node.fields().forEachRemaining(e -> results.put(e.getKey(),
                new Result(e.getValue().path("ok").asBoolean(false), e.getValue().path("detail").asText(""))));
        return results;
    }

    private static String readAll(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    /** The row's built, applicable feature ids: what the script is asked to run. */
    public static List<String> runnableIds(Row row) {
        List<String> ids = new ArrayList<>();
        for (Feature f : Cells.runnable(row)) {
            ids.add(f.id());
        }
        return ids;
    }

    /**
     * One check per applicable feature, all answered from a single run of the script (made on first use, so a
     * row whose cells are all "not built" or skipped never starts Node).
     */
    public static Map<Feature, ThrowingSupplier<String>> checks(Row row, ThrowingSupplier<Map<String, Result>> runOnce) {
        // the run's results, or why it produced none: a failed run is not repeated for each cell
        AtomicReference<Map<String, Result>> cache = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Map<Feature, ThrowingSupplier<String>> checks = new EnumMap<>(Feature.class);
        for (Feature f : row.features()) {
            checks.put(f, () -> {
                if (cache.get() == null && failure.get() == null) {
                    try {
                        cache.set(runOnce.get());
                    } catch (Throwable t) {
                        failure.set(t);
                    }
                }
                if (failure.get() != null) {
                    throw new AssertionError("the script produced no results", failure.get());
                }
                Result r = cache.get().get(f.id());
                if (r == null) {
                    throw new AssertionError("the script reported nothing for " + f.id() + ": " + cache.get());
                }
                if (!r.ok()) {
                    throw new AssertionError(r.detail());
                }
                return r.detail();
            });
        }
        return checks;
    }
}
