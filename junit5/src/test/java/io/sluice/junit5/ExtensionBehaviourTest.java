package io.sluice.junit5;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.sluice.server.Sluice;
import io.sluice.server.SluiceUrls;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.reporting.FileEntry;
import org.junit.platform.engine.reporting.ReportEntry;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherFactory;

import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

/**
 * The extension as JUnit runs it: fixture classes (nested, so the build does not run them itself) are launched
 * here and their outcomes and report entries checked: parallel tests with brokers of their own, a failing test
 * with the broker's story attached, a passing test failed by strict mode.
 */
class ExtensionBehaviourTest {
    /** What one launch produced. */
    static final class Outcome implements TestExecutionListener {
        final Map<String, TestExecutionResult> results = new ConcurrentHashMap<>();
        final List<ReportEntry> entries = new CopyOnWriteArrayList<>();
        final List<FileEntry> files = new CopyOnWriteArrayList<>();

        @Override
        public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            if (id.isTest()) {
                results.put(id.getDisplayName(), result);
            }
        }

        @Override
        public void reportingEntryPublished(TestIdentifier id, ReportEntry entry) {
            entries.add(entry);
        }

        @Override
        public void fileEntryPublished(TestIdentifier id, FileEntry file) {
            files.add(file);
        }

        String entry(String key) {
            return entries.stream().map(e -> e.getKeyValuePairs().get(key)).filter(v -> v != null).findFirst().orElse(null);
        }
    }

    /** A fresh directory for each launch's attached files. */
    private static String reportsDir() {
        try {
            return Files.createTempDirectory("sluice-junit5-reports").toString();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static Outcome launch(Class<?> fixture, boolean parallel) {
        LauncherDiscoveryRequest request = request().selectors(selectClass(fixture))
                .configurationParameter("junit.jupiter.execution.parallel.enabled", String.valueOf(parallel))
                .configurationParameter("junit.jupiter.execution.parallel.config.strategy", "fixed")
                .configurationParameter("junit.jupiter.execution.parallel.config.fixed.parallelism", "4")
                .configurationParameter("junit.platform.reporting.output.dir", reportsDir())
                .build();
        Outcome outcome = new Outcome();
        LauncherFactory.create().execute(request, outcome);
        return outcome;
    }

    // ---- parallel execution

    /** Four tests at once, each with its own broker; a latch makes sure they really overlap. */
    @Execution(ExecutionMode.CONCURRENT)
    static class ParallelFixture {
        static final CountDownLatch ALL_STARTED = new CountDownLatch(4);
        static final Set<Integer> PORTS = ConcurrentHashMap.newKeySet();

        @Test
        @SluiceBroker
        void one(Sluice broker, SluiceUrls urls) throws Exception {
            roundTrip(broker, urls);
        }

        @Test
        @SluiceBroker
        void two(Sluice broker, SluiceUrls urls) throws Exception {
            roundTrip(broker, urls);
        }

        @Test
        @SluiceBroker
        void three(Sluice broker, SluiceUrls urls) throws Exception {
            roundTrip(broker, urls);
        }

        @Test
        @SluiceBroker
        void four(Sluice broker, SluiceUrls urls) throws Exception {
            roundTrip(broker, urls);
        }

        /** The same client id and topic in every test: only separate brokers keep them apart. */
        private static void roundTrip(Sluice broker, SluiceUrls urls) throws Exception {
            PORTS.add(urls.mqttPort());
            ALL_STARTED.countDown();
            assertTrue(ALL_STARTED.await(30, TimeUnit.SECONDS), "the four tests ran at the same time");
            Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("same-id").serverHost(urls.host())
                    .serverPort(urls.mqttPort()).buildBlocking();
            c.connect();
            try (Mqtt5BlockingClient.Mqtt5Publishes in = c.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
                c.subscribeWith().topicFilter("same/topic").qos(MqttQos.AT_LEAST_ONCE).send();
                c.publishWith().topic("same/topic").payload(String.valueOf(urls.mqttPort()).getBytes())
                        .qos(MqttQos.AT_LEAST_ONCE).send();
                assertEquals(String.valueOf(urls.mqttPort()),
                        new String(in.receive(10, TimeUnit.SECONDS).orElseThrow().getPayloadAsBytes()));
                assertTrue(in.receive(200, TimeUnit.MILLISECONDS).isEmpty(), "no message from another test's broker");
            }
            c.disconnect();
        }
    }

    @Test
    void parallelTestsEachGetTheirOwnBroker() {
        Outcome o = launch(ParallelFixture.class, true);
        assertEquals(4, o.results.size(), o.results.toString());
        o.results.forEach((name, r) -> assertEquals(TestExecutionResult.Status.SUCCESSFUL, r.getStatus(),
                name + ": " + r.getThrowable().map(Throwable::toString).orElse("")));
        assertEquals(4, ParallelFixture.PORTS.size(), "four brokers on four ports");
    }

    // ---- a failing test gets the broker's story

    @SluiceBroker(trace = true)
    static class FailingFixture {
        @Test
        void failsAfterTalkingToTheBroker(@SluiceUrl(SluiceUrl.Kind.TCP) String url) throws Exception {
            MqttClient paho = new MqttClient(url, "paho-failing", new MemoryPersistence());
            MqttConnectOptions o = new MqttConnectOptions();
            o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
            paho.connect(o);
            paho.publish("f/t", "payload".getBytes(), 1, false);
            paho.disconnect();
            paho.close();
            throw new AssertionError("the test's own failure");
        }
    }

    @Test
    void aFailingTestHasTheJournalAndTheTraceAttached() throws Exception {
        Outcome o = launch(FailingFixture.class, false);
        TestExecutionResult r = o.results.get("failsAfterTalkingToTheBroker(String)");
        assertEquals(TestExecutionResult.Status.FAILED, r.getStatus());
        assertEquals("the test's own failure", r.getThrowable().orElseThrow().getMessage());
        String journal = o.entry("sluice.journal");
        assertTrue(journal != null && journal.contains("CONNECT mqtt tcp") && journal.contains("'paho-failing'"),
                String.valueOf(journal));
        FileEntry trace = o.files.stream().filter(f -> f.getPath().getFileName().toString().equals("sluice-trace"))
                .findFirst().orElseThrow(() -> new AssertionError("no trace attached: " + o.files));
        String lines = Files.readString(trace.getPath().resolve("mqtt-paho-failing.jsonl"));
        assertTrue(lines.contains("\"type\":\"PUBLISH\"") && lines.contains("\"payload\":\"payload\""), lines);
        assertTrue(o.files.stream().anyMatch(f -> f.getPath().getFileName().toString().equals("sluice-journal.txt")));
    }

    // ---- strict mode fails a test that passed

    @SluiceBroker(strict = true)
    static class StrictFixture {
        @Test
        void aClientBreaksARuleButTheTestAssertsNothing(SluiceUrls urls) throws Exception {
            try (Socket s = new Socket("127.0.0.1", urls.mqttPort())) {
                OutputStream out = s.getOutputStream();
                // PINGREQ before CONNECT: [MQTT-3.1.0-1]
                out.write(new byte[] {(byte) 0xC0, 0});
                out.flush();
                assertEquals(-1, s.getInputStream().read(), "the broker closes the connection");
            }
        }

        @Test
        void aWellBehavedClient(@SluiceUrl(SluiceUrl.Kind.TCP) URI tcp) throws Exception {
            MqttClient paho = new MqttClient(tcp.toString(), "paho-good", new MemoryPersistence());
            MqttConnectOptions o = new MqttConnectOptions();
            o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
            paho.connect(o);
            paho.subscribe("g/#", 1);
            paho.publish("g/t", "x".getBytes(), 1, false);
            paho.disconnect();
            paho.close();
        }
    }

    @Test
    void strictModeFailsTheTestDuringWhichAClientBrokeARule() {
        Outcome o = launch(StrictFixture.class, false);
        TestExecutionResult bad = o.results.get("aClientBreaksARuleButTheTestAssertsNothing(SluiceUrls)");
        assertEquals(TestExecutionResult.Status.FAILED, bad.getStatus());
        String message = bad.getThrowable().orElseThrow().getMessage();
        assertTrue(message.contains("[MQTT-3.1.0-1]"), message);
        TestExecutionResult good = o.results.get("aWellBehavedClient(URI)");
        assertEquals(TestExecutionResult.Status.SUCCESSFUL, good.getStatus(),
                good.getThrowable().map(Throwable::toString).orElse(""));
        assertTrue(o.entry("sluice.violations").contains("MQTT-3.1.0-1"));
    }

    @org.junit.jupiter.api.extension.ExtendWith(SluiceExtension.class)
    static class NoBrokerFixture {
        @Test
        void asksForABrokerWithoutTheAnnotation(@SluiceUrl(SluiceUrl.Kind.TCP) String url) {
        }
    }

    @Test
    void aParameterWithoutABrokerSaysWhatToAnnotate() {
        Outcome o = launch(NoBrokerFixture.class, false);
        TestExecutionResult r = o.results.values().iterator().next();
        assertEquals(TestExecutionResult.Status.FAILED, r.getStatus());
        String message = r.getThrowable().orElseThrow().getMessage();
        assertTrue(message.contains("annotate the test class or method with @SluiceBroker"), message);
    }
}
