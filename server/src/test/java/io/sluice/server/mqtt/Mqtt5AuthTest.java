package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.datatypes.MqttUtf8String;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.Mqtt5ClientConfig;
import com.hivemq.client.mqtt.mqtt5.auth.Mqtt5EnhancedAuthMechanism;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5Auth;
import com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5AuthBuilder;
import com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5EnhancedAuthBuilder;
import com.hivemq.client.mqtt.mqtt5.message.connect.Mqtt5Connect;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5Disconnect;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.broker.TopicAccess;
import io.sluice.server.security.Authenticator;
import io.sluice.server.security.Login;
import io.sluice.server.security.Security;
import io.sluice.server.security.HmacChallengeMechanism;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Enhanced authentication (MQTT 5 section 4.12) through the pluggable authenticator, and plain logins. */
class Mqtt5AuthTest {
    private static final byte[] SECRET = "s3cret".getBytes(StandardCharsets.UTF_8);
    private MqttTestServer server;

    @BeforeEach
    void start() {
        Authenticator mechanisms = new HmacChallengeMechanism(Map.of("alice", SECRET)).asAuthenticator();
        Authenticator auth = new Authenticator() {
            @Override
            public Login login(io.sluice.server.security.Credentials c) {
                if ("mallory".equals(c.username())) {
                    return Login.badCredentials("test");
                }
                return "guest".equals(c.username()) ? Login.notAuthorized("test") : Login.allow(c.username());
            }

            @Override
            public io.sluice.server.security.AuthMechanism mechanism(String method) {
                return mechanisms.mechanism(method);
            }
        };
        TopicAccess noSecrets = new TopicAccess() {
            @Override
            public boolean mayPublish(String topic) {
                return !topic.startsWith("secret/");
            }

            @Override
            public Scope subscribe(String filter) {
                return filter.startsWith("secret/") ? Scope.NONE : Scope.ALL;
            }

            @Override
            public boolean mayRead(String topic) {
                return !topic.startsWith("secret/");
            }
        };
        server = new MqttTestServer(Settings.defaults(), Security.of(auth, (clientId, user) -> noSecrets));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static MqttProperties authProperties(String method, byte[] data) {
        MqttProperties p = new MqttProperties();
        p.add(new MqttProperties.StringProperty(MqttProperties.AUTHENTICATION_METHOD, method));
        if (data != null) {
            p.add(new MqttProperties.BinaryProperty(MqttProperties.AUTHENTICATION_DATA, data));
        }
        return p;
    }

    private static MqttReasonCodeAndPropertiesVariableHeader header(MqttMessage m) {
        return (MqttReasonCodeAndPropertiesVariableHeader) m.variableHeader();
    }

    private static byte[] data(MqttMessage auth) {
        return (byte[]) header(auth).properties().getProperty(MqttProperties.AUTHENTICATION_DATA).value();
    }

    @Test
    void challengeResponseAtConnectAndReauthentication() { // MQTT 5 sections 4.12 and 4.12.1
        RawMqttClient c = RawMqttClient.open(server.port());
        c.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId("alice-1")
                .properties(authProperties(HmacChallengeMechanism.NAME, bytes("alice"))).build());
        MqttMessage challenge = c.expect(MqttMessageType.AUTH);
        assertEquals(ReasonCode.CONTINUE_AUTHENTICATION.code(), header(challenge).reasonCode());
        c.send(MqttMessageBuilders.auth().reasonCode(ReasonCode.CONTINUE_AUTHENTICATION.code())
                .properties(authProperties(HmacChallengeMechanism.NAME,
                        HmacChallengeMechanism.hmac(SECRET, data(challenge)))).build());
        MqttConnAckMessage ack = (MqttConnAckMessage) c.expect(MqttMessageType.CONNACK);
        assertEquals(0, ack.variableHeader().connectReturnCode().byteValue());
        assertEquals(HmacChallengeMechanism.NAME,
                ack.variableHeader().properties().getProperty(MqttProperties.AUTHENTICATION_METHOD).value());

        c.send(MqttMessageBuilders.auth().reasonCode(ReasonCode.REAUTHENTICATE.code())
                .properties(authProperties(HmacChallengeMechanism.NAME, bytes("alice"))).build());
        challenge = c.expect(MqttMessageType.AUTH);
        c.send(MqttMessageBuilders.auth().reasonCode(ReasonCode.CONTINUE_AUTHENTICATION.code())
                .properties(authProperties(HmacChallengeMechanism.NAME,
                        HmacChallengeMechanism.hmac(SECRET, data(challenge)))).build());
        MqttMessage done = c.expect(MqttMessageType.AUTH);
        assertEquals(ReasonCode.SUCCESS.code(), header(done).reasonCode());
        c.send(MqttMessage.PINGREQ);
        c.expect(MqttMessageType.PINGRESP);
    }

    @Test
    void wrongResponseIsRefusedWith0x87() { // MQTT 5 section 4.12
        RawMqttClient c = RawMqttClient.open(server.port());
        c.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId("alice-2")
                .properties(authProperties(HmacChallengeMechanism.NAME, bytes("alice"))).build());
        c.expect(MqttMessageType.AUTH);
        c.send(MqttMessageBuilders.auth().reasonCode(ReasonCode.CONTINUE_AUTHENTICATION.code())
                .properties(authProperties(HmacChallengeMechanism.NAME, bytes("guessing"))).build());
        MqttConnAckMessage ack = (MqttConnAckMessage) c.expect(MqttMessageType.CONNACK);
        assertEquals(ReasonCode.NOT_AUTHORIZED.code(), ack.variableHeader().connectReturnCode().byteValue());
        assertTrue(c.awaitClosed(10_000));
    }

    @Test
    void unknownMethodIsRefusedWith0x8C() { // MQTT 5 section 3.1.2.11.9
        RawMqttClient c = RawMqttClient.open(server.port());
        MqttConnAckMessage ack = c.connect(MqttVersion.MQTT_5, "m", true, authProperties("KERBEROS", null));
        assertEquals(ReasonCode.BAD_AUTHENTICATION_METHOD.code(), ack.variableHeader().connectReturnCode().byteValue());
        assertTrue(c.awaitClosed(10_000));
    }

    @Test
    void publishDuringAuthenticationIsAProtocolError() { // MQTT 5 section 4.12: only AUTH until CONNACK
        RawMqttClient c = RawMqttClient.open(server.port());
        c.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId("early")
                .properties(authProperties(HmacChallengeMechanism.NAME, bytes("alice"))).build());
        c.expect(MqttMessageType.AUTH);
        c.send(MqttBadInputTest.publish("t", 0, 0, "too soon"));
        assertTrue(c.awaitClosed(10_000));
    }

    @Test
    void hiveMqClientAuthenticatesWithTheMechanism() { // MQTT 5 section 4.12, with a real client
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("hive-alice").serverHost("127.0.0.1")
                .serverPort(server.port()).buildBlocking();
        Mqtt5ConnAck ack = c.connectWith().enhancedAuth(new HmacClient("alice", SECRET)).send();
        assertEquals(Mqtt5ConnAckReasonCode.SUCCESS, ack.getReasonCode());
        c.disconnect();
        Mqtt5BlockingClient wrong = Mqtt5Client.builder().identifier("hive-eve").serverHost("127.0.0.1")
                .serverPort(server.port()).buildBlocking();
        Mqtt5ConnAckException e = assertThrows(Mqtt5ConnAckException.class,
                () -> wrong.connectWith().enhancedAuth(new HmacClient("alice", bytes("wrong"))).send());
        assertEquals(Mqtt5ConnAckReasonCode.NOT_AUTHORIZED, e.getMqttMessage().getReasonCode());
    }

    @Test
    void plainLoginRefusalsPerVersion() { // MQTT 5 section 3.2.2.2 (0x86, 0x87), 3.1.1 section 3.2.2.3 (4, 5)
        RawMqttClient v5 = RawMqttClient.open(server.port());
        v5.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId("m5")
                .hasUser(true).username("mallory").hasPassword(true).password(bytes("x")).build());
        assertEquals(ReasonCode.BAD_USER_NAME_OR_PASSWORD.code(),
                ((MqttConnAckMessage) v5.expect(MqttMessageType.CONNACK)).variableHeader().connectReturnCode().byteValue());
        RawMqttClient v3 = RawMqttClient.open(server.port());
        v3.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_3_1_1).clientId("g3")
                .hasUser(true).username("guest").build());
        assertEquals(5, ((MqttConnAckMessage) v3.expect(MqttMessageType.CONNACK)).variableHeader()
                .connectReturnCode().byteValue());
        assertTrue(v3.awaitClosed(10_000));
    }

    @Test
    void publishAndSubscribeRefusedByTheAuthenticator() { // MQTT 5 sections 3.4.2.1, 3.5.2.1, 3.9.3: 0x87
        RawMqttClient c = RawMqttClient.connected(server.port(), MqttVersion.MQTT_5, "nosy", true);
        c.send(MqttMessageBuilders.subscribe().messageId(1)
                .addSubscription(io.netty.handler.codec.mqtt.MqttQoS.AT_LEAST_ONCE, "secret/#")
                .addSubscription(io.netty.handler.codec.mqtt.MqttQoS.AT_LEAST_ONCE, "open/#").build());
        io.netty.handler.codec.mqtt.MqttSubAckMessage sub =
                (io.netty.handler.codec.mqtt.MqttSubAckMessage) c.expect(MqttMessageType.SUBACK);
        assertEquals(java.util.List.of(0x87, 1), sub.payload().reasonCodes());
        c.send(MqttBadInputTest.publish("secret/plans", 1, 2, "x"));
        MqttMessage ack = c.expect(MqttMessageType.PUBACK);
        assertEquals(ReasonCode.NOT_AUTHORIZED.code(),
                ((io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader) ack.variableHeader()).reasonCode());
        c.send(MqttBadInputTest.publish("secret/plans", 2, 3, "x"));
        MqttMessage rec = c.expect(MqttMessageType.PUBREC);
        assertEquals(ReasonCode.NOT_AUTHORIZED.code(),
                ((io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader) rec.variableHeader()).reasonCode());
        c.send(MqttBadInputTest.publish("open/door", 1, 4, "y"));
        c.expect(MqttMessageType.PUBACK);
        io.netty.handler.codec.mqtt.MqttPublishMessage p =
                (io.netty.handler.codec.mqtt.MqttPublishMessage) c.expect(MqttMessageType.PUBLISH);
        assertEquals("open/door", p.variableHeader().topicName());

        RawMqttClient old = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "nosy311", true);
        old.send(MqttMessageBuilders.subscribe().messageId(1)
                .addSubscription(io.netty.handler.codec.mqtt.MqttQoS.AT_MOST_ONCE, "secret/x").build());
        assertEquals(java.util.List.of(0x80), ((io.netty.handler.codec.mqtt.MqttSubAckMessage)
                old.expect(MqttMessageType.SUBACK)).payload().reasonCodes());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The client side of {@link HmacChallengeMechanism} for the HiveMQ client. */
    private static final class HmacClient implements Mqtt5EnhancedAuthMechanism {
        private final String user;
        private final byte[] secret;

        HmacClient(String user, byte[] secret) {
            this.user = user;
            this.secret = secret;
        }

        @Override
        public MqttUtf8String getMethod() {
            return MqttUtf8String.of(HmacChallengeMechanism.NAME);
        }

        @Override
        public int getTimeout() {
            return 30;
        }

        @Override
        public CompletableFuture<Void> onAuth(Mqtt5ClientConfig config, Mqtt5Connect connect, Mqtt5EnhancedAuthBuilder b) {
            b.data(bytes(user));
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> onReAuth(Mqtt5ClientConfig config, Mqtt5AuthBuilder b) {
            b.data(bytes(user));
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Boolean> onContinue(Mqtt5ClientConfig config, Mqtt5Auth auth, Mqtt5AuthBuilder b) {
            ByteBuffer challenge = auth.getData().orElseThrow();
            byte[] c = new byte[challenge.remaining()];
            challenge.get(c);
            b.data(HmacChallengeMechanism.hmac(secret, c));
            return CompletableFuture.completedFuture(true);
        }

        @Override
        public CompletableFuture<Boolean> onAuthSuccess(Mqtt5ClientConfig config, Mqtt5ConnAck connAck) {
            return CompletableFuture.completedFuture(true);
        }

        @Override
        public CompletableFuture<Boolean> onReAuthSuccess(Mqtt5ClientConfig config, Mqtt5Auth auth) {
            return CompletableFuture.completedFuture(true);
        }

        @Override
        public void onAuthRejected(Mqtt5ClientConfig config, Mqtt5ConnAck connAck) {
        }

        @Override
        public void onReAuthRejected(Mqtt5ClientConfig config, Mqtt5Disconnect disconnect) {
        }

        @Override
        public void onAuthError(Mqtt5ClientConfig config, Throwable cause) {
        }

        @Override
        public void onReAuthError(Mqtt5ClientConfig config, Throwable cause) {
        }
    }
}
