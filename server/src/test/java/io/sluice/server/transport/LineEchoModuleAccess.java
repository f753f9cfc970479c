package io.sluice.server.transport;

import io.sluice.server.broker.Broker;
import io.sluice.server.config.Settings;

import java.util.List;
import java.util.function.BiFunction;

/** The transport tests' stand-in protocols, for tests in other packages. */
public final class LineEchoModuleAccess {
    private LineEchoModuleAccess() {
    }

    public static BiFunction<Broker, Settings, List<ProtocolModule>> modules() {
        return (broker, settings) -> List.of(LineEchoModule.mqttLike(), LineEchoModule.stompLike());
    }
}
