package io.sluice.server.ops;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** $SYS/broker/... with real MQTT clients: readable, retained, Mosquitto's names, and not matched by '#'. */
class SysTopicsTest {
    private OpsTestServer server;

    @AfterEach
    void stop() {
        server.close();
    }

    private Mqtt5BlockingClient connect(String id) {
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(server.mqttPort()).buildBlocking();
        c.connect();
        return c;
    }

    @Test
    void sysTopicsAreReadableAndNotMatchedByHash() throws Exception {
        server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L));
        Mqtt5BlockingClient all = connect("hash");
        Mqtt5BlockingClient sys = connect("sys-reader");
        try (Mqtt5BlockingClient.Mqtt5Publishes everything = all.publishes(MqttGlobalPublishFilter.ALL);
             Mqtt5BlockingClient.Mqtt5Publishes sysValues = sys.publishes(MqttGlobalPublishFilter.ALL)) {
            all.subscribeWith().topicFilter("#").qos(MqttQos.AT_MOST_ONCE).send();
            all.subscribeWith().topicFilter("+/broker/#").qos(MqttQos.AT_MOST_ONCE).send();
            sys.subscribeWith().topicFilter("$SYS/broker/#").qos(MqttQos.AT_MOST_ONCE).send();

            server.ops.sys().publishNow();
            Map<String, String> values = new HashMap<>();
            while (!values.containsKey("$SYS/broker/load/connections/15min")) {
                Mqtt5Publish p = sysValues.receive(10, TimeUnit.SECONDS).orElseThrow(
                        () -> new AssertionError("$SYS values incomplete: " + values.keySet()));
                values.put(p.getTopic().toString(), new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8));
            }
            assertEquals("2", values.get("$SYS/broker/clients/connected"));
            assertEquals("2", values.get("$SYS/broker/clients/total"));
            assertEquals("0", values.get("$SYS/broker/messages/received"), "$SYS messages are not client traffic");
            assertEquals("3", values.get("$SYS/broker/subscriptions/count"));
            assertTrue(values.get("$SYS/broker/version").startsWith("sluice version "));
            assertTrue(values.get("$SYS/broker/uptime").matches("\\d+ seconds"));
            assertTrue(values.containsKey("$SYS/broker/retained messages/count"));
            assertTrue(values.containsKey("$SYS/broker/load/messages/received/1min"));

            // '#' and '+/...' do not match $SYS topics (MQTT 5 section 4.7.2): the first thing they see is
            // the ordinary message published after all the $SYS values above
            all.publishWith().topic("plain/topic").payload("marker".getBytes(StandardCharsets.UTF_8)).send();
            Mqtt5Publish first = everything.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertEquals("plain/topic", first.getTopic().toString());
            Optional<Mqtt5Publish> more = everything.receive(300, TimeUnit.MILLISECONDS);
            assertFalse(more.isPresent(), "'#' received " + more);
        }
        all.disconnect();
        sys.disconnect();
    }

    @Test
    void valuesAreRetainedAndRepublishedOnTheInterval() throws Exception {
        server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 100L));
        Mqtt5BlockingClient late = connect("late");
        // the timer publishes the new value (1 client) into the retained store
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!retainedValue("$SYS/broker/clients/connected").equals("1") && System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(20);
        }
        assertEquals("1", retainedValue("$SYS/broker/clients/connected"));
        try (Mqtt5BlockingClient.Mqtt5Publishes received = late.publishes(MqttGlobalPublishFilter.ALL)) {
            // retained: a subscriber arriving after the publish still reads the value
            late.subscribeWith().topicFilter("$SYS/broker/clients/connected").send();
            Mqtt5Publish first = received.receive(10, TimeUnit.SECONDS).orElseThrow();
            assertTrue(first.isRetain());
            assertEquals("1", new String(first.getPayloadAsBytes(), StandardCharsets.UTF_8));
            // a change is published on the next interval: a second client makes it 2
            Mqtt5BlockingClient other = connect("other");
            String value = new String(first.getPayloadAsBytes(), StandardCharsets.UTF_8);
            for (int i = 0; i < 100 && !value.equals("2"); i++) {
                Optional<Mqtt5Publish> next = received.receive(10, TimeUnit.SECONDS);
                assertTrue(next.isPresent(), "no $SYS update");
                value = new String(next.get().getPayloadAsBytes(), StandardCharsets.UTF_8);
            }
            assertEquals("2", value);
            other.disconnect();
        }
        late.disconnect();
    }

    private String retainedValue(String topic) {
        return server.broker.retained().match(topic).stream()
                .map(m -> new String(m.payload(), StandardCharsets.UTF_8)).findFirst().orElse("");
    }
}
