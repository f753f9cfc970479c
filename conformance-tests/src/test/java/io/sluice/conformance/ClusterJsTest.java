package io.sluice.conformance;

import io.sluice.server.Sluice;
import io.sluice.server.cluster.NatsServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A cluster of two Sluice nodes on a real {@code nats-server -js}: MQTT.js on node 1 (TCP) and stomp.js on node 2
 * (WebSocket) exchange messages both ways (node/cluster-check.mjs).
 */
class ClusterJsTest {
    @Test
    void mqttJsOnOneNodeAndStompJsOnAnotherExchangeMessages(@TempDir Path dir) throws Exception {
        String unavailable = NodeScripts.unavailable();
        if (unavailable != null) {
            if (io.sluice.conformance.matrix.Cells.clientsRequired()) {
                fail(unavailable);
            }
            Assumptions.abort(unavailable);
        }
        try (NatsServer nats = NatsServer.start(dir.resolve("nats"));
             Sluice n1 = node(nats, "js1");
             Sluice n2 = node(nats, "js2")) {
            Map<String, NodeScripts.Result> results = NodeScripts.run("cluster-check.mjs",
                    Map.of("mqttUrl", "mqtt://127.0.0.1:" + n1.urls().mqttPort(),
                            "stompUrl", "ws://127.0.0.1:" + n2.urls().httpPort() + "/stomp"),
                    Duration.ofMinutes(2));
            for (String check : List.of("mqtt-to-stomp", "stomp-to-mqtt")) {
                NodeScripts.Result r = results.get(check);
                assertTrue(r != null && r.ok(), check + ": " + r);
            }
        }
    }

    private static Sluice node(NatsServer nats, String id) {
        return Sluice.builder().set(Settings.CLUSTER_NATS, List.of(nats.url())).set(Settings.NODE_ID, id).start();
    }
}
