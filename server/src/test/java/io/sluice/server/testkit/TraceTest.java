package io.sluice.server.testkit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.sluice.server.Sluice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Traces with real clients: one JSON-lines file per client, every packet or frame both ways, decoded. */
class TraceTest {
    private static final JsonFactory JSON = new JsonFactory();

    @Test
    void mqttClientTraceHasEveryPacketBothWaysDecoded(@TempDir Path dir) throws Exception {
        try (Sluice sluice = Sluice.builder().trace(dir).start()) {
            Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("tracer/1").serverHost(sluice.urls().host())
                    .serverPort(sluice.urls().mqttPort()).buildBlocking();
            c.connectWith().keepAlive(30).send();
            try (Mqtt5BlockingClient.Mqtt5Publishes received = c.publishes(MqttGlobalPublishFilter.ALL)) {
                c.subscribeWith().topicFilter("t/#").qos(MqttQos.AT_LEAST_ONCE).send();
                c.publishWith().topic("t/a").payload("hello trace".getBytes(StandardCharsets.UTF_8))
                        .qos(MqttQos.AT_LEAST_ONCE).send();
                received.receive(10, TimeUnit.SECONDS).orElseThrow();
            }
            c.disconnect();
            awaitLine(sluice, dir.resolve("mqtt-tracer_1.jsonl"), "CLOSED");
        }
        List<Map<String, String>> lines = read(dir.resolve("mqtt-tracer_1.jsonl"));
        List<String> seen = lines.stream().map(l -> l.get("dir") + " " + l.get("type")).toList();
        for (String expected : List.of("in CONNECT", "out CONNACK", "in SUBSCRIBE", "out SUBACK", "in PUBLISH",
                "out PUBACK", "out PUBLISH", "in PUBACK", "in DISCONNECT", "closed CLOSED")) {
            assertTrue(seen.contains(expected), expected + " in " + seen);
        }
        assertTrue(seen.indexOf("in CONNECT") < seen.indexOf("out CONNACK"), seen.toString());
        Map<String, String> connect = lines.get(seen.indexOf("in CONNECT"));
        assertEquals("tracer/1", connect.get("fields.clientId"));
        assertEquals("30", connect.get("fields.keepAlive"));
        Map<String, String> publish = lines.get(seen.indexOf("out PUBLISH"));
        assertEquals("t/a", publish.get("fields.topic"));
        assertEquals("1", publish.get("fields.qos"));
        assertEquals("11", publish.get("payloadSize"));
        assertEquals("hello trace", publish.get("payload"));
        assertFalse(publish.get("time").isEmpty());
    }

    @Test
    void stompFramesAreTracedWithTheirHeadersAndPasscodeHidden(@TempDir Path dir) throws Exception {
        try (Sluice sluice = Sluice.builder().trace(dir).start(); RawSocket s = new RawSocket(sluice.urls().stompPort())) {
            s.send("CONNECT\naccept-version:1.2\nhost:x\nlogin:ann\npasscode:secret\n\n\0");
            s.awaitText("CONNECTED", 5_000);
            s.send("SUBSCRIBE\nid:1\ndestination:/topic/x\nreceipt:r1\n\n\0");
            s.awaitText("receipt-id:r1", 5_000);
            s.send("SEND\ndestination:/topic/x\n\nbody!\0");
            assertTrue(s.awaitText("body!", 5_000).contains("MESSAGE"));
            awaitLine(sluice, dir.resolve("stomp-ann.jsonl"), "MESSAGE");
        }
        String text = Files.readString(dir.resolve("stomp-ann.jsonl"));
        assertFalse(text.contains("secret"), "a passcode never goes into a trace");
        List<Map<String, String>> lines = read(dir.resolve("stomp-ann.jsonl"));
        Map<String, String> message = lines.stream().filter(l -> "MESSAGE".equals(l.get("type"))).findFirst().orElseThrow();
        assertEquals("out", message.get("dir"));
        assertEquals("/topic/x", message.get("fields.destination"));
        assertEquals("body!", message.get("payload"));
        assertTrue(lines.stream().anyMatch(l -> "in".equals(l.get("dir")) && "SEND".equals(l.get("type"))));
    }

    /** Poll (bounded) until the trace file has a line containing {@code text}. */
    static void awaitLine(Sluice sluice, Path file, String text) throws IOException, InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < deadline) {
            sluice.syncTraces();
            if (Files.exists(file) && Files.readString(file).contains(text)) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no '" + text + "' in " + file + "; journal:\n" + sluice.journal().text());
    }

    /** Each line flattened: top-level fields and "fields.NAME" for the decoded fields. */
    static List<Map<String, String>> read(Path file) throws IOException {
        return Files.readAllLines(file).stream().map(line -> {
            Map<String, String> m = new HashMap<>();
            try (JsonParser p = JSON.createParser(line)) {
                String prefix = "";
                int depth = 0;
                String name = null;
                for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                    switch (t) {
                        case START_OBJECT -> {
                            depth++;
                            if (depth == 2) {
                                prefix = name + ".";
                            }
                        }
                        case END_OBJECT -> {
                            depth--;
                            if (depth == 1) {
                                prefix = "";
                            }
                        }
                        case FIELD_NAME -> name = p.currentName();
                        case START_ARRAY -> p.skipChildren();
                        default -> m.put(prefix + name, p.getText());
                    }
                }
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + line, e);
            }
            return m;
        }).toList();
    }
}
