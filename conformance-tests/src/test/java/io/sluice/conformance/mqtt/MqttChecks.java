package io.sluice.conformance.mqtt;

import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.conformance.Relay;
import io.sluice.conformance.StompPeer;
import io.sluice.conformance.TestBroker;
import io.sluice.conformance.matrix.Feature;
import io.sluice.conformance.mqtt.MqttDriver.Endpoint;
import io.sluice.conformance.mqtt.MqttDriver.Options;
import org.junit.jupiter.api.function.ThrowingSupplier;

import java.util.EnumMap;
import java.util.Map;
import java.util.UUID;

/**
 * The feature checks of the matrix, written once against {@link MqttDriver} and run by every Java client on
 * every transport. Each check uses its own topics and client ids, so checks do not see each other's messages.
 */
public final class MqttChecks {
    private final TestBroker broker;
    private final MqttDriver driver;
    private final boolean websocket;
    private final String prefix;

    public MqttChecks(TestBroker broker, MqttDriver driver, boolean websocket, String rowId) {
        this.broker = broker;
        this.driver = driver;
        this.websocket = websocket;
        this.prefix = rowId + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    public Map<Feature, ThrowingSupplier<String>> all() {
        Map<Feature, ThrowingSupplier<String>> m = new EnumMap<>(Feature.class);
        m.put(Feature.CONNECT_CLEAN, this::connectClean);
        m.put(Feature.CONNECT_PERSISTENT, this::connectPersistent);
        m.put(Feature.WILDCARD, this::wildcard);
        m.put(Feature.QOS0, () -> qos(0));
        m.put(Feature.QOS1, () -> qos(1));
        m.put(Feature.QOS2, () -> qos(2));
        m.put(Feature.RETAINED, this::retained);
        m.put(Feature.WILL, this::will);
        m.put(Feature.SESSION_RESUME, this::sessionResume);
        m.put(Feature.CROSS_PROTOCOL, this::crossProtocol);
        m.put(Feature.KEEPALIVE, this::keepalive);
        m.put(Feature.BAD_INPUT, this::badInput);
        return m;
    }

    private Endpoint endpoint() {
        return new Endpoint(websocket, websocket ? broker.httpPort() : broker.mqttPort());
    }

    private String id(String what) {
        return prefix + "-" + what + "-" + UUID.randomUUID().toString().substring(0, 6);
    }

    private MqttConn open(Options o) throws Exception {
        return driver.connect(endpoint(), o);
    }

    private MqttConn open() throws Exception {
        return open(Options.clean(id("c")));
    }

    private static void check(boolean condition, String message) {
        if (!condition) {
            throw new AssertionError(message);
        }
    }

    private static MqttConn.Msg expect(MqttConn c, String topic, String payload) throws InterruptedException {
        MqttConn.Msg m = c.next(payload + " on " + topic);
        check(m.topic().equals(topic) && m.payload().equals(payload),
                "expected " + payload + " on " + topic + ", got " + m);
        return m;
    }

    String connectClean() throws Exception {
        MqttConn c = open();
        check(!c.sessionPresent(), "session present on a clean connect");
        check(c.connected(), "not connected after CONNACK");
        c.disconnect();
        return "CONNACK accepted, session present 0";
    }

    String connectPersistent() throws Exception {
        String clientId = id("persist");
        MqttConn first = open(Options.persistent(clientId));
        check(!first.sessionPresent(), "session present on the first connect of a new client id");
        first.disconnect();
        MqttConn second = open(Options.persistent(clientId));
        check(second.sessionPresent(), "session present 0 when resuming a persistent session");
        second.disconnect();
        open(Options.clean(clientId)).disconnect();
        return "session present 0, then 1 on reconnect";
    }

    String wildcard() throws Exception {
        MqttConn s = open();
        MqttConn p = open();
        s.subscribe(prefix + "/+/temp", 1);
        s.subscribe(prefix + "/all/#", 1);
        p.publish(prefix + "/k1/humidity", "no", 1, false);
        p.publish(prefix + "/k1/temp", "21", 1, false);
        expect(s, prefix + "/k1/temp", "21");
        p.publish(prefix + "/k1/temp/deeper", "no", 1, false);
        p.publish(prefix + "/all/a/b/c", "deep", 1, false);
        expect(s, prefix + "/all/a/b/c", "deep");
        s.disconnect();
        p.disconnect();
        return "+ and # matched; non-matching topics not delivered";
    }

    String qos(int level) throws Exception {
        MqttConn s = open();
        MqttConn p = open();
        String topic = prefix + "/qos" + level;
        s.subscribe(topic, level);
        p.publish(topic, "to subscriber", level, false);
        check(expect(s, topic, "to subscriber").qos() == level, "delivered at another QoS");
        p.subscribe(topic + "/back", level);
        s.publish(topic + "/back", "and back", level, false);
        check(expect(p, topic + "/back", "and back").qos() == level, "delivered at another QoS");
        s.disconnect();
        p.disconnect();
        return "published and received at QoS " + level + " in both directions";
    }

    String retained() throws Exception {
        String topic = prefix + "/retained";
        MqttConn p = open();
        p.publish(topic, "kept", 1, true);
        MqttConn s1 = open();
        s1.subscribe(topic, 1);
        check(expect(s1, topic, "kept").retain(), "retained message delivered without the retain flag");
        p.publish(topic, new byte[0], 1, true);
        MqttConn s2 = open();
        s2.subscribe(topic, 1);
        p.publish(topic, "live", 1, false);
        check(!expect(s2, topic, "live").retain(), "live message delivered with the retain flag");
        for (MqttConn c : new MqttConn[] {p, s1, s2}) {
            c.disconnect();
        }
        return "retained delivered with the retain flag; cleared by an empty payload";
    }

    String will() throws Exception {
        String topic = prefix + "/will";
        MqttConn watcher = open();
        watcher.subscribe(topic, 1);
        open(Options.clean(id("polite")).will(topic, "polite")).disconnect();
        try (Relay relay = new Relay(endpoint().port())) {
            MqttConn rude = driver.connect(new Endpoint(websocket, relay.port()),
                    Options.clean(id("rude")).will(topic, "gone"));
            relay.cut();
            expect(watcher, topic, "gone");
            rude.release();
        }
        watcher.disconnect();
        return "will published on abnormal loss, not after DISCONNECT";
    }

    String sessionResume() throws Exception {
        String clientId = id("resume");
        String topic = prefix + "/resume";
        MqttConn s = open(Options.persistent(clientId));
        s.subscribe(topic, 1);
        s.disconnect();
        MqttConn p = open();
        for (int i = 1; i <= 3; i++) {
            p.publish(topic, "queued " + i, 1, false);
        }
        MqttConn back = open(Options.persistent(clientId));
        check(back.sessionPresent(), "session present 0 on resume");
        for (int i = 1; i <= 3; i++) {
            check(expect(back, topic, "queued " + i).qos() == 1, "queued message not at QoS 1");
        }
        back.disconnect();
        p.disconnect();
        open(Options.clean(clientId)).disconnect();
        return "3 QoS 1 messages queued while offline arrived in order on resume";
    }

    String crossProtocol() throws Exception {
        try (StompPeer stomp = new StompPeer(broker.stompPort())) {
            MqttConn m = open();
            stomp.subscribe("/topic/" + prefix + "/x/#");
            m.publish(prefix + "/x/1", "mqtt to stomp", 1, false);
            StompPeer.Frame f = stomp.expect(StompCommand.MESSAGE);
            check(f.body().equals("mqtt to stomp") && f.destination().equals("/topic/" + prefix + "/x/1"),
                    "STOMP got " + f);
            m.subscribe(prefix + "/y/+", 1);
            stomp.send("/topic/" + prefix + "/y/2", "stomp to mqtt");
            expect(m, prefix + "/y/2", "stomp to mqtt");
            m.disconnect();
        }
        return "MQTT to a STOMP /topic subscriber and STOMP SEND to an MQTT subscriber";
    }

    String keepalive() throws Exception {
        MqttConn c = open(Options.clean(id("ka")).keepAlive(2));
        Thread.sleep(5000); // the check itself: keep-alive periods passing, PINGREQs answered with PINGRESP
        check(c.connected(), "connection dropped during 5 s of 2 s keep-alive");
        c.subscribe(prefix + "/alive", 1);
        c.publish(prefix + "/alive", "still here", 1, false);
        expect(c, prefix + "/alive", "still here");
        c.disconnect();
        return "keep-alive 2 s: connection alive after 5 s, round trip on it";
    }

    String badInput() throws Exception {
        MqttConn c = open();
        byte[] tooLarge = new byte[TestBroker.MAX_PACKET_SIZE + 1024];
        String refusal;
        try {
            c.publish(prefix + "/big", tooLarge, 1, false);
            throw new AssertionError("a PUBLISH over max-packet-size was acknowledged");
        } catch (Exception e) {
            refusal = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        // closed by the broker, or (MQTT 5) refused by the client itself from the broker's Maximum Packet Size
        String how = c.connected() ? "; refused by the client under the broker's Maximum Packet Size"
                : "; connection closed by the broker";
        c.release();
        MqttConn after = open();
        after.subscribe(prefix + "/after", 1);
        after.publish(prefix + "/after", "fine", 1, false);
        expect(after, prefix + "/after", "fine");
        after.disconnect();
        return "PUBLISH over max-packet-size refused (" + refusal + how
                + "); new connections served";
    }
}
