package io.sluice.conformance;

import io.sluice.conformance.matrix.Catalog;
import io.sluice.conformance.matrix.Cells;
import io.sluice.conformance.matrix.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.TestFactory;

import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;

/** MQTT.js 5 on Node over mqtt:// and ws:// with protocol versions 3 (MQTT 3.1), 4 (3.1.1) and 5. */
class MqttJsTest {
    private static TestBroker broker;
    private static String unavailable;

    @BeforeAll
    static void start() {
        broker = TestBroker.start();
        unavailable = NodeScripts.unavailable();
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    private static DynamicContainer row(Row row, int version, boolean websocket) {
        return Cells.row(row, unavailable, NodeScripts.checks(row, () -> NodeScripts.run("mqtt-checks.mjs", Map.of(
                "url", websocket ? broker.mqttWsUrl() : broker.mqttTcpUrl("mqtt"),
                "version", version,
                "stompUrl", broker.stompWsUrl(),
                "features", NodeScripts.runnableIds(row)), Duration.ofMinutes(5))));
    }

    @TestFactory
    Stream<DynamicContainer> mqttJs() {
        return Stream.of(
                row(Catalog.MQTTJS3_TCP, 3, false), row(Catalog.MQTTJS3_WS, 3, true),
                row(Catalog.MQTTJS4_TCP, 4, false), row(Catalog.MQTTJS4_WS, 4, true),
                row(Catalog.MQTTJS5_TCP, 5, false), row(Catalog.MQTTJS5_WS, 5, true));
    }
}
