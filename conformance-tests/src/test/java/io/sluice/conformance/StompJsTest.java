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

/** @stomp/stompjs 7 on Node, per STOMP version: over WebSocket (the ws package) and over TCP (@stomp/tcp-wrapper). */
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

    private static DynamicContainer ws(Row row, String version) {
        return Cells.row(row, unavailable, NodeScripts.checks(row, () -> NodeScripts.run("stomp-checks.mjs", Map.of(
                "version", version,
                "url", broker.stompWsUrl(),
                "mqttUrl", broker.mqttTcpUrl("mqtt"),
                "features", NodeScripts.runnableIds(row)), Duration.ofMinutes(5))));
    }

    private static DynamicContainer tcp(Row row, String version) {
        return Cells.row(row, unavailable, NodeScripts.checks(row, () -> NodeScripts.run("stomp-checks.mjs", Map.of(
                "version", version,
                "tcpPort", broker.stompPort(),
                "mqttUrl", broker.mqttTcpUrl("mqtt"),
                "features", NodeScripts.runnableIds(row)), Duration.ofMinutes(5))));
    }

    @TestFactory
    Stream<DynamicContainer> stompJsOverWebSocket() {
        return Stream.of(ws(Catalog.STOMPJS10, "1.0"), ws(Catalog.STOMPJS11, "1.1"), ws(Catalog.STOMPJS12, "1.2"));
    }

    @TestFactory
    Stream<DynamicContainer> stompJsOverTcp() {
        return Stream.of(tcp(Catalog.STOMPJS10_TCP, "1.0"), tcp(Catalog.STOMPJS11_TCP, "1.1"),
                tcp(Catalog.STOMPJS12_TCP, "1.2"));
    }
}
