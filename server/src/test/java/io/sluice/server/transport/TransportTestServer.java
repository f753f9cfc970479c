package io.sluice.server.transport;

import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;

import java.util.List;
import java.util.function.UnaryOperator;

/** A broker on 127.0.0.1, ephemeral ports, serving the two {@link LineEchoModule}s instead of MQTT and STOMP. */
final class TransportTestServer {
    private TransportTestServer() {
    }

    static Settings settings() {
        return Settings.defaults()
                .with(Settings.BIND, "127.0.0.1")
                .with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, 0)
                .with(Settings.STOMP_PORT, 0);
    }

    static SluiceServer start() {
        return start(s -> s);
    }

    static SluiceServer start(UnaryOperator<Settings> tweak) {
        return SluiceServer.start(tweak.apply(settings()),
                (broker, settings) -> List.of(LineEchoModule.mqttLike(), LineEchoModule.stompLike()));
    }
}
