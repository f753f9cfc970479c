package io.sluice.conformance;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * docs/testing.md's recipe for MQTT.js with the command line, run as written (node/cli-recipe.mjs): a broker
 * process with --strict --port-file --violations-file --fault-injection, MQTT.js reconnecting after a drop
 * injected over HTTP, and the violation another client commits found in the file after SIGTERM.
 */
class CliRecipeTest {
    @Test
    void mqttJsWithTheCommandLine(@TempDir Path dir) throws Exception {
        String unavailable = NodeScripts.unavailable();
        if (unavailable != null) {
            if (io.sluice.conformance.matrix.Cells.clientsRequired()) {
                fail(unavailable);
            }
            Assumptions.abort(unavailable);
        }
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.sluice.server.Main");
        Map<String, NodeScripts.Result> results = NodeScripts.run("cli-recipe.mjs",
                Map.of("command", command, "dir", dir.toString()), Duration.ofMinutes(2));
        NodeScripts.Result r = results.get("cli-recipe");
        assertTrue(r != null && r.ok(), String.valueOf(r));
    }
}
