package io.sluice.conformance;

import io.sluice.conformance.matrix.Catalog;
import io.sluice.conformance.matrix.Cells;
import io.sluice.conformance.matrix.Matrix;
import io.sluice.conformance.matrix.Row;
import io.sluice.conformance.mqtt.HiveMq3Driver;
import io.sluice.conformance.mqtt.HiveMq5Driver;
import io.sluice.conformance.mqtt.MqttChecks;
import io.sluice.conformance.mqtt.MqttDriver;
import io.sluice.conformance.mqtt.PahoV3Driver;
import io.sluice.conformance.mqtt.PahoV5Driver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

/** Eclipse Paho (mqttv3, mqttv5) and the HiveMQ MQTT client (3, 5), each over TCP and WebSocket. */
class JavaClientsTest {
    private static TestBroker broker;

    @BeforeAll
    static void start() {
        broker = TestBroker.start();
        Matrix.clientVersion("Eclipse Paho Java", System.getProperty("sluice.version.paho", "?"));
        Matrix.clientVersion("HiveMQ MQTT client", System.getProperty("sluice.version.hivemq", "?"));
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    private static DynamicContainer row(Row row, MqttDriver driver, boolean websocket) {
        return Cells.row(row, null, new MqttChecks(broker, driver, websocket, row.id()).all());
    }

    @TestFactory
    Stream<DynamicContainer> pahoV3() {
        return Stream.of(row(Catalog.PAHO3_TCP, new PahoV3Driver(), false),
                row(Catalog.PAHO3_WS, new PahoV3Driver(), true));
    }

    @TestFactory
    Stream<DynamicContainer> pahoV5() {
        return Stream.of(row(Catalog.PAHO5_TCP, new PahoV5Driver(), false),
                row(Catalog.PAHO5_WS, new PahoV5Driver(), true));
    }

    @TestFactory
    Stream<DynamicContainer> hiveMq3() {
        return Stream.of(row(Catalog.HIVEMQ3_TCP, new HiveMq3Driver(), false),
                row(Catalog.HIVEMQ3_WS, new HiveMq3Driver(), true));
    }

    @TestFactory
    Stream<DynamicContainer> hiveMq5() {
        return Stream.of(row(Catalog.HIVEMQ5_TCP, new HiveMq5Driver(), false),
                row(Catalog.HIVEMQ5_WS, new HiveMq5Driver(), true));
    }
}
