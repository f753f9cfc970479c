package io.sluice.conformance;

import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A real {@code EventSource} in headless Chromium against GET /sse: live delivery, a cut stream resuming with
 * Last-Event-ID without loss or duplicate, and a reset past the history (sse-browser-check.mjs).
 */
class SseBrowserTest {
    private static final int HISTORY_MESSAGES = 5;
    private static final List<String> CHECKS = List.of("sse-live", "sse-resume", "sse-reset");
    private static SluiceServer server;
    private static String unavailable;

    @BeforeAll
    static void start() {
        server = SluiceServer.start(Settings.defaults().with(Settings.BIND, TestBroker.HOST)
                .with(Settings.MQTT_PORT, 0).with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, 0)
                .with(Settings.HISTORY_MESSAGES, HISTORY_MESSAGES)
                // the browser comes back quickly after a cut stream
                .with(Settings.SSE_RETRY, 300L));
        unavailable = NodeScripts.unavailable();
        if (unavailable == null && !Files.isExecutable(Path.of(BrowserTest.CHROMIUM))) {
            unavailable = "no Chromium at " + BrowserTest.CHROMIUM + " (Debian: apt-get install chromium)";
        }
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @TestFactory
    Stream<DynamicTest> eventSourceInChromium() throws Exception {
        if (unavailable != null) {
            if (Boolean.getBoolean("sluice.requireAllClients")) {
                fail(unavailable);
            }
            Assumptions.abort(unavailable);
        }
        Map<String, NodeScripts.Result> results = NodeScripts.run("sse-browser-check.mjs", Map.of(
                "chromium", BrowserTest.CHROMIUM,
                "broker", "http://" + TestBroker.HOST + ":" + server.port("http"),
                "historyMessages", HISTORY_MESSAGES,
                "checks", CHECKS), Duration.ofMinutes(4));
        return CHECKS.stream().map(c -> DynamicTest.dynamicTest(c, () -> {
            NodeScripts.Result r = results.get(c);
            assertNotNull(r, "no result for " + c + ": " + results);
            assertTrue(r.ok(), r.detail());
        }));
    }
}
