package io.sluice.junit5;

import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.sluice.server.SluiceUrls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.platform.engine.OutputDirectoryCreator;
import org.junit.platform.engine.TestDescriptor;
import org.junit.platform.engine.reporting.FileEntry;
import org.junit.platform.engine.reporting.ReportEntry;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * A failing test gets the log lines of its own broker attached, and only a failing test: run on JUnit's
 * {@link EngineTestKit} against a fixture class (nested, so the build does not run it by itself) whose tests run at
 * the same time, each with a broker of its own, so the lines of one broker must not show in another's report.
 */
class BrokerLogAttachmentTest {

    @Execution(ExecutionMode.CONCURRENT)
    static class LoggingFixture {
        static final CountDownLatch BOTH_CONNECTED = new CountDownLatch(2);

        @Test
        @SluiceBroker
        void redFails(SluiceUrls urls) throws Exception {
            connectAndFail(urls, "client-red");
        }

        @Test
        @SluiceBroker
        void blueFails(SluiceUrls urls) throws Exception {
            connectAndFail(urls, "client-blue");
        }

        @Test
        @SluiceBroker
        void greenPasses(SluiceUrls urls) throws Exception {
            Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("client-green").serverHost(urls.host())
                    .serverPort(urls.mqttPort()).buildBlocking();
            c.connect();
            c.disconnect();
        }

        /** Both clients are connected to their brokers at once before either test fails. */
        private static void connectAndFail(SluiceUrls urls, String id) throws Exception {
            Mqtt5BlockingClient c = Mqtt5Client.builder().identifier(id).serverHost(urls.host())
                    .serverPort(urls.mqttPort()).buildBlocking();
            c.connect();
            BOTH_CONNECTED.countDown();
            assertTrue(BOTH_CONNECTED.await(30, TimeUnit.SECONDS), "both tests ran at the same time");
            c.disconnect();
            throw new AssertionError("failed on purpose after " + id + " came and went");
        }
    }

    @Test
    void aFailingTestHasItsOwnBrokersLogLinesAttached() throws Exception {
        Path root = Files.createTempDirectory("sluice-log-reports");
        EngineExecutionResults results = EngineTestKit.engine("junit-jupiter")
                .selectors(selectClass(LoggingFixture.class))
                .configurationParameter("junit.jupiter.execution.parallel.enabled", "true")
                .configurationParameter("junit.jupiter.execution.parallel.config.strategy", "fixed")
                .configurationParameter("junit.jupiter.execution.parallel.config.fixed.parallelism", "3")
                .outputDirectoryCreator(new OutputDirectoryCreator() {
                    @Override
                    public Path getRootDirectory() {
                        return root;
                    }

                    @Override
                    public Path createOutputDirectory(TestDescriptor test) throws IOException {
                        return Files.createDirectories(root.resolve(Integer.toHexString(test.getUniqueId().hashCode())));
                    }
                })
                .execute();
        results.testEvents().assertStatistics(s -> s.started(3).succeeded(1).failed(2));

        Map<String, String> logs = logEntries(results);
        assertEquals(Map.of("redFails(SluiceUrls)", true, "blueFails(SluiceUrls)", true), logs.entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue() != null)),
                "a sluice.log entry for each failing test, none for the passing one: " + logs.keySet());
        String red = logs.get("redFails(SluiceUrls)");
        String blue = logs.get("blueFails(SluiceUrls)");
        // the broker's connection log, from its I/O threads: this test's client, never the other test's
        assertTrue(red.contains("connect client=client-red protocol=mqtt"), red);
        assertTrue(red.contains("disconnect client=client-red"), red);
        assertFalse(red.contains("client-blue") || red.contains("client-green"), red);
        assertTrue(blue.contains("connect client=client-blue protocol=mqtt"), blue);
        assertFalse(blue.contains("client-red") || blue.contains("client-green"), blue);
        assertTrue(red.lines().anyMatch(l -> l.contains("INFO [sluice-io-")), "I/O threads' lines: " + red);

        List<Path> files = results.allEvents().stream()
                .map(e -> e.getPayload(FileEntry.class))
                .flatMap(Optional::stream)
                .map(FileEntry::getPath)
                .filter(p -> p.getFileName().toString().equals("sluice-log.txt"))
                .toList();
        assertEquals(2, files.size(), "a sluice-log.txt file per failing test: " + files);
        for (Path f : files) {
            String text = Files.readString(f);
            assertTrue(text.equals(red) || text.equals(blue), text);
        }
    }

    /** The sluice.log report entry of each test that published one, by the test's display name. */
    private static Map<String, String> logEntries(EngineExecutionResults results) {
        return results.allEvents().reportingEntryPublished().stream()
                .filter(e -> e.getPayload(ReportEntry.class).map(r -> r.getKeyValuePairs().containsKey("sluice.log"))
                        .orElse(false))
                .collect(Collectors.toMap(e -> e.getTestDescriptor().getDisplayName(),
                        e -> e.getPayload(ReportEntry.class).orElseThrow().getKeyValuePairs().get("sluice.log")));
    }
}
