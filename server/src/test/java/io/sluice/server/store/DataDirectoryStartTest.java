package io.sluice.server.store;

import io.sluice.server.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The data directory from the command line: created on first start, one broker per directory. */
class DataDirectoryStartTest {
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private Main.Started run(Path dataDir) {
        return Main.start(new String[] {"--bind", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0", "--stomp-port", "0",
                        "--log-level", "warn", "--persistence", "rocksdb", "--data-dir", dataDir.toString()},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void theDirectoryIsCreatedOnFirstStartAndASecondBrokerOnItIsRefused(@TempDir Path tmp) {
        Path dataDir = tmp.resolve("nested/sluice-data");
        Main.Started first = run(dataDir);
        assertNotNull(first.server(), err.toString(StandardCharsets.UTF_8));
        try {
            assertTrue(Files.isDirectory(dataDir.resolve("db")), "store created in " + dataDir);
            Main.Started second = run(dataDir);
            assertEquals(1, second.exitCode());
            String message = err.toString(StandardCharsets.UTF_8);
            assertTrue(message.startsWith("sluice: ") && message.contains("in use by another Sluice process")
                    && message.contains("--data-dir"), message);
        } finally {
            first.server().close();
        }
        Main.Started again = run(dataDir);
        assertNotNull(again.server(), "the directory is free once the first broker stopped: " + err);
        again.server().close();
    }
}
