package io.sluice.server.security;

import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5PubAckException;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5SubAckException;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import com.hivemq.client.mqtt.mqtt5.message.publish.puback.Mqtt5PubAckReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.suback.Mqtt5SubAckReasonCode;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttSecurityException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A password file and an ACL file in Mosquitto's formats, enforced alike for MQTT 5, MQTT 3.1.1 and STOMP, on
 * login, subscribe, publish and delivery, with real clients (HiveMQ, Paho) and a STOMP socket.
 */
class AccessControlTest {
    static final String ACL = """
            # anonymous clients: nothing here, and --allow-anonymous is off anyway
            topic read public/#
            user alice
            topic readwrite alice/#
            topic read shared/#
            topic deny shared/secret/#
            user bob
            topic readwrite #
            topic readwrite $stomp/queue/#
            user sys
            topic read $SYS/#
            pattern readwrite devices/%c/#
            """;

    @TempDir
    Path dir;
    private SluiceServer server;
    private Path acl;
    private Path passwords;
    private final List<AutoCloseable> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        passwords = dir.resolve("passwd");
        Files.writeString(passwords, "alice:" + PasswordFile.hash("alice-pw".toCharArray()) + "\n"
                + "bob:" + PasswordFile.hash("bob-pw".toCharArray()) + "\n"
                + "sys:" + PasswordFile.hash("sys-pw".toCharArray()) + "\n");
        acl = dir.resolve("acl");
        Files.writeString(acl, ACL);
        server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1")
                .with(Settings.MQTT_PORT, 0).with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, 0)
                .with(Settings.PASSWORD_FILE, passwords).with(Settings.ACL_FILE, acl)
                .with(Settings.SYS_READERS, List.of("sys")).with(Settings.SYS_INTERVAL, 200L)
                .with(Settings.SECURITY_RELOAD_INTERVAL, 100L));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : clients) {
            try {
                c.close();
            } catch (Exception ignored) {
                // already gone
            }
        }
        server.close();
    }

    private Mqtt5BlockingClient v5(String id, String user, String password) {
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).buildBlocking();
        if (user == null) {
            c.connectWith().cleanStart(true).send();
        } else {
            c.connectWith().cleanStart(true).simpleAuth().username(user)
                    .password(password.getBytes(StandardCharsets.UTF_8)).applySimpleAuth().send();
        }
        clients.add(c::disconnect);
        return c;
    }

    private MqttClient v3(String id, String user, String password) throws MqttException {
        MqttClient c = new MqttClient("tcp://127.0.0.1:" + server.port("mqtt"), id, new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setUserName(user);
        o.setPassword(password.toCharArray());
        o.setCleanSession(true);
        c.connect(o);
        clients.add(() -> {
            c.disconnect();
            c.close();
        });
        return c;
    }

    private StompWire stomp(String user, String password) throws Exception {
        StompWire s = StompWire.open(server.port("stomp"));
        clients.add(s);
        assertEquals("CONNECTED", s.connect(user, password).command());
        return s;
    }

    private static Mqtt5SubAckReasonCode subscribe(Mqtt5BlockingClient c, String filter) {
        try {
            return c.subscribeWith().topicFilter(filter).qos(MqttQos.AT_LEAST_ONCE).send().getReasonCodes().get(0);
        } catch (Mqtt5SubAckException e) {
            return e.getMqttMessage().getReasonCodes().get(0);
        }
    }

    private static void publish(Mqtt5BlockingClient c, String topic, String payload) {
        c.publishWith().topic(topic).qos(MqttQos.AT_LEAST_ONCE).payload(payload.getBytes(StandardCharsets.UTF_8)).send();
    }

    @Test
    void wrongPasswordsUnknownUsersAndAnonymousClientsAreRefusedInEveryProtocol() throws Exception {
        long before = server.security().audit().loginsRefused();
        for (String[] creds : new String[][] {{"alice", "wrong"}, {"mallory", "alice-pw"}}) {
            Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("x").serverHost("127.0.0.1")
                    .serverPort(server.port("mqtt")).buildBlocking();
            Mqtt5ConnAckException e = assertThrows(Mqtt5ConnAckException.class, () -> c.connectWith().simpleAuth()
                    .username(creds[0]).password(creds[1].getBytes(StandardCharsets.UTF_8)).applySimpleAuth().send());
            assertEquals(Mqtt5ConnAckReasonCode.BAD_USER_NAME_OR_PASSWORD, e.getMqttMessage().getReasonCode());

            MqttSecurityException old = assertThrows(MqttSecurityException.class, () -> v3("y", creds[0], creds[1]));
            assertEquals(MqttException.REASON_CODE_FAILED_AUTHENTICATION, old.getReasonCode());

            try (StompWire s = StompWire.open(server.port("stomp"))) {
                StompWire.Frame f = s.connect(creds[0], creds[1]);
                assertEquals("ERROR", f.command());
                assertTrue(s.closedByServer());
            }
        }
        Mqtt5BlockingClient anonymous = Mqtt5Client.builder().identifier("anon").serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).buildBlocking();
        Mqtt5ConnAckException e = assertThrows(Mqtt5ConnAckException.class, () -> anonymous.connectWith().send());
        assertEquals(Mqtt5ConnAckReasonCode.NOT_AUTHORIZED, e.getMqttMessage().getReasonCode());
        try (StompWire s = StompWire.open(server.port("stomp"))) {
            assertEquals("ERROR", s.connect(null, null).command());
        }
        assertEquals(before + 8, server.security().audit().loginsRefused());
        // the right password works in all three
        v5("a5", "alice", "alice-pw");
        v3("a3", "alice", "alice-pw");
        stomp("alice", "alice-pw");
    }

    @Test
    void subscriptionsOutsideTheRulesAreRefusedWithEachProtocolsAnswer() throws Exception {
        Mqtt5BlockingClient alice = v5("a5", "alice", "alice-pw");
        assertEquals(Mqtt5SubAckReasonCode.NOT_AUTHORIZED, subscribe(alice, "bob/#"));
        assertEquals(Mqtt5SubAckReasonCode.NOT_AUTHORIZED, subscribe(alice, "shared/secret/x"));
        assertEquals(Mqtt5SubAckReasonCode.NOT_AUTHORIZED, subscribe(alice, "$SYS/#"));
        assertEquals(Mqtt5SubAckReasonCode.NOT_AUTHORIZED, subscribe(alice, "$share/g/bob/#"));
        assertEquals(Mqtt5SubAckReasonCode.GRANTED_QOS_1, subscribe(alice, "alice/+/x"));
        assertEquals(Mqtt5SubAckReasonCode.GRANTED_QOS_1, subscribe(alice, "#"));

        MqttClient old = v3("a3", "alice", "alice-pw");
        MqttException refused = assertThrows(MqttException.class, () -> old.subscribe("bob/#", 1));
        assertEquals(0x80, refused.getReasonCode());
        old.subscribe("alice/#", 1);

        StompWire s = stomp("alice", "alice-pw");
        s.subscribe("/topic/bob/x", "1", "r1");
        StompWire.Frame error = s.next();
        assertEquals("ERROR", error.command());
        assertEquals("access refused", error.header("message"));
        assertTrue(s.closedByServer());
        // bob may subscribe to anything but $SYS, which only --sys-readers may read
        Mqtt5BlockingClient bob = v5("b5", "bob", "bob-pw");
        assertEquals(Mqtt5SubAckReasonCode.GRANTED_QOS_1, subscribe(bob, "bob/#"));
        assertEquals(Mqtt5SubAckReasonCode.NOT_AUTHORIZED, subscribe(bob, "$SYS/broker/#"));
        Mqtt5BlockingClient sys = v5("s5", "sys", "sys-pw");
        try (Mqtt5BlockingClient.Mqtt5Publishes in = sys.publishes(MqttGlobalPublishFilter.ALL)) {
            assertEquals(Mqtt5SubAckReasonCode.GRANTED_QOS_1, subscribe(sys, "$SYS/#"));
            Optional<Mqtt5Publish> p = in.receive(10, TimeUnit.SECONDS);
            assertTrue(p.isPresent() && p.get().getTopic().toString().startsWith("$SYS/"), String.valueOf(p));
        }
    }

    @Test
    void publishesOutsideTheRulesAreRefusedOrDropped() throws Exception {
        Mqtt5BlockingClient bob = v5("b5", "bob", "bob-pw");
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        bob.toAsync().subscribeWith().topicFilter("#").qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> seen.add(p.getTopic().toString())).send().get(10, TimeUnit.SECONDS);

        Mqtt5BlockingClient alice = v5("a5", "alice", "alice-pw");
        Mqtt5PubAckException e = assertThrows(Mqtt5PubAckException.class, () -> publish(alice, "bob/x", "no"));
        assertEquals(Mqtt5PubAckReasonCode.NOT_AUTHORIZED, e.getMqttMessage().getReasonCode());
        assertThrows(Mqtt5PubAckException.class, () -> publish(alice, "shared/x", "read-only"));

        long denials = server.security().audit().denials();
        MqttClient old = v3("a3", "alice", "alice-pw");
        old.publish("bob/y", "dropped".getBytes(StandardCharsets.UTF_8), 1, false); // acknowledged, goes nowhere
        assertEquals(denials + 1, server.security().audit().denials());

        StompWire s = stomp("alice", "alice-pw");
        s.send("/topic/bob/z", "no", "r1");
        assertEquals("ERROR", s.next().command());
        assertTrue(s.closedByServer());

        publish(alice, "alice/ok", "yes");
        assertEquals("alice/ok", seen.poll(10, TimeUnit.SECONDS));
        assertTrue(seen.isEmpty(), "refused publishes were delivered: " + seen);
    }

    /** A subscription to '#' receives only what its client may read: MQTT 5, MQTT 3.1.1 and STOMP alike. */
    @Test
    void aWildcardSubscriberReceivesOnlyWhatItMayRead() throws Exception {
        Mqtt5BlockingClient alice5 = v5("alice-5", "alice", "alice-pw");
        BlockingQueue<String> got5 = new LinkedBlockingQueue<>();
        alice5.toAsync().subscribeWith().topicFilter("#").qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> got5.add(p.getTopic().toString())).send().get(10, TimeUnit.SECONDS);
        MqttClient alice3 = v3("alice-3", "alice", "alice-pw");
        BlockingQueue<String> got3 = new LinkedBlockingQueue<>();
        alice3.subscribe("#", 1, (topic, m) -> got3.add(topic));
        StompWire stomp = stomp("alice", "alice-pw");
        stomp.subscribe("/topic/#", "1", "r1");
        assertEquals("RECEIPT", stomp.next().command());

        Mqtt5BlockingClient bob = v5("b5", "bob", "bob-pw");
        List<String> published = List.of("alice/a", "bob/b", "shared/s", "shared/secret/t", "devices/alice-5/u",
                "devices/other/v", "public/w", "alice/end");
        for (String t : published) {
            publish(bob, t, t);
        }
        List<String> readable = List.of("alice/a", "shared/s", "alice/end");
        // the pattern devices/%c/# gives the client 'alice-5' its own device topic too
        assertEquals(List.of("alice/a", "shared/s", "devices/alice-5/u", "alice/end"), drain(got5, "alice/end"));
        assertEquals(readable, drain(got3, "alice/end"));
        List<String> stompGot = new ArrayList<>();
        while (stompGot.isEmpty() || !stompGot.get(stompGot.size() - 1).equals("alice/end")) {
            StompWire.Frame f = stomp.next();
            assertEquals("MESSAGE", f.command());
            stompGot.add(f.body());
        }
        assertEquals(readable, stompGot);
    }

    @Test
    void patternsNameTheClientsOwnTopics() throws Exception {
        Mqtt5BlockingClient dev = v5("dev1", "alice", "alice-pw");
        publish(dev, "devices/dev1/up", "mine");
        assertThrows(Mqtt5PubAckException.class, () -> publish(dev, "devices/dev2/up", "not mine"));
        assertEquals(Mqtt5SubAckReasonCode.GRANTED_QOS_1, subscribe(dev, "devices/dev1/#"));
        assertEquals(Mqtt5SubAckReasonCode.NOT_AUTHORIZED, subscribe(dev, "devices/dev2/#"));
    }

    @Test
    void editedPasswordAndAclFilesApplyToNewLoginsWithoutRestart() throws Exception {
        assertEquals(0, PasswdCommand.run(new String[] {"passwd", passwords.toString(), "carol"},
                new java.io.ByteArrayInputStream("carol-pw\n".getBytes(StandardCharsets.UTF_8)),
                new java.io.PrintStream(new java.io.ByteArrayOutputStream()), System.err));
        Files.writeString(acl, ACL + "user carol\ntopic readwrite carol/#\n");
        Mqtt5BlockingClient carol = poll(() -> {
            try {
                return v5("c5", "carol", "carol-pw");
            } catch (Mqtt5ConnAckException e) {
                return null;
            }
        });
        awaitTrue(() -> {
            try {
                Mqtt5BlockingClient c = v5("c5-" + System.nanoTime(), "carol", "carol-pw");
                return subscribe(c, "carol/#") == Mqtt5SubAckReasonCode.GRANTED_QOS_1;
            } catch (RuntimeException e) {
                return false;
            }
        });
        assertNotNull(carol);
        // a file that no longer parses leaves the previous rules in force (reloaded now, as SIGHUP does)
        Files.writeString(acl, "frobnicate everything\n");
        server.security().reload();
        Mqtt5BlockingClient again = v5("c6", "carol", "carol-pw");
        assertEquals(Mqtt5SubAckReasonCode.GRANTED_QOS_1, subscribe(again, "carol/#"));
        assertEquals(Mqtt5SubAckReasonCode.NOT_AUTHORIZED, subscribe(again, "alice/#"));
    }

    private static List<String> drain(BlockingQueue<String> q, String last) throws InterruptedException {
        List<String> out = new ArrayList<>();
        while (out.isEmpty() || !out.get(out.size() - 1).equals(last)) {
            String t = q.poll(10, TimeUnit.SECONDS);
            if (t == null) {
                fail("no '" + last + "' within 10 s; got " + out);
            }
            out.add(t);
        }
        return out;
    }

    static <T> T poll(java.util.function.Supplier<T> attempt) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            T t = attempt.get();
            if (t != null) {
                return t;
            }
            Thread.sleep(50);
        }
        return fail("not within 10 s");
    }

    static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        poll(() -> condition.getAsBoolean() ? Boolean.TRUE : null);
    }
}
