package io.sluice.conformance;

import io.sluice.server.Sluice;
import io.sluice.server.SluiceBuilder;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import io.sluice.server.events.Violation;

import java.util.List;
import java.util.function.Consumer;

/**
 * Sluice started in-process on ephemeral ports of 127.0.0.1, with every listener on: MQTT over TCP, HTTP with
 * MQTT and STOMP over WebSocket, STOMP over TCP. One per test class; every check uses its own topics. It runs in
 * strict mode: a rule a client breaks outside the bad-input checks is a finding about that client, listed with
 * the matrix (see {@link io.sluice.conformance.matrix.StrictFindings}).
 */
public final class TestBroker implements AutoCloseable {
    /** Small enough that a client can exceed it for the bad-input check, large enough for every other check. */
    public static final int MAX_PACKET_SIZE = 64 * 1024;
    public static final String HOST = "127.0.0.1";

    /** The broker of the test class running now (test classes run one at a time). */
    private static volatile TestBroker current;

    private final Sluice sluice;
    private final SluiceServer server;

    private TestBroker(Sluice sluice) {
        this.sluice = sluice;
        this.server = sluice.server();
    }

    public static TestBroker start() {
        return start(b -> { });
    }

    /** The same broker with more settings (TLS, authentication). */
    public static TestBroker start(Consumer<SluiceBuilder> more) {
        SluiceBuilder builder = Sluice.builder()
                .bind(HOST)
                .set(Settings.SYS_INTERVAL, Settings.SYS_INTERVAL.defaultValue())
                .set(Settings.SHUTDOWN_DRAIN, Settings.SHUTDOWN_DRAIN.defaultValue())
                .set(Settings.MAX_PACKET_SIZE, MAX_PACKET_SIZE)
                // WebSocket Pings every second instead of every 30, so each WebSocket client meets several
                // during its checks (the idle keep-alive and heart-beat checks last 3.5 to 5 s)
                .set(Settings.WS_PING_INTERVAL, 1000L)
                .strict(true);
        more.accept(builder);
        Sluice sluice = builder.start();
        TestBroker broker = new TestBroker(sluice);
        current = broker;
        return broker;
    }

    /** The broker of the running test class, null before the first. */
    public static TestBroker current() {
        return current;
    }

    /** Every violation strict mode recorded so far. */
    public List<Violation> violations() {
        return sluice.violations().all();
    }

    /** The running server, for what a check reads from it (its metrics). */
    public SluiceServer server() {
        return server;
    }

    public int mqttPort() {
        return server.port("mqtt");
    }

    public int httpPort() {
        return server.port("http");
    }

    public int stompPort() {
        return server.port("stomp");
    }

    /** The HTTPS/WSS port, once a certificate is configured. */
    public int httpsPort() {
        return server.port("https");
    }

    public String mqttTcpUrl(String scheme) {
        return scheme + "://" + HOST + ":" + mqttPort();
    }

    public String mqttWsUrl() {
        return "ws://" + HOST + ":" + httpPort() + "/mqtt";
    }

    public String stompWsUrl() {
        return "ws://" + HOST + ":" + httpPort() + "/stomp";
    }

    @Override
    public void close() {
        sluice.close();
    }
}
