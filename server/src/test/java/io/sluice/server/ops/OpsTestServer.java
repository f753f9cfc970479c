package io.sluice.server.ops;

import io.sluice.server.SluiceServer;
import io.sluice.server.broker.Broker;
import io.sluice.server.config.Settings;

/** The real server on 127.0.0.1, every listener on an ephemeral port, with handles the ops tests use. */
final class OpsTestServer implements AutoCloseable {
    final SluiceServer server;
    final Broker broker;
    final Operations ops;

    OpsTestServer(Settings settings) {
        server = SluiceServer.start(settings.with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, 0));
        broker = server.broker();
        ops = server.operations();
    }

    int mqttPort() {
        return server.port("mqtt");
    }

    int httpPort() {
        return server.port("http");
    }

    int stompPort() {
        return server.port("stomp");
    }

    String mqttUri() {
        return "tcp://127.0.0.1:" + mqttPort();
    }

    /** The server's close: graceful shutdown, then listeners and threads stop. */
    void shutdown() {
        server.close();
    }

    @Override
    public void close() {
        server.close();
    }
}
