package io.sluice.conformance;

import io.micrometer.core.instrument.FunctionCounter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * MQTT.js and stomp.js in headless Chromium over compressed WebSockets: the browser offers permessage-deflate
 * by default, the page checks what was negotiated ({@code WebSocket.extensions}) and that JSON documents arrive
 * whole, and the broker's own counters show the bytes it sent were compressed, for each protocol. Then
 * subscriptions asking for deltas, decoded in the page with npm {@code fossil-delta}, give back every document.
 */
class CompressedWebSocketTest {
    private static final Path PAGE_DIR = Path.of(System.getProperty("sluice.browserDir", "target/browser"));
    private static TestBroker broker;

    @BeforeAll
    static void start() {
        broker = TestBroker.start();
    }

    @AfterAll
    static void stop() {
        broker.close();
    }

    @Test
    void chromiumWithMqttJsAndStompJsOverPermessageDeflateAndDeltas() throws Exception {
        String unavailable = NodeScripts.unavailable();
        if (unavailable == null && !Files.isExecutable(Path.of(BrowserTest.CHROMIUM))) {
            unavailable = "no Chromium at " + BrowserTest.CHROMIUM + " (Debian: apt-get install chromium)";
        }
        if (unavailable == null && !Files.isRegularFile(PAGE_DIR.resolve("bundle.js"))) {
            unavailable = "no browser bundle in " + PAGE_DIR + " (the build makes it with npm and esbuild)";
        }
        if (unavailable != null) {
            if (Boolean.getBoolean("sluice.requireAllClients")) {
                fail(unavailable);
            }
            Assumptions.abort(unavailable);
        }
        List<String> checks = List.of("mqtt-deflate", "stomp-deflate", "mqtt-delta", "stomp-delta");
        Map<String, NodeScripts.Result> results = NodeScripts.run("browser-check.mjs", Map.of(
                "pageDir", PAGE_DIR.toAbsolutePath().toString(),
                "chromium", BrowserTest.CHROMIUM,
                "mqttUrl", broker.mqttWsUrl(),
                "stompUrl", broker.stompWsUrl(),
                "features", checks,
                "entry", "sluiceCompression"), Duration.ofMinutes(3));
        for (String check : checks) {
            NodeScripts.Result r = results.get(check);
            assertTrue(r != null && r.ok(), check + ": " + (r == null ? "no result " + results : r.detail()));
        }
        for (String protocol : List.of("mqtt", "stomp")) {
            double before = bytes("sluice.ws.deflate.before", protocol);
            double after = bytes("sluice.ws.deflate.after", protocol);
            assertTrue(before > 5 * 2000, protocol + ": " + before + " bytes went through permessage-deflate");
            assertTrue(after < before / 3, protocol + ": compressed to " + after + " of " + before + " bytes");
            double full = bytes("sluice.delta.before", protocol);
            double sent = bytes("sluice.delta.after", protocol);
            assertTrue(full > 5 * 2000 && sent < full / 3, protocol + ": deltas sent " + sent + " bytes for " + full);
        }
    }

    private static double bytes(String name, String protocol) {
        FunctionCounter c = broker.server().operations().metrics().registry().find(name).tag("protocol", protocol).functionCounter();
        return c == null ? 0 : c.count();
    }
}
