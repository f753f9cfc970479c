package io.sluice.conformance;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The broker's own web console, served from the server jar at {@code /}, driven in headless Chromium
 * (playwright-core, Debian's chromium) against this broker while MQTT.js and stomp.js clients make traffic:
 * the charts move, a client found by search is disconnected and leaves the list, a retained message published
 * over MQTT shows in the topic tree and is deleted from the page, the try-it panel receives what an MQTT client
 * publishes, and every page is reached from the keyboard. The script (src/test/node/console-check.mjs) also
 * takes the README's screenshots, into {@code sluice.screenshotDir}.
 */
class ConsoleTest {
    private static final List<String> CHECKS = List.of("overviewChartsMoveWithTraffic",
            "clientFoundBySearchIsDisconnected", "retainedMessageShownInTreeAndDeleted",
            "tryItPanelReceivesWhatAnMqttClientPublishes", "keyboardReachesEveryPage");
    private static final boolean REQUIRED = Boolean.getBoolean("sluice.requireAllClients");
    private static TestBroker broker;
    private static String unavailable;
    private static Map<String, NodeScripts.Result> results;

    @BeforeAll
    static void drive() throws Exception {
        broker = TestBroker.start();
        String consoleUrl = "http://" + TestBroker.HOST + ":" + broker.httpPort() + "/";
        unavailable = NodeScripts.unavailable();
        if (unavailable == null && !Files.isExecutable(Path.of(BrowserTest.CHROMIUM))) {
            unavailable = "no Chromium at " + BrowserTest.CHROMIUM + ": the console test needs it (Debian: apt-get install chromium)";
        }
        if (unavailable == null) {
            HttpResponse<String> page = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(consoleUrl))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            if (page.statusCode() != 200) {
                unavailable = "the server jar has no console (" + page.statusCode() + ": " + page.body().trim() + ")";
            }
        }
        if (unavailable != null) {
            return;
        }
        String shots = System.getProperty("sluice.screenshotDir", "target/console-screenshots");
        results = NodeScripts.run("console-check.mjs", Map.of(
                "consoleUrl", consoleUrl,
                "mqttTcp", broker.mqttTcpUrl("mqtt"),
                "mqttWs", broker.mqttWsUrl(),
                "stompWs", broker.stompWsUrl(),
                "chromium", BrowserTest.CHROMIUM,
                "screenshotDir", Path.of(shots).toAbsolutePath().toString(),
                "features", CHECKS), Duration.ofMinutes(8));
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    private static void check(String name) {
        if (unavailable != null) {
            if (REQUIRED) {
                Assertions.fail(unavailable + " (-Dsluice.requireAllClients=true makes the console test mandatory)");
            }
            Assumptions.abort(unavailable);
        }
        NodeScripts.Result r = results.get(name);
        Assertions.assertNotNull(r, "console-check.mjs reported nothing for " + name);
        Assertions.assertTrue(r.ok(), name + ": " + r.detail());
        System.out.println("console " + name + ": " + r.detail());
    }

    @Test
    void overviewChartsMoveWithTraffic() {
        check("overviewChartsMoveWithTraffic");
    }

    @Test
    void clientFoundBySearchIsDisconnected() {
        check("clientFoundBySearchIsDisconnected");
    }

    @Test
    void retainedMessageShownInTreeAndDeleted() {
        check("retainedMessageShownInTreeAndDeleted");
    }

    @Test
    void tryItPanelReceivesWhatAnMqttClientPublishes() {
        check("tryItPanelReceivesWhatAnMqttClientPublishes");
    }

    @Test
    void keyboardReachesEveryPage() {
        check("keyboardReachesEveryPage");
    }
}
