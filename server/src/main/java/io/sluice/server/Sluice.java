package io.sluice.server;

import io.sluice.server.config.Settings;

/**
 * A broker embedded in a JVM, for tests and applications: the small, stable face of {@link SluiceServer}.
 * <pre>
 *   try (Sluice sluice = Sluice.builder().start()) {          // ephemeral ports on 127.0.0.1
 *       MqttClient client = new MqttClient(sluice.urls().mqtt(), "c1");
 *       ...
 *   }
 * </pre>
 * Each instance is independent (its own ports, threads, sessions), so tests may run several in parallel.
 */
public final class Sluice implements AutoCloseable {
    private final SluiceServer server;
    private final SluiceUrls urls;

    Sluice(SluiceServer server) {
        this.server = server;
        this.urls = SluiceUrls.of(server.listeners());
    }

    /** A builder with test-friendly defaults (see {@link SluiceBuilder}). */
    public static SluiceBuilder builder() {
        return new SluiceBuilder();
    }

    /** Start with the builder's defaults: every listener on an ephemeral port of 127.0.0.1. */
    public static Sluice start() {
        return builder().start();
    }

    /** The listeners' URLs. */
    public SluiceUrls urls() {
        return urls;
    }

    /** The bound port of a listener ("mqtt", "http", "stomp"), -1 when it is off. */
    public int port(String listener) {
        return server.port(listener);
    }

    public Settings settings() {
        return server.settings();
    }

    /** The server underneath, for what this class does not offer (its API may change between versions). */
    public SluiceServer server() {
        return server;
    }

    /** Disconnect every client and stop; idempotent. */
    @Override
    public void close() {
        server.close();
    }
}
