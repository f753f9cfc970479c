package io.sluice.conformance;

import io.sluice.conformance.matrix.Catalog;
import io.sluice.conformance.matrix.Cells;
import io.sluice.conformance.matrix.Matrix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.TestFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Headless Chromium (Debian's chromium, driven by playwright-core) loads a page with the bundled MQTT.js and
 * stomp.js and does an MQTT <-> STOMP round trip against the broker over WebSocket.
 */
class BrowserTest {
    static final String CHROMIUM = System.getProperty("sluice.chromium", "/usr/bin/chromium");
    private static final Path PAGE_DIR = Path.of(System.getProperty("sluice.browserDir", "target/browser"));
    private static TestBroker broker;
    private static String unavailable;

    @BeforeAll
    static void start() {
        broker = TestBroker.start();
        unavailable = NodeScripts.unavailable();
        if (unavailable == null && !Files.isExecutable(Path.of(CHROMIUM))) {
            unavailable = "no Chromium at " + CHROMIUM + ": the browser test needs it (Debian: apt-get install chromium)";
        }
        if (unavailable == null && !Files.isRegularFile(PAGE_DIR.resolve("bundle.js"))) {
            unavailable = "no browser bundle in " + PAGE_DIR + " (the build makes it with npm and esbuild)";
        }
        if (unavailable == null) {
            Matrix.clientVersion("Chromium", chromiumVersion());
            Matrix.clientVersion("playwright-core", NodeScripts.packageVersion("playwright-core"));
        }
    }

    private static String chromiumVersion() {
        try {
            Process p = new ProcessBuilder(CHROMIUM, "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            return out.replaceAll("(?s).*?Chromium ([0-9.]+).*", "$1").trim();
        } catch (Exception e) {
            return "?";
        }
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    @TestFactory
    Stream<DynamicContainer> chromium() {
        return Stream.of(Cells.row(Catalog.CHROMIUM, unavailable, NodeScripts.checks(Catalog.CHROMIUM,
                () -> NodeScripts.run("browser-check.mjs", Map.of(
                        "pageDir", PAGE_DIR.toAbsolutePath().toString(),
                        "chromium", CHROMIUM,
                        "mqttUrl", broker.mqttWsUrl(),
                        "stompUrl", broker.stompWsUrl(),
                        "features", NodeScripts.runnableIds(Catalog.CHROMIUM)), Duration.ofMinutes(5)))));
    }
}
