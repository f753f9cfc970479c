package io.sluice.conformance;

import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;

/**
 * Sluice started in-process on ephemeral ports of 127.0.0.1, with every listener on: MQTT over TCP, HTTP with
 * MQTT and STOMP over WebSocket, STOMP over TCP. One per test class; every check uses its own topics.
 */
public final class TestBroker implements AutoCloseable {
    /** Small enough that a client can exceed it for the bad-input check, large enough for every other check. */
    public static final int MAX_PACKET_SIZE = 64 * 1024;
    public static final String HOST = "127.0.0.1";

    private final SluiceServer server;

    private TestBroker(SluiceServer server) {
        this.server = server;
    }

    public static TestBroker start() {
        Settings settings = Settings.defaults()
                .with(Settings.BIND, HOST)
                .with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, 0)
                .with(Settings.STOMP_PORT, 0)
                .with(Settings.MAX_PACKET_SIZE, MAX_PACKET_SIZE)
                // WebSocket Pings every second instead of every 30, so each WebSocket client meets several
                // during its checks (the idle keep-alive and heart-beat checks last 3.5 to 5 s)
                .with(Settings.WS_PING_INTERVAL, 1000L);
        return new TestBroker(SluiceServer.start(settings));
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
        server.close();
    }
}
