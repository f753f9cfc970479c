package io.sluice.server.security;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import io.sluice.server.stomp.WsStompClient;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The mqtts and HTTPS/WSS listeners with certificates made at test time: Paho and HiveMQ over mqtts, HiveMQ and
 * STOMP over WSS, client certificates (none, want, need) naming the user, PKCS#12, handshake failures counted,
 * and a certificate replaced under open connections.
 */
class TlsTest {
    private static TestPki pki;
    private static TestPki.Issued serverCert;
    private static TestPki.Issued alice;

    @TempDir
    Path dir;
    private SluiceServer server;

    @BeforeAll
    static void certificates() throws Exception {
        pki = new TestPki("Sluice test CA");
        serverCert = pki.server();
        alice = pki.client("alice", "alice@example.com");
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private Path[] pemFiles(TestPki.Issued cert) throws Exception {
        Path c = dir.resolve("server.crt");
        Path k = dir.resolve("server.key");
        cert.writePem(c, k);
        return new Path[] {c, k};
    }

    private void start(UnaryOperator<Settings> more) throws Exception {
        Path[] files = pemFiles(serverCert);
        Path ca = dir.resolve("ca.pem");
        pki.writeCa(ca);
        server = SluiceServer.start(more.apply(Settings.defaults().with(Settings.BIND, "127.0.0.1")
                .with(Settings.MQTT_PORT, 0).with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, 0)
                .with(Settings.MQTTS_PORT, 0).with(Settings.HTTPS_PORT, 0)
                .with(Settings.TLS_CERT_FILE, files[0]).with(Settings.TLS_KEY_FILE, files[1])
                .with(Settings.TLS_CA_FILE, ca).with(Settings.SECURITY_RELOAD_INTERVAL, 100L)));
    }

    private Mqtt5BlockingClient hive(String id, SSLContext ignored, TestPki.Issued me, boolean websocket) throws Exception {
        var b = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1")
                .serverPort(server.port(websocket ? "https" : "mqtts"));
        var ssl = b.sslConfig().trustManagerFactory(pki.trust());
        if (me != null) {
            ssl = ssl.keyManagerFactory(me.keyManagers());
        }
        var withSsl = ssl.applySslConfig();
        if (websocket) {
            withSsl = withSsl.webSocketConfig().serverPath("mqtt").applyWebSocketConfig();
        }
        return withSsl.buildBlocking();
    }

    private static void roundTrip(Mqtt5BlockingClient c, String topic) throws Exception {
        try (Mqtt5BlockingClient.Mqtt5Publishes in = c.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
            c.subscribeWith().topicFilter(topic).qos(MqttQos.AT_LEAST_ONCE).send();
            c.publishWith().topic(topic).qos(MqttQos.AT_LEAST_ONCE).payload("hi".getBytes(StandardCharsets.UTF_8)).send();
            Optional<Mqtt5Publish> p = in.receive(10, TimeUnit.SECONDS);
            assertTrue(p.isPresent(), "no message on " + topic);
            assertEquals("hi", new String(p.get().getPayloadAsBytes(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void pahoHiveMqAndStompClientsSpeakOverMqttsAndWss() throws Exception {
        start(s -> s);
        assertTrue(server.listeners().containsKey("mqtts") && server.listeners().containsKey("https"));
        Mqtt5BlockingClient tcp = hive("hive-tls", null, null, false);
        tcp.connect();
        roundTrip(tcp, "tls/tcp");
        tcp.disconnect();
        Mqtt5BlockingClient wss = hive("hive-wss", null, null, true);
        wss.connect();
        roundTrip(wss, "tls/wss");
        wss.disconnect();

        MqttClient paho = new MqttClient("ssl://127.0.0.1:" + server.port("mqtts"), "paho-tls", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setSocketFactory(pki.clientContext(null).getSocketFactory());
        paho.connect(o);
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        paho.subscribe("tls/paho", 1, (t, m) -> got.add(new String(m.getPayload(), StandardCharsets.UTF_8)));
        paho.publish("tls/paho", "p".getBytes(StandardCharsets.UTF_8), 1, false);
        assertEquals("p", got.poll(10, TimeUnit.SECONDS));
        paho.disconnect();
        paho.close();

        // STOMP over WSS, as stomp.js in a browser would speak it
        try (WsStompClient ws = WsStompClient.connect(URI.create("wss://localhost:" + server.port("https") + "/stomp"),
                pki.clientContext(null), "v12.stomp")) {
            ws.sendText("CONNECT\naccept-version:1.2\nhost:localhost\n\n\0");
            ws.expect(StompCommand.CONNECTED);
        }
    }

    @Test
    void aRequiredClientCertificateNamesTheUserAndNoCertificateFailsTheHandshake() throws Exception {
        Path acl = dir.resolve("acl");
        Files.writeString(acl, "user alice\ntopic readwrite alice/#\n");
        start(s -> s.with(Settings.TLS_CLIENT_AUTH, "need").with(Settings.TLS_CERT_USERNAME, "cn")
                .with(Settings.ACL_FILE, acl));
        assertTrue(server.security().authenticating(), "need + cn is authentication");
        Mqtt5BlockingClient c = hive("cert-alice", null, alice, false);
        assertEquals(Mqtt5ConnAckReasonCode.SUCCESS, c.connect().getReasonCode());
        roundTrip(c, "alice/x"); // the ACL's alice section applies: the certificate named the user
        c.disconnect();

        long failures = server.security().tls().handshakeFailures();
        Mqtt5BlockingClient noCert = hive("no-cert", null, null, false);
        assertThrows(RuntimeException.class, noCert::connect);
        // a client speaking plain MQTT to the TLS port fails its handshake too
        try (java.net.Socket plain = new java.net.Socket("127.0.0.1", server.port("mqtts"))) {
            plain.getOutputStream().write(new byte[] {0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 0});
            plain.setSoTimeout(10_000);
            assertEquals(-1, plain.getInputStream().read());
        }
        AccessControlTest.awaitTrue(() -> server.security().tls().handshakeFailures() >= failures + 2);
    }

    @Test
    void aWantedCertificateIsOptionalAndItsSanCanNameTheUser() throws Exception {
        Path passwords = dir.resolve("passwd");
        Files.writeString(passwords, "bob:" + PasswordFile.hash("bob-pw".toCharArray()) + "\n");
        Path acl = write("acl", "user alice@example.com\ntopic readwrite mail/#\nuser bob\ntopic readwrite bob/#\n");
        start(s -> s.with(Settings.TLS_CLIENT_AUTH, "want").with(Settings.TLS_CERT_USERNAME, "san")
                .with(Settings.PASSWORD_FILE, passwords).with(Settings.ACL_FILE, acl));
        Mqtt5BlockingClient withCert = hive("san", null, alice, false);
        withCert.connect();
        roundTrip(withCert, "mail/in");
        withCert.disconnect();
        Mqtt5BlockingClient withPassword = hive("pw", null, null, false);
        withPassword.connectWith().simpleAuth().username("bob").password("bob-pw".getBytes(StandardCharsets.UTF_8))
                .applySimpleAuth().send();
        roundTrip(withPassword, "bob/in");
        withPassword.disconnect();
    }

    private Path write(String name, String content) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    @Test
    void aPkcs12KeystoreServesToo() throws Exception {
        Path p12 = dir.resolve("server.p12");
        serverCert.writePkcs12(p12, "changeit");
        server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, -1)
                .with(Settings.HTTP_PORT, -1).with(Settings.STOMP_PORT, -1).with(Settings.MQTTS_PORT, 0)
                .with(Settings.HTTPS_PORT, -1).with(Settings.TLS_KEYSTORE, p12)
                .with(Settings.TLS_KEYSTORE_PASSWORD, "changeit"));
        Mqtt5BlockingClient c = hive("p12", null, null, false);
        c.connect();
        roundTrip(c, "p12");
        c.disconnect();
    }

    @Test
    void aReplacedCertificateServesNewConnectionsAndLeavesOpenOnesAlone() throws Exception {
        start(s -> s);
        Mqtt5BlockingClient open = hive("stays", null, null, false);
        open.connect();
        BigInteger before = peerSerial();
        assertEquals(serverCert.cert().getSerialNumber(), before);

        TestPki.Issued renewed = pki.server();
        Path tmpCert = dir.resolve("new.crt");
        Path tmpKey = dir.resolve("new.key");
        renewed.writePem(tmpCert, tmpKey);
        Files.move(tmpKey, dir.resolve("server.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmpCert, dir.resolve("server.crt"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        AccessControlTest.awaitTrue(() -> {
            try {
                return peerSerial().equals(renewed.cert().getSerialNumber());
            } catch (Exception e) {
                return false;
            }
        });
        assertNotEquals(before, renewed.cert().getSerialNumber());
        roundTrip(open, "still/open");
        open.disconnect();
    }

    private BigInteger peerSerial() throws Exception {
        try (SSLSocket s = (SSLSocket) pki.clientContext(null).getSocketFactory()
                .createSocket("127.0.0.1", server.port("mqtts"))) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    @Test
    void noCertificateMeansNoTlsListenersAndAKeyWithoutACertificateIsAnError() {
        server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, -1).with(Settings.STOMP_PORT, -1));
        assertEquals(List.of("mqtt"), List.copyOf(server.listeners().keySet()));
        server.close();
        server = null;
        assertThrows(IllegalArgumentException.class, () -> SluiceServer.start(Settings.defaults()
                .with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, 0).with(Settings.TLS_KEY_FILE, dir.resolve("k"))));
    }
}
