package io.sluice.server;

import io.sluice.server.config.Setting;
import io.sluice.server.config.Settings;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Configures and starts a broker inside a JVM (a test, an application). Its defaults suit a test rather than
 * a deployment: every listener on an ephemeral port of 127.0.0.1, no periodic {@code $SYS} publishing (it
 * would reach a test's {@code #} subscription), no shutdown drain, so {@link Sluice#close()} is quick, and
 * sessions in memory (no data directory for parallel brokers to share; {@link #persistent} asks for one).
 * Everything else is the broker's own default; any setting of {@code --help} can be set, typed or by name.
 * <pre>
 *   try (Sluice sluice = Sluice.builder().set(Settings.MQTT_MAXIMUM_QOS, 1).strict(true).start()) {
 *       client.connect(sluice.urls().mqtt());
 *   }
 * </pre>
 */
public final class SluiceBuilder {
    private final List<String> flags = new ArrayList<>();
    private final Map<Setting<?>, Object> typed = new LinkedHashMap<>();

    SluiceBuilder() {
        typed.put(Settings.BIND, "127.0.0.1");
        typed.put(Settings.MQTT_PORT, 0);
        typed.put(Settings.HTTP_PORT, 0);
        typed.put(Settings.STOMP_PORT, 0);
        typed.put(Settings.SYS_INTERVAL, 0L);
        typed.put(Settings.SHUTDOWN_DRAIN, 0L);
        typed.put(Settings.PERSISTENCE, "none");
        typed.put(Settings.METRICS_AT_START, false);
        typed.put(Settings.NATIVE_TRANSPORT, false);
    }

    /** One setting, typed: {@code set(Settings.MAX_PACKET_SIZE, 4096)}. */
    public <T> SluiceBuilder set(Setting<T> setting, T value) {
        typed.put(setting, value);
        return this;
    }

    /**
     * One setting by its flag name and in its flag syntax: {@code set("max-packet-size", "4k")}; a bad name or
     * value fails {@link #start()} with the message {@code --help} would give.
     */
    public SluiceBuilder set(String name, String value) {
        typed.keySet().removeIf(s -> s.name().equals(name));
        flags.add("--" + name);
        flags.add(value);
        return this;
    }

    /** Strict mode: record every rule a client breaks (see {@link Sluice#violations()}). */
    public SluiceBuilder strict(boolean on) {
        return set(Settings.STRICT, on);
    }

    /** Trace every packet and frame of each client to {@code dir} as JSON lines. */
    public SluiceBuilder trace(java.nio.file.Path dir) {
        return set(Settings.TRACE, dir);
    }

    /**
     * Keep sessions, their queues and retained messages in a RocksDB store in {@code dataDir}, so they survive
     * {@link Sluice#restart()}; one broker per directory.
     */
    public SluiceBuilder persistent(java.nio.file.Path dataDir) {
        set(Settings.PERSISTENCE, "rocksdb");
        return set(Settings.DATA_DIR, dataDir);
    }

    /** Listen on this address instead of 127.0.0.1. */
    public SluiceBuilder bind(String address) {
        return set(Settings.BIND, address);
    }

    /** The settings {@link #start()} will use. */
    public Settings settings() {
        Settings settings = Settings.parse(flags.toArray(String[]::new));
        for (Map.Entry<Setting<?>, Object> e : typed.entrySet()) {
            settings = with(settings, e.getKey(), e.getValue());
        }
        return settings;
    }

    @SuppressWarnings("unchecked")
    private static <T> Settings with(Settings settings, Setting<T> setting, Object value) {
        return settings.with(setting, (T) value);
    }

    /** Start the broker; returns once every listener is bound and the broker is ready. */
    public Sluice start() {
        return Sluice.withTestkit(settings());
    }
}
