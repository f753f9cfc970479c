package io.sluice.server.mqtt;

import io.sluice.server.SluiceServer;
import io.sluice.server.security.Security;
import io.sluice.server.broker.Broker;
import io.sluice.server.config.Settings;
import io.sluice.server.transport.ProtocolModule;

import java.util.List;
import java.util.function.BiFunction;

/**
 * The whole broker as users run it ({@link SluiceServer}), MQTT over TCP and WebSocket on ephemeral ports of
 * 127.0.0.1; STOMP's own TCP port and the periodic $SYS topics are off so they cannot disturb the tests.
 */
final class MqttTestServer implements AutoCloseable {
    final Broker broker;
    private final SluiceServer server;

    MqttTestServer() {
        this(Settings.defaults());
    }

    MqttTestServer(Settings settings) {
        this(settings, (Security) null);
    }

    /** With an MQTT module that asks {@code security} (null: the standard modules). */
    MqttTestServer(Settings settings, Security security) {
        this(settings, security == null ? null
                : (broker, s) -> List.<ProtocolModule>of(new MqttModule(broker, s, security)));
    }

    /** With the protocols {@code modules} makes (null: the standard modules). */
    MqttTestServer(Settings settings, BiFunction<Broker, Settings, List<ProtocolModule>> modules) {
        server = SluiceServer.start(testSettings(settings), modules);
        broker = server.broker();
    }

    private static Settings testSettings(Settings settings) {
        return settings
                .with(Settings.BIND, "127.0.0.1")
                .with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, 0)
                .with(Settings.STOMP_PORT, -1)
                .with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.SHUTDOWN_DRAIN, 0L);
    }

    /** Tiny subscriber queues: an in-flight window, queued QoS 1/2 messages, and no stuck-consumer timeout. */
    static Settings tinyQueues(int window, int queued) {
        return Settings.defaults()
                .with(Settings.INFLIGHT_WINDOW, window)
                .with(Settings.MAX_QUEUED_MESSAGES, queued)
                .with(Settings.STUCK_CONSUMER_TIMEOUT, 0L);
    }

    SluiceServer server() {
        return server;
    }

    int port() {
        return server.port("mqtt");
    }

    int httpPort() {
        return server.port("http");
    }

    String tcpUri() {
        return "tcp://127.0.0.1:" + port();
    }

    /** MQTT over WebSocket at the path the MQTT module serves. */
    String wsUri() {
        return "ws://127.0.0.1:" + httpPort() + "/mqtt";
    }

    @Override
    public void close() {
        server.close();
    }
}
