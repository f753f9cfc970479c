package io.sluice.bench.side;

import com.hivemq.embedded.EmbeddedHiveMQ;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * HiveMQ Community Edition as a peer broker in its own JVM: its embedded API, a TCP and a WebSocket listener
 * ({@code /mqtt}) on 127.0.0.1 and the in-memory persistence (like the other brokers in the comparison), or with
 * {@code --persistence file} HiveMQ's own default, its file persistence in {@code DIR/data} (the persistence
 * benchmark).
 * Started by the side-by-side runner with HiveMQ's own classpath (benchmarks/peers/hivemq/pom.xml), never on
 * Sluice's: HiveMQ brings its own Netty.
 *
 * <pre>java -cp HIVEMQ_CLASSPATH:benchmarks/target/classes io.sluice.bench.side.HiveMqPeer --tcp-port N --ws-port N --home DIR
 *      [--persistence in-memory|file]</pre>
 */
public final class HiveMqPeer {
    private HiveMqPeer() {
    }

    public static void main(String[] args) throws Exception {
        int tcp = -1;
        int ws = -1;
        Path home = null;
        String persistence = "in-memory";
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--tcp-port" -> tcp = Integer.parseInt(args[i + 1]);
                case "--ws-port" -> ws = Integer.parseInt(args[i + 1]);
                case "--home" -> home = Path.of(args[i + 1]);
                case "--persistence" -> persistence = args[i + 1];
                default -> throw new IllegalArgumentException("unknown flag " + args[i]
                        + "; flags: --tcp-port N --ws-port N --home DIR [--persistence in-memory|file]");
            }
        }
        if (tcp <= 0 || ws <= 0 || home == null) {
            throw new IllegalArgumentException("--tcp-port, --ws-port and --home are required");
        }
        if (!persistence.equals("in-memory") && !persistence.equals("file")) {
            throw new IllegalArgumentException("--persistence in-memory or file, not " + persistence);
        }
        Path conf = Files.createDirectories(home.resolve("conf"));
        Path data = Files.createDirectories(home.resolve("data"));
        Path extensions = Files.createDirectories(home.resolve("extensions"));
        Files.writeString(conf.resolve("config.xml"), config(tcp, ws, persistence));
        EmbeddedHiveMQ hivemq = EmbeddedHiveMQ.builder()
                .withConfigurationFolder(conf)
                .withDataFolder(data)
                .withExtensionsFolder(extensions)
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                System.out.println(DROPPED + dropped(hivemq));
                hivemq.stop().get(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("HiveMQ did not stop cleanly: " + e);
            } finally {
                stopped.countDown();
            }
        }, "hivemq-peer-stop"));
        hivemq.start().join();
        System.out.println("HiveMQ CE listening on 127.0.0.1: tcp " + tcp + ", ws " + ws + " /mqtt");
        stopped.await();
    }

    /** How the line with HiveMQ's own dropped-message counters begins (printed as it stops). */
    public static final String DROPPED = "HiveMQ CE dropped messages: ";

    /**
     * HiveMQ's own count of the PUBLISH messages it dropped ({@code com.hivemq.messages.dropped.count}), then each
     * reason's non-zero counter ({@code com.hivemq.messages.dropped.REASON.count}, e.g. {@code queue-full}): what a
     * load generator counts as acknowledged and never delivered is either here or its own miscount. Read through
     * reflection: the Dropwizard registry is on HiveMQ's classpath only.
     */
    static String dropped(EmbeddedHiveMQ hivemq) {
        try {
            Object registry = EmbeddedHiveMQ.class.getMethod("getMetricRegistry").invoke(hivemq);
            java.util.Map<?, ?> counters = (java.util.Map<?, ?>) registry.getClass().getMethod("getCounters").invoke(registry);
            long total = -1;
            StringBuilder reasons = new StringBuilder();
            for (java.util.Map.Entry<?, ?> e : new java.util.TreeMap<>(counters).entrySet()) {
                String name = e.getKey().toString();
                if (!name.startsWith("com.hivemq.messages.dropped.")) {
                    continue;
                }
                long n = ((Number) e.getValue().getClass().getMethod("getCount").invoke(e.getValue())).longValue();
                if (name.equals("com.hivemq.messages.dropped.count")) {
                    total = n;
                } else if (n != 0) {
                    reasons.append(' ').append(name.substring("com.hivemq.messages.dropped.".length(),
                            name.length() - ".count".length())).append('=').append(n);
                }
            }
            return total + reasons.toString();
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "-1 (not readable: " + e + ")";
        }
    }

    /** Defaults but for the listeners, the persistence mode and no usage statistics (nothing leaves loopback). */
    static String config(int tcp, int ws, String persistence) {
        return """
                <?xml version="1.0"?>
                <hivemq>
                    <listeners>
                        <tcp-listener>
                            <port>%d</port>
                            <bind-address>127.0.0.1</bind-address>
                        </tcp-listener>
                        <websocket-listener>
                            <port>%d</port>
                            <bind-address>127.0.0.1</bind-address>
                            <path>/mqtt</path>
                            <name>websocket</name>
                            <subprotocols>
                                <subprotocol>mqttv3.1</subprotocol>
                                <subprotocol>mqtt</subprotocol>
                            </subprotocols>
                            <allow-extensions>true</allow-extensions>
                        </websocket-listener>
                    </listeners>
                    <persistence>
                        <mode>%s</mode>
                    </persistence>
                    <anonymous-usage-statistics>
                        <enabled>false</enabled>
                    </anonymous-usage-statistics>
                </hivemq>
                """.formatted(tcp, ws, persistence);
    }
}
