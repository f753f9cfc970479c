package io.sluice.server;

import io.sluice.server.config.Settings;
import io.sluice.server.events.Logs;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The start-up warm-up: MQTT traffic through a private broker before the real one binds, quiet, leaving the
 * real broker as it would be without it. How much it helps is a benchmark's business (docs/benchmarks.md).
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class WarmUpTest {

    /** Main's start as the command line runs it (warm-up on), its log lines captured; the broker it started. */
    private static Main.Started start(List<String> log, String... args) {
        return Logs.capturing(log::add, () -> Main.start(args, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), true, sluice -> { }));
    }

    /**
     * The command line with {@code --warm-up}: the warm-up ran before the real listeners were bound, carried
     * messages, logged nothing of its private broker (one line per real listener, no warm-up client's events),
     * and the real broker then serves QoS 1 end to end.
     */
    @Test
    void theCommandLineWarmsUpQuietlyBeforeBindingAndThenServes() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        Main.Started started = start(log, "--bind", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0", "--stomp-port", "-1",
                "--persistence", "none", "--sys-interval", "0", "--warm-up", "3s");
        try {
            String all = String.join("\n", log);
            Matcher m = Pattern.compile("warmed up in (\\d+) ms: (\\d+) messages").matcher(all);
            assertTrue(m.find(), all);
            assertTrue(Long.parseLong(m.group(2)) > 0, all);
            assertTrue(all.indexOf("warmed up in") < all.indexOf("listening for mqtt on"), all);
            assertEquals(1, occurrences(all, "listening for mqtt on"), all);
            assertEquals(1, occurrences(all, "listening for http on"), all);
            assertEquals(0, occurrences(all, "sluice-warm-up"), all);

            MqttClient client = new MqttClient("tcp://127.0.0.1:" + started.server().port("mqtt"), "after-warm-up", new MemoryPersistence());
            BlockingQueue<String> received = new ArrayBlockingQueue<>(1);
            MqttConnectOptions options = new MqttConnectOptions();
            options.setCleanSession(true);
            client.connect(options);
            try {
                client.subscribe("served/after", 1, (topic, message) -> received.add(new String(message.getPayload(), StandardCharsets.UTF_8)));
                client.publish("served/after", "hello".getBytes(StandardCharsets.UTF_8), 1, false);
                assertEquals("hello", received.poll(20, TimeUnit.SECONDS));
            } finally {
                client.disconnect();
                client.close();
            }
        } finally {
            started.sluice().close();
        }
    }

    /**
     * The warm-up leaves nothing in the broker that serves: its rounds of clients, sessions, subscriptions and
     * topics lived in the private broker, so the real one starts with no session, no subscription, no retained
     * message, no connection and zero in the counters its $SYS topics and metrics report ($SYS off here: its own
     * retained topics would be the only messages).
     */
    @Test
    void theRealBrokerStartsEmptyAfterTheWarmUp() {
        List<String> log = new CopyOnWriteArrayList<>();
        Main.Started started = start(log, "--bind", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0", "--stomp-port", "-1",
                "--persistence", "none", "--sys-interval", "0", "--warm-up", "3s");
        try {
            String all = String.join("\n", log);
            Matcher m = Pattern.compile("warmed up in (\\d+) ms: (\\d+) messages").matcher(all);
            assertTrue(m.find() && Long.parseLong(m.group(2)) > 0, all);
            io.sluice.server.broker.Broker broker = started.server().broker();
            assertEquals(0, broker.sessions().size());
            assertEquals(0, broker.trie().subscriptionCount());
            assertEquals(0, broker.retained().size());
            assertEquals(0, started.server().connections().size());
            assertEquals(0, broker.stats().published.sum());
            assertEquals(0, broker.stats().delivered.sum());
            assertEquals(0, broker.stats().publishedBytes.sum());
        } finally {
            started.sluice().close();
        }
    }

    /** Off by default, and 0 is off: nothing runs, the broker binds at once. */
    @Test
    void offByDefaultAndAtZero() {
        assertEquals(0L, Settings.defaults().get(Settings.WARM_UP));
        for (String[] extra : List.of(new String[0], new String[] {"--warm-up", "0"})) {
            List<String> log = new CopyOnWriteArrayList<>();
            List<String> args = new java.util.ArrayList<>(List.of("--bind", "127.0.0.1", "--mqtt-port", "0", "--http-port", "-1",
                    "--stomp-port", "-1", "--persistence", "none", "--sys-interval", "0"));
            args.addAll(List.of(extra));
            Main.Started started = start(log, args.toArray(String[]::new));
            started.sluice().close();
            assertEquals(0, occurrences(String.join("\n", log), "warmed up"), log.toString());
            assertEquals(1, occurrences(String.join("\n", log), "listening for mqtt on"), log.toString());
        }
    }

    /**
     * The private broker's log lines go nowhere, not even to the sink of the thread that started the warm-up
     * (a test's captured log), and the real settings' authentication does not reach it: a broker that requires
     * passwords still warms up.
     */
    @Test
    void thePrivateBrokerIsQuietAndOpenOnlyToItsOwnClients(@TempDir Path dir) throws Exception {
        Path passwords = java.nio.file.Files.writeString(dir.resolve("passwd"), "");
        Settings real = Settings.parse("--password-file", passwords.toString(), "--persistence", "none");
        List<String> captured = new CopyOnWriteArrayList<>();
        WarmUp.Result r = Logs.capturing(captured::add, () -> WarmUp.run(real, Duration.ofSeconds(5)));
        assertTrue(r.messages() > 0, r.toString());
        assertTrue(!r.settled() || r.messages() >= 50_000, r.toString());
        assertEquals(List.of(), captured);
        Settings own = WarmUp.privateSettings(real);
        assertEquals(null, own.get(Settings.PASSWORD_FILE));
        assertEquals("127.0.0.1", own.get(Settings.BIND));
        assertEquals("none", own.get(Settings.PERSISTENCE));
    }

    private static int occurrences(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }
}
