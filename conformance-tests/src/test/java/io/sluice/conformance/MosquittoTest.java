package io.sluice.conformance;

import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.conformance.Mosquitto.Msg;
import io.sluice.conformance.Mosquitto.Sub;
import io.sluice.conformance.matrix.Catalog;
import io.sluice.conformance.matrix.Cells;
import io.sluice.conformance.matrix.Feature;
import io.sluice.conformance.matrix.Matrix;
import io.sluice.conformance.matrix.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.ThrowingSupplier;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/** Debian's mosquitto_pub / mosquitto_sub over TCP, MQTT 3.1.1 and 5 (the Debian build has no WebSocket client). */
class MosquittoTest {
    private static TestBroker broker;
    private static String unavailable;

    @BeforeAll
    static void start() {
        broker = TestBroker.start();
        unavailable = Mosquitto.unavailable();
        if (unavailable == null) {
            Matrix.clientVersion("mosquitto clients", Mosquitto.version());
        }
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    @TestFactory
    Stream<DynamicContainer> mosquitto() {
        return Stream.of(row(Catalog.MOSQUITTO311, false), row(Catalog.MOSQUITTO5, true));
    }

    private static DynamicContainer row(Row row, boolean v5) {
        Checks c = new Checks(row, v5);
        Map<Feature, ThrowingSupplier<String>> m = new EnumMap<>(Feature.class);
        m.put(Feature.CONNECT_CLEAN, c::connectClean);
        m.put(Feature.CONNECT_PERSISTENT, c::connectPersistent);
        m.put(Feature.WILDCARD, c::wildcard);
        m.put(Feature.QOS0, () -> c.qos(0));
        m.put(Feature.QOS1, () -> c.qos(1));
        m.put(Feature.QOS2, () -> c.qos(2));
        m.put(Feature.RETAINED, c::retained);
        m.put(Feature.WILL, c::will);
        m.put(Feature.SESSION_RESUME, c::sessionResume);
        m.put(Feature.CROSS_PROTOCOL, c::crossProtocol);
        m.put(Feature.KEEPALIVE, c::keepalive);
        m.put(Feature.BAD_INPUT, c::badInput);
        return Cells.row(row, unavailable, m);
    }

    private static final class Checks {
        private final boolean v5;
        private final String prefix;

        Checks(Row row, boolean v5) {
            this.v5 = v5;
            this.prefix = row.id() + "-" + UUID.randomUUID().toString().substring(0, 8);
        }

        private Mosquitto m() {
            return new Mosquitto(broker.mqttPort(), v5);
        }

        private String id(String what) {
            return prefix + "-" + what + "-" + UUID.randomUUID().toString().substring(0, 6);
        }

        private static void check(boolean condition, String message) {
            if (!condition) {
                throw new AssertionError(message);
            }
        }

        private static Msg expect(Sub sub, String topic, String payload) throws InterruptedException {
            Msg msg = sub.next(payload + " on " + topic);
            check(msg.topic().equals(topic) && msg.payload().equals(payload),
                    "expected " + payload + " on " + topic + ", got " + msg);
            return msg;
        }

        String connectClean() throws Exception {
            String out = m().pub(id("c"), prefix + "/hello", "hi", 0, false);
            check(out.contains("received CONNACK (0)"), "no CONNACK (0) in: " + out);
            return "CONNACK (0), publish, DISCONNECT";
        }

        String connectPersistent() throws Exception {
            String clientId = id("persist");
            String topic = prefix + "/persist";
            try (Sub first = m().sub(clientId, List.of("-c", "-E"), 1, topic)) {
                first.awaitSubscribed();
                check(first.awaitExit() == 0, "mosquitto_sub -c -E failed:\n" + first.transcript());
            }
            m().pub(id("p"), topic, "kept for you", 1, false);
            // reconnect with the same id, subscribing to something else: the message proves the session survived
            try (Sub second = m().sub(clientId, List.of("-c", "-C", "1"), 1, prefix + "/other")) {
                expect(second, topic, "kept for you");
                check(second.awaitExit() == 0, "second persistent connect failed:\n" + second.transcript());
            }
            return "session (and its subscription) kept across a reconnect with -c";
        }

        String wildcard() throws Exception {
            try (Sub sub = m().sub(id("s"), List.of("-C", "2"), 1, prefix + "/+/temp", prefix + "/all/#")) {
                sub.awaitSubscribed();
                m().pub(id("p"), prefix + "/k1/humidity", "no", 1, false);
                m().pub(id("p"), prefix + "/k1/temp", "21", 1, false);
                m().pub(id("p"), prefix + "/k1/temp/deeper", "no", 1, false);
                m().pub(id("p"), prefix + "/all/a/b", "deep", 1, false);
                expect(sub, prefix + "/k1/temp", "21");
                expect(sub, prefix + "/all/a/b", "deep");
                check(sub.awaitExit() == 0, "mosquitto_sub failed:\n" + sub.transcript());
            }
            return "+ and # matched; non-matching topics not delivered";
        }

        String qos(int level) throws Exception {
            String topic = prefix + "/qos" + level;
            try (Sub sub = m().sub(id("s"), List.of("-C", "1"), level, topic)) {
                sub.awaitSubscribed();
                m().pub(id("p"), topic, "at " + level, level, false);
                check(expect(sub, topic, "at " + level).qos() == level, "delivered at another QoS");
                check(sub.awaitExit() == 0, "mosquitto_sub failed:\n" + sub.transcript());
            }
            return "mosquitto_pub -q " + level + " to mosquitto_sub -q " + level + ", delivered at QoS " + level;
        }

        String retained() throws Exception {
            String topic = prefix + "/retained";
            m().pub(id("p"), topic, "kept", 1, true);
            try (Sub sub = m().sub(id("s"), List.of("-C", "1"), 1, topic)) {
                check(expect(sub, topic, "kept").retain(), "retained message without the retain flag");
            }
            m().pub(id("p"), topic, null, 1, true);
            try (Sub sub = m().sub(id("s"), List.of("-C", "1"), 1, topic)) {
                sub.awaitSubscribed();
                m().pub(id("p"), topic, "live", 1, false);
                check(!expect(sub, topic, "live").retain(), "live message with the retain flag");
            }
            return "retained delivered with the retain flag; cleared by -n -r";
        }

        String will() throws Exception {
            String topic = prefix + "/will";
            try (Sub watcher = m().sub(id("w"), List.of("-C", "1"), 1, topic)) {
                watcher.awaitSubscribed();
                m().pub(id("polite"), prefix + "/x", "bye", 1, false,
                        "--will-topic", topic, "--will-payload", "polite", "--will-qos", "1");
                try (Sub rude = m().sub(id("rude"), List.of("--will-topic", topic, "--will-payload", "gone",
                        "--will-qos", "1"), 0, prefix + "/nothing")) {
                    rude.awaitSubscribed();
                    rude.kill();
                }
                expect(watcher, topic, "gone");
            }
            return "will published when mosquitto_sub is killed, not after mosquitto_pub's DISCONNECT";
        }

        String sessionResume() throws Exception {
            String clientId = id("resume");
            String topic = prefix + "/resume";
            try (Sub first = m().sub(clientId, List.of("-c", "-E"), 1, topic)) {
                check(first.awaitExit() == 0, "mosquitto_sub -c -E failed:\n" + first.transcript());
            }
            for (int i = 1; i <= 3; i++) {
                m().pub(id("p"), topic, "queued " + i, 1, false);
            }
            try (Sub back = m().sub(clientId, List.of("-c", "-C", "3"), 1, topic)) {
                for (int i = 1; i <= 3; i++) {
                    check(expect(back, topic, "queued " + i).qos() == 1, "queued message not at QoS 1");
                }
                check(back.awaitExit() == 0, "resume failed:\n" + back.transcript());
            }
            return "3 QoS 1 messages queued while offline arrived in order on resume";
        }

        String crossProtocol() throws Exception {
            try (StompPeer stomp = new StompPeer(broker.stompPort())) {
                stomp.subscribe("/topic/" + prefix + "/x/#");
                m().pub(id("p"), prefix + "/x/1", "mqtt to stomp", 1, false);
                StompPeer.Frame f = stomp.expect(StompCommand.MESSAGE);
                check(f.body().equals("mqtt to stomp"), "STOMP got " + f);
                try (Sub sub = m().sub(id("s"), List.of("-C", "1"), 1, prefix + "/y/+")) {
                    sub.awaitSubscribed();
                    stomp.send("/topic/" + prefix + "/y/2", "stomp to mqtt");
                    expect(sub, prefix + "/y/2", "stomp to mqtt");
                }
            }
            return "mosquitto_pub to a STOMP subscriber, STOMP SEND to mosquitto_sub";
        }

        String keepalive() throws Exception {
            String topic = prefix + "/alive";
            // mosquitto's shortest keep-alive is 5 s
            try (Sub sub = m().sub(id("ka"), List.of("-k", "5", "-C", "1"), 1, topic)) {
                sub.awaitSubscribed();
                sub.awaitLine(l -> l.contains("received PINGRESP"), "PINGRESP");
                m().pub(id("p"), topic, "still here", 1, false);
                expect(sub, topic, "still here");
            }
            return "keep-alive 5 s: PINGREQ answered with PINGRESP, then a delivery on the same connection";
        }

        String badInput() throws Exception {
            if (v5) {
                // libmosquitto itself holds back a PUBLISH over the broker's advertised Maximum Packet Size, so
                // the MQTT 5 row sends what only the broker can judge: a topic alias over its Topic Alias Maximum
                Mosquitto.Exit exit = m().pubExpectingRefusal(id("alias"), prefix + "/alias", 1, "-m", "x",
                        "-D", "publish", "topic-alias", "1000");
                check(exit.code() != 0 && exit.output().contains("Received DISCONNECT (148)"),
                        "topic alias 1000 not refused with DISCONNECT 0x94: exit " + exit.code() + ": " + exit.output());
                m().pub(id("after"), prefix + "/after", "fine", 1, false);
                return "topic alias over Topic Alias Maximum: DISCONNECT 0x94, mosquitto_pub exit " + exit.code()
                        + "; new connections served";
            }
            Path big = Files.createTempFile("sluice-too-large", ".bin");
            try {
                Files.write(big, new byte[TestBroker.MAX_PACKET_SIZE + 1024]);
                Mosquitto.Exit exit = m().pubExpectingRefusal(id("big"), prefix + "/big", 1, "-f", big.toString());
                check(exit.code() != 0 && exit.output().contains("sending PUBLISH"),
                        "a PUBLISH over max-packet-size was not refused: exit " + exit.code() + ": " + exit.output());
                m().pub(id("after"), prefix + "/after", "fine", 1, false);
                return "PUBLISH over max-packet-size: connection closed, mosquitto_pub exit " + exit.code()
                        + "; new connections served";
            } finally {
                Files.deleteIfExists(big);
            }
        }
    }
}
