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

/** @stomp/stompjs 7 on Node (WebSocket from the ws package), once per STOMP subprotocol. */
class StompJsTest {
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

    private static DynamicContainer row(Row row, String subprotocol) {
        return Cells.row(row, unavailable, NodeScripts.checks(row, () -> NodeScripts.run("stomp-checks.mjs", Map.of(
                "url", broker.stompWsUrl(),
                "subprotocol", subprotocol,
                "mqttUrl", broker.mqttTcpUrl("mqtt"),
                "features", NodeScripts.runnableIds(row)), Duration.ofMinutes(5))));
    }

    @TestFactory
    Stream<DynamicContainer> stompJs() {
        return Stream.of(row(Catalog.STOMPJS10, "v10.stomp"), row(Catalog.STOMPJS11, "v11.stomp"),
                row(Catalog.STOMPJS12, "v12.stomp"));
    }
}
