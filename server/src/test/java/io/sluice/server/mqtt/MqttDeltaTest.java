package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.datatypes.Mqtt5UserProperty;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.micrometer.core.instrument.FunctionCounter;
import io.sluice.protocol.delta.FossilDelta;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Opt-in delta delivery over MQTT 5, checked with the HiveMQ client and Sluice's Java Fossil decoder: a delta
 * stream decodes to exactly the messages published, across topics, QoS 0 and 1, reconnects and the memory
 * bound; deltas are marked, smaller, and a full message comes first, every {@code delta-full-every} and whenever
 * a delta would not be smaller; a subscriber without the option never sees one.
 */
class MqttDeltaTest {
    private static final String ASK = "sluice-delta";

    /** A 2 KB JSON document of which a few fields change from one version to the next. */
    static byte[] document(int version, String topic) {
        Random r = new Random(topic.hashCode());
        StringBuilder sb = new StringBuilder("{\"topic\":\"").append(topic).append("\",\"rows\":[");
        for (int i = 0; sb.length() < 2000; i++) {
            int price = r.nextInt(10_000) + (i % 10 == version % 10 ? version : 0);
            sb.append("{\"id\":").append(i).append(",\"price\":").append(price).append(",\"name\":\"row ").append(i).append("\"},");
        }
        return sb.append("{\"version\":").append(version).append("}]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    private static Mqtt5BlockingClient client(MqttTestServer server, String id, boolean cleanStart) {
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.port())
                .buildBlocking();
        c.connectWith().cleanStart(cleanStart).sessionExpiryInterval(cleanStart ? 0 : 300).send();
        return c;
    }

    private static void subscribeForDeltas(Mqtt5BlockingClient c, String filter, MqttQos qos) {
        c.subscribeWith().topicFilter(filter).qos(qos).userProperties().add(ASK, "fossil").applyUserProperties().send();
    }

    /** What a client library does: keep the last payload per topic, apply deltas to it. */
    static final class Decoder {
        final Map<String, byte[]> last = new HashMap<>();
        int deltas;
        int full;
        long wireBytes;
        long fullBytes;
        long deltaWireBytes;
        long deltaFullBytes;

        byte[] accept(Mqtt5Publish p) {
            byte[] wire = p.getPayloadAsBytes();
            String topic = p.getTopic().toString();
            boolean delta = marked(p);
            byte[] payload = delta ? FossilDelta.apply(last.get(topic), wire) : wire;
            if (delta) {
                deltas++;
                deltaWireBytes += wire.length;
                deltaFullBytes += payload.length;
                assertTrue(wire.length < payload.length, "a delta is smaller than its message");
                assertTrue(p.getPayloadFormatIndicator().isEmpty(), "a delta claims no payload format");
            } else {
                full++;
            }
            wireBytes += wire.length;
            fullBytes += payload.length;
            last.put(topic, payload);
            return payload;
        }
    }

    static boolean marked(Mqtt5Publish p) {
        for (Mqtt5UserProperty u : p.getUserProperties().asList()) {
            if (u.getName().toString().equals(ASK)) {
                assertEquals("fossil", u.getValue().toString());
                return true;
            }
        }
        return false;
    }

    private static Mqtt5Publish receive(java.util.concurrent.BlockingQueue<Mqtt5Publish> publishes)
            throws InterruptedException {
        Mqtt5Publish p = publishes.poll(20, TimeUnit.SECONDS);
        assertTrue(p != null, "a message within 20 s");
        return p;
    }

    private static Mqtt5Publish receive(Mqtt5BlockingClient.Mqtt5Publishes publishes) throws InterruptedException {
        Optional<Mqtt5Publish> p = publishes.receive(20, TimeUnit.SECONDS);
        assertTrue(p.isPresent(), "a message within 20 s");
        return p.get();
    }

    @Test
    void aDeltaStreamDecodesToTheMessagesPublishedWithAFullOneFirstAndEveryN() throws Exception {
        int every = 5;
        try (MqttTestServer server = new MqttTestServer(Settings.defaults().with(Settings.DELTA_FULL_EVERY, every))) {
            Mqtt5BlockingClient sub = client(server, "delta-sub", true);
            Mqtt5BlockingClient plain = client(server, "plain-sub", true);
            Mqtt5BlockingClient pub = client(server, "delta-pub", true);
            try (Mqtt5BlockingClient.Mqtt5Publishes in = sub.publishes(MqttGlobalPublishFilter.ALL);
                 Mqtt5BlockingClient.Mqtt5Publishes plainIn = plain.publishes(MqttGlobalPublishFilter.ALL)) {
                subscribeForDeltas(sub, "scores/#", MqttQos.AT_LEAST_ONCE);
                plain.subscribeWith().topicFilter("scores/#").qos(MqttQos.AT_LEAST_ONCE).send();
                Decoder decoder = new Decoder();
                List<Boolean> wasDelta = new ArrayList<>();
                int n = 24;
                for (int v = 0; v < n; v++) {
                    for (String topic : new String[] {"scores/a", "scores/b"}) {
                        byte[] doc = document(v, topic);
                        // QoS 0 and 1 alternate: both take the same path
                        pub.publishWith().topic(topic).qos(v % 2 == 0 ? MqttQos.AT_LEAST_ONCE : MqttQos.AT_MOST_ONCE)
                                .payload(doc).payloadFormatIndicator(com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PayloadFormatIndicator.UTF_8)
                                .send();
                        Mqtt5Publish p = receive(in);
                        assertEquals(topic, p.getTopic().toString());
                        int before = decoder.deltas;
                        assertArrayEquals(doc, decoder.accept(p), topic + " version " + v);
                        if (topic.equals("scores/a")) {
                            wasDelta.add(decoder.deltas > before);
                        }
                        Mqtt5Publish q = receive(plainIn);
                        assertFalse(marked(q), "a subscriber without the option never sees a delta");
                        assertArrayEquals(doc, q.getPayloadAsBytes());
                    }
                }
                for (int v = 0; v < n; v++) {
                    assertEquals(v % every != 0, wasDelta.get(v), "version " + v + ": full first and every " + every);
                }
                assertTrue(decoder.deltaWireBytes * 8 < decoder.deltaFullBytes, "deltas of a few changed fields: "
                        + decoder.deltaWireBytes + " bytes for " + decoder.deltaFullBytes);
                assertEquals(decoder.fullBytes, counter(server, "sluice.delta.before"));
                assertEquals(decoder.wireBytes, counter(server, "sluice.delta.after"));
            } finally {
                sub.disconnect();
                plain.disconnect();
                pub.disconnect();
            }
        }
    }

    @Test
    void overlappingSubscriptionsWithoutTheOptionAndUnrelatedPayloadsGoInFull() throws Exception {
        try (MqttTestServer server = new MqttTestServer()) {
            Mqtt5BlockingClient sub = client(server, "mixed-sub", true);
            Mqtt5BlockingClient pub = client(server, "mixed-pub", true);
            try (Mqtt5BlockingClient.Mqtt5Publishes in = sub.publishes(MqttGlobalPublishFilter.ALL)) {
                subscribeForDeltas(sub, "mixed/#", MqttQos.AT_LEAST_ONCE);
                sub.subscribeWith().topicFilter("mixed/plain").qos(MqttQos.AT_LEAST_ONCE).send();
                Decoder decoder = new Decoder();
                for (int v = 0; v < 4; v++) {
                    for (String topic : new String[] {"mixed/plain", "mixed/delta"}) {
                        byte[] doc = document(v, topic);
                        pub.publishWith().topic(topic).qos(MqttQos.AT_LEAST_ONCE).payload(doc)
                                .userProperties().add(ASK, "fossil").applyUserProperties() // a publisher cannot mark
                                .send();
                        Mqtt5Publish p = receive(in);
                        if (topic.equals("mixed/plain")) {
                            assertFalse(marked(p), "a topic also matched by a subscription without the option");
                        }
                        assertArrayEquals(doc, decoder.accept(p));
                    }
                }
                assertEquals(3, decoder.deltas, "mixed/delta after its first message");
                Random r = new Random(1);
                for (int i = 0; i < 3; i++) { // unrelated random payloads: a delta is never smaller
                    byte[] noise = new byte[1500];
                    r.nextBytes(noise);
                    pub.publishWith().topic("mixed/delta").qos(MqttQos.AT_LEAST_ONCE).payload(noise).send();
                    Mqtt5Publish p = receive(in);
                    assertFalse(marked(p));
                    assertArrayEquals(noise, decoder.accept(p));
                }
            } finally {
                sub.disconnect();
                pub.disconnect();
            }
        }
    }

    @Test
    void afterAReconnectTheFirstMessageOfEachTopicIsFullAndQos1LosesNothing() throws Exception {
        try (MqttTestServer server = new MqttTestServer()) {
            Mqtt5BlockingClient pub = client(server, "resume-pub", true);
            Mqtt5BlockingClient sub = client(server, "resume-sub", false);
            subscribeForDeltas(sub, "resume/#", MqttQos.AT_LEAST_ONCE);
            Decoder decoder = new Decoder();
            int version = 0;
            try (Mqtt5BlockingClient.Mqtt5Publishes in = sub.publishes(MqttGlobalPublishFilter.ALL)) {
                for (; version < 3; version++) {
                    pub.publishWith().topic("resume/x").qos(MqttQos.AT_LEAST_ONCE).payload(document(version, "resume/x")).send();
                    assertArrayEquals(document(version, "resume/x"), decoder.accept(receive(in)));
                }
            }
            sub.disconnect();
            for (int v = version; v < version + 4; v++) { // queued for the offline session
                pub.publishWith().topic("resume/x").qos(MqttQos.AT_LEAST_ONCE).payload(document(v, "resume/x")).send();
            }
            Mqtt5BlockingClient back = Mqtt5Client.builder().identifier("resume-sub").serverHost("127.0.0.1")
                    .serverPort(server.port()).buildBlocking();
            // a callback registered before the connect: the queued messages follow the CONNACK at once, sooner than
            // a blocking client's publishes() stream may be ready to take them
            java.util.concurrent.BlockingQueue<Mqtt5Publish> in = new java.util.concurrent.LinkedBlockingQueue<>();
            back.toAsync().publishes(MqttGlobalPublishFilter.ALL, in::add);
            try {
                back.connectWith().cleanStart(false).sessionExpiryInterval(300).send();
                int deltasBefore = decoder.deltas;
                Mqtt5Publish first = receive(in);
                assertFalse(marked(first), "a new connection starts from a full message");
                assertArrayEquals(document(version, "resume/x"), decoder.accept(first));
                for (int v = version + 1; v < version + 4; v++) {
                    assertArrayEquals(document(v, "resume/x"), decoder.accept(receive(in)), "version " + v);
                }
                assertEquals(deltasBefore + 3, decoder.deltas, "the queued messages after the first go as deltas");
            } finally {
                back.disconnect();
                pub.disconnect();
            }
        }
    }

    @Test
    void pastTheMemoryBoundTopicsAreForgottenAndGoInFull() throws Exception {
        // room for two bases: five topics in turn each find theirs forgotten
        try (MqttTestServer server = new MqttTestServer(Settings.defaults().with(Settings.DELTA_MEMORY, 2L * 2100))) {
            Mqtt5BlockingClient sub = client(server, "bound-sub", true);
            Mqtt5BlockingClient pub = client(server, "bound-pub", true);
            try (Mqtt5BlockingClient.Mqtt5Publishes in = sub.publishes(MqttGlobalPublishFilter.ALL)) {
                subscribeForDeltas(sub, "bound/#", MqttQos.AT_LEAST_ONCE);
                Decoder decoder = new Decoder();
                for (int v = 0; v < 3; v++) {
                    for (int t = 0; t < 5; t++) {
                        byte[] doc = document(v, "bound/" + t);
                        pub.publishWith().topic("bound/" + t).qos(MqttQos.AT_LEAST_ONCE).payload(doc).send();
                        assertArrayEquals(doc, decoder.accept(receive(in)));
                    }
                }
                assertEquals(0, decoder.deltas, "no base survives four other topics");
                for (int v = 3; v < 6; v++) { // two topics fit
                    for (int t = 0; t < 2; t++) {
                        byte[] doc = document(v, "bound/" + t);
                        pub.publishWith().topic("bound/" + t).qos(MqttQos.AT_LEAST_ONCE).payload(doc).send();
                        assertArrayEquals(doc, decoder.accept(receive(in)));
                    }
                }
                assertEquals(4, decoder.deltas);
            } finally {
                sub.disconnect();
                pub.disconnect();
            }
        }
    }

    private static long counter(MqttTestServer server, String name) {
        FunctionCounter c = server.server().operations().metrics().registry().find(name).tag("protocol", "mqtt").functionCounter();
        return c == null ? -1 : (long) c.count();
    }
}
