package io.sluice.server;

import io.sluice.server.config.Settings;
import io.sluice.server.events.Logs;
import io.sluice.server.testkit.Faults;
import io.sluice.server.testkit.Journal;
import io.sluice.server.testkit.Testkit;
import io.sluice.server.testkit.Violations;

import java.nio.file.Path;

/**
 * A broker embedded in a JVM, for tests and applications: the small, stable face of {@link SluiceServer}.
 * <pre>
 *   try (Sluice sluice = Sluice.builder().strict(true).start()) {   // ephemeral ports on 127.0.0.1
 *       MqttClient client = new MqttClient(sluice.urls().mqtt(), "c1");
 *       ...
 *       sluice.assertNoViolations();
 *   }
 * </pre>
 * Each instance is independent (its own ports, threads, sessions, violations), so tests may run several in
 * parallel. {@link #restart()} stops the broker and starts it again on the same ports.
 */
public final class Sluice implements AutoCloseable {
    private final Testkit testkit;
    private volatile Settings settings;
    private volatile SluiceServer server;
    private volatile SluiceUrls urls;
    private volatile boolean closed;

    private Sluice(Settings settings, Testkit testkit) {
        this.testkit = testkit;
        this.server = logging(() -> SluiceServer.start(settings, null, testkit));
        this.settings = pinPorts(settings, server);
        this.urls = SluiceUrls.of(server.listeners());
        if (testkit != null) {
            testkit.restarter(this::restart);
        }
    }

    /** A builder with test-friendly defaults (see {@link SluiceBuilder}). */
    public static SluiceBuilder builder() {
        return new SluiceBuilder();
    }

    /** Start with the builder's defaults: every listener on an ephemeral port of 127.0.0.1. */
    public static Sluice start() {
        return builder().start();
    }

    /** Start with these settings; the test kit is on (journal, faults; strict and trace as the settings say). */
    static Sluice withTestkit(Settings settings) {
        Testkit kit = new Testkit(settings.get(Settings.STRICT), settings.get(Settings.TRACE));
        try {
            return new Sluice(settings, kit);
        } catch (RuntimeException e) {
            kit.close();
            throw e;
        }
    }

    /** Start as the command line does: the test kit only when a setting asks for it. */
    static Sluice launch(Settings settings) {
        Testkit kit = Testkit.from(settings);
        try {
            return new Sluice(settings, kit);
        } catch (RuntimeException e) {
            if (kit != null) {
                kit.close();
            }
            throw e;
        }
    }

    /** The listeners' URLs. */
    public SluiceUrls urls() {
        return urls;
    }

    /** The bound port of a listener ("mqtt", "http", "stomp"), -1 when it is off. */
    public int port(String listener) {
        return server.port(listener);
    }

    /** The settings in force (ports as bound). */
    public Settings settings() {
        return settings;
    }

    /** The violations strict mode recorded (empty when strict mode is off). */
    public Violations violations() {
        return kit().violations();
    }

    /** Fails with the violations report when strict mode recorded any. */
    public void assertNoViolations() {
        if (!violations().isEmpty()) {
            throw new AssertionError(violations().report());
        }
    }

    /** Faults to inject: drops, delays, duplicates, withheld acknowledgements, refusals, server DISCONNECTs. */
    public Faults faults() {
        return kit().faults();
    }

    /**
     * The lines this broker logged through SLF4J (the last 5,000), whatever the binding: from its own threads and
     * from the threads that started, restarted or closed it. Other brokers of the JVM keep theirs apart.
     */
    public Journal log() {
        return kit().log();
    }

    /** This broker's own log: one line per connection event, violation and fault. */
    public Journal journal() {
        return kit().journal();
    }

    /** Where traces are written, null when tracing is off. */
    public Path traceDir() {
        return testkit == null || testkit.tracer() == null ? null : testkit.tracer().dir();
    }

    /** Wait (bounded) until every trace line so far is on disk. */
    public void syncTraces() {
        if (testkit != null && testkit.tracer() != null) {
            testkit.tracer().sync();
        }
    }

    /**
     * Stop the broker as a shutdown does (clients are told: MQTT 5 DISCONNECT 0x8B, STOMP ERROR) and start it
     * again on the same ports with the same settings. Sessions and retained messages survive only where a
     * restart keeps them (a persistent store); violations, journal, traces and armed faults carry on.
     */
    public synchronized void restart() {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        logging(() -> {
            server.close();
            return null;
        });
        if (testkit != null) {
            testkit.journal().add("restart: stopped, starting again on the same ports");
        }
        server = logging(() -> SluiceServer.start(settings, null, testkit));
        urls = SluiceUrls.of(server.listeners());
    }

    /** The server underneath, for what this class does not offer (its API may change between versions). */
    public SluiceServer server() {
        return server;
    }

    /** Disconnect every client and stop; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        logging(() -> {
            server.close();
            return null;
        });
        if (testkit != null) {
            testkit.close();
        }
    }

    /** Run {@code action} with this broker's log lines, and those of the threads it starts, kept in {@link #log()}. */
    private <T> T logging(java.util.function.Supplier<T> action) {
        return testkit == null ? action.get() : Logs.capturing(testkit.log()::add, action);
    }

    private Testkit kit() {
        if (testkit == null) {
            throw new IllegalStateException("the test kit is off: start with Sluice.builder(), or with --strict, --trace or --fault-injection");
        }
        return testkit;
    }

    /** The settings with each ephemeral port replaced by the port bound, so a restart binds the same ones. */
    private static Settings pinPorts(Settings settings, SluiceServer server) {
        Settings pinned = settings;
        if (server.port("mqtt") > 0) {
            pinned = pinned.with(Settings.MQTT_PORT, server.port("mqtt"));
        }
        if (server.port("http") > 0) {
            pinned = pinned.with(Settings.HTTP_PORT, server.port("http"));
        }
        if (server.port("stomp") > 0) {
            pinned = pinned.with(Settings.STOMP_PORT, server.port("stomp"));
        }
        return pinned;
    }
}
