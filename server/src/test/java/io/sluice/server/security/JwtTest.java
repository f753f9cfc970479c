package io.sluice.server.security;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5DisconnectException;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5SubAckException;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.subscribe.suback.Mqtt5SubAckReasonCode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.OctetSequenceKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;


/**
 * JSON Web Tokens as the MQTT password, the STOMP passcode and a WebSocket upgrade's query string; HS256, RS256
 * and ES256 keys generated here; forged, expired, early, foreign tokens refused; claims narrowing topics; a
 * token expiring while connected closes the connection.
 */
class JwtTest {
    @TempDir
    Path dir;
    private SluiceServer server;
    private static OctetSequenceKey hmac;
    private static RSAKey rsa;
    private static ECKey ec;

    @BeforeAll
    static void keys() throws Exception {
        hmac = new OctetSequenceKeyGenerator(256).keyID("h").generate();
        rsa = new RSAKeyGenerator(2048).keyID("r").generate();
        ec = new ECKeyGenerator(Curve.P_256).keyID("e").generate();
    }

    @BeforeEach
    void start() throws Exception {
        Path jwks = dir.resolve("keys.jwks");
        // the broker's file holds the public halves, and the shared HMAC secret
        Files.writeString(jwks, new JWKSet(List.of(hmac, rsa.toPublicJWK(), ec.toPublicJWK())).toString(false));
        server = SluiceServer.start(Settings.defaults().with(Settings.MQTT_PORT, 0).with(Settings.HTTP_PORT, 0)
                .with(Settings.STOMP_PORT, 0).with(Settings.BIND, "127.0.0.1").with(Settings.JWT_KEY_FILE, jwks)
                .with(Settings.JWT_ISSUER, "https://issuer.test").with(Settings.JWT_AUDIENCE, "sluice"));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static String token(JWSSigner signer, JWSAlgorithm alg, String kid, Consumer<JWTClaimsSet.Builder> claims)
            throws Exception {
        JWTClaimsSet.Builder b = new JWTClaimsSet.Builder().subject("dana").issuer("https://issuer.test")
                .audience("sluice").expirationTime(new Date(System.currentTimeMillis() + 60_000));
        claims.accept(b);
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).build(), b.build());
        jwt.sign(signer);
        return jwt.serialize();
    }

    private String hs(Consumer<JWTClaimsSet.Builder> claims) throws Exception {
        return token(new MACSigner(hmac), JWSAlgorithm.HS256, "h", claims);
    }

    private Mqtt5BlockingClient connect(String token) {
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("jwt-" + System.nanoTime()).serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).buildBlocking();
        c.connectWith().simpleAuth().username("ignored").password(token.getBytes(StandardCharsets.UTF_8))
                .applySimpleAuth().send();
        return c;
    }

    private Mqtt5ConnAckReasonCode refusal(String token) {
        try {
            connect(token).disconnect();
            return Mqtt5ConnAckReasonCode.SUCCESS;
        } catch (Mqtt5ConnAckException e) {
            return e.getMqttMessage().getReasonCode();
        }
    }

    @Test
    void tokensOfEveryAlgorithmLogInAsTheirSubject() throws Exception {
        for (String t : List.of(hs(b -> { }), token(new RSASSASigner(rsa), JWSAlgorithm.RS256, "r", b -> { }),
                token(new ECDSASigner(ec), JWSAlgorithm.ES256, "e", b -> { }))) {
            assertEquals(Mqtt5ConnAckReasonCode.SUCCESS, refusal(t));
        }
        // MQTT 3.1.1 (Paho) and STOMP carry it in their password fields
        MqttClient paho = new MqttClient("tcp://127.0.0.1:" + server.port("mqtt"), "paho-jwt", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setUserName("anything");
        o.setPassword(hs(b -> { }).toCharArray());
        paho.connect(o);
        paho.disconnect();
        paho.close();
        try (StompWire s = StompWire.open(server.port("stomp"))) {
            assertEquals("CONNECTED", s.connect("dana", hs(b -> { })).command());
        }
    }

    @Test
    void forgedExpiredEarlyAndForeignTokensAreRefused() throws Exception {
        long before = server.security().audit().loginsRefused();
        String good = hs(b -> { });
        String[] parts = good.split("\\.");
        String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8).replace("dana", "root");
        String tampered = parts[0] + "." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        OctetSequenceKey stranger = new OctetSequenceKeyGenerator(256).keyID("h").generate();
        List<String> bad = List.of(
                tampered,
                token(new MACSigner(stranger), JWSAlgorithm.HS256, "h", b -> { }),
                hs(b -> b.expirationTime(new Date(System.currentTimeMillis() - 120_000))),
                hs(b -> b.notBeforeTime(new Date(System.currentTimeMillis() + 600_000))),
                hs(b -> b.issuer("https://elsewhere.test")),
                hs(b -> b.audience("another-service")),
                hs(b -> b.expirationTime(null)),
                // "none" is not an accepted algorithm
                new com.nimbusds.jwt.PlainJWT(new JWTClaimsSet.Builder().subject("dana").issuer("https://issuer.test")
                        .audience("sluice").expirationTime(new Date(System.currentTimeMillis() + 60_000)).build()).serialize());
        for (String t : bad) {
            assertEquals(Mqtt5ConnAckReasonCode.BAD_USER_NAME_OR_PASSWORD, refusal(t), t);
        }
        try (StompWire s = StompWire.open(server.port("stomp"))) {
            assertEquals("ERROR", s.connect("dana", tampered).command());
        }
        assertEquals(before + bad.size() + 1, server.security().audit().loginsRefused());
    }

    @Test
    void aTokenInTheUpgradeQueryStringLogsInAWebSocketClient() throws Exception {
        String token = hs(b -> { });
        Mqtt5BlockingClient ws = Mqtt5Client.builder().identifier("ws-jwt").serverHost("127.0.0.1")
                .serverPort(server.port("http")).webSocketConfig().serverPath("mqtt").queryString("token=" + token)
                .applyWebSocketConfig().buildBlocking();
        assertEquals(Mqtt5ConnAckReasonCode.SUCCESS, ws.connect().getReasonCode());
        ws.disconnect();
        Mqtt5BlockingClient bearer = Mqtt5Client.builder().identifier("ws-bearer").serverHost("127.0.0.1")
                .serverPort(server.port("http")).webSocketConfig().serverPath("mqtt")
                .httpHeaders(Map.of("Authorization", "Bearer " + token)).applyWebSocketConfig().buildBlocking();
        assertEquals(Mqtt5ConnAckReasonCode.SUCCESS, bearer.connect().getReasonCode());
        bearer.disconnect();
        Mqtt5BlockingClient none = Mqtt5Client.builder().identifier("ws-none").serverHost("127.0.0.1")
                .serverPort(server.port("http")).webSocketConfig().serverPath("mqtt").applyWebSocketConfig().buildBlocking();
        Mqtt5ConnAckException e = assertThrows(Mqtt5ConnAckException.class, none::connect);
        assertEquals(Mqtt5ConnAckReasonCode.NOT_AUTHORIZED, e.getMqttMessage().getReasonCode());
    }

    @Test
    void theAclClaimNarrowsWhatTheTokenMayDo() throws Exception {
        Mqtt5BlockingClient c = connect(hs(b -> b.claim("acl", Map.of("sub", List.of("fleet/+/status"),
                "all", List.of("dana/#")))));
        assertEquals(Mqtt5SubAckReasonCode.GRANTED_QOS_1,
                c.subscribeWith().topicFilter("fleet/+/status").qos(MqttQos.AT_LEAST_ONCE).send().getReasonCodes().get(0));
        Mqtt5SubAckException e = assertThrows(Mqtt5SubAckException.class,
                () -> c.subscribeWith().topicFilter("other/#").qos(MqttQos.AT_LEAST_ONCE).send());
        assertEquals(List.of(Mqtt5SubAckReasonCode.NOT_AUTHORIZED), e.getMqttMessage().getReasonCodes());
        // sub only: no publishing there; all: both ways
        assertThrows(com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5PubAckException.class, () -> c.publishWith()
                .topic("fleet/k1/status").qos(MqttQos.AT_LEAST_ONCE).payload(new byte[1]).send());
        c.publishWith().topic("dana/notes").qos(MqttQos.AT_LEAST_ONCE).payload(new byte[1]).send();
        c.disconnect();
    }

    @Test
    void aTokenThatExpiresWhileConnectedEndsTheConnection() throws Exception {
        Date soon = new Date(System.currentTimeMillis() + 2_000);
        CompletableFuture<Throwable> cause = new CompletableFuture<>();
        Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("short-lived").serverHost("127.0.0.1")
                .serverPort(server.port("mqtt")).addDisconnectedListener(ctx -> cause.complete(ctx.getCause()))
                .buildBlocking();
        c.connectWith().simpleAuth().password(hs(b -> b.expirationTime(soon)).getBytes(StandardCharsets.UTF_8))
                .applySimpleAuth().send();
        Throwable t = cause.get(15, TimeUnit.SECONDS);
        Mqtt5DisconnectException d = assertInstanceOf(Mqtt5DisconnectException.class, t);
        assertEquals(Mqtt5DisconnectReasonCode.NOT_AUTHORIZED, d.getMqttMessage().getReasonCode());

        try (StompWire s = StompWire.open(server.port("stomp"))) {
            assertEquals("CONNECTED", s.connect("dana", hs(b -> b.expirationTime(new Date(System.currentTimeMillis() + 2_000)))).command());
            StompWire.Frame error = s.next();
            assertEquals("ERROR", error.command());
            assertEquals("credential expired", error.header("message"));
        }
    }

    /**
     * MQTT 5 re-authentication (section 4.12.1) with the {@code JWT} method: a client that sends AUTH 0x19 with a
     * fresh token before its first one expires keeps its connection; one that does not is closed at expiry; a
     * re-authentication with a bad token or another user's token ends the connection with 0x87.
     */
    @Test
    void reauthenticationWithAFreshTokenKeepsTheConnection() throws Exception {
        // a whole second, as exp carries it: 1 to 2 s from now
        Date soon = new Date((System.currentTimeMillis() / 1000 + 2) * 1000);
        String fresh = hs(b -> { });
        Mqtt5BlockingClient renewed = tokenClient("renewed", List.of(hs(b -> b.expirationTime(soon)), fresh), null);
        CompletableFuture<Throwable> lapsedCause = new CompletableFuture<>();
        tokenClient("lapsed", List.of(hs(b -> b.expirationTime(soon))), lapsedCause);
        renewed.toAsync().reauth().get(10, TimeUnit.SECONDS);

        Mqtt5DisconnectException d = assertInstanceOf(Mqtt5DisconnectException.class, lapsedCause.get(15, TimeUnit.SECONDS));
        assertEquals(Mqtt5DisconnectReasonCode.NOT_AUTHORIZED, d.getMqttMessage().getReasonCode());
        // exp is the first instant the token is no longer valid (RFC 7519 section 4.1.4): closing at it is on time
        assertTrue(System.currentTimeMillis() >= soon.getTime(), "the first token has expired");
        try (Mqtt5BlockingClient.Mqtt5Publishes in = renewed.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
            renewed.subscribeWith().topicFilter("dana/renewed").qos(MqttQos.AT_LEAST_ONCE).send();
            renewed.publishWith().topic("dana/renewed").qos(MqttQos.AT_LEAST_ONCE).payload(new byte[] {7}).send();
            assertTrue(in.receive(10, TimeUnit.SECONDS).isPresent(), "the re-authenticated client is still served");
        }
        renewed.disconnect();

        for (String bad : List.of(hs(b -> b.subject("mallory")), fresh.substring(0, fresh.length() - 2) + "AA")) {
            CompletableFuture<Throwable> cause = new CompletableFuture<>();
            Mqtt5BlockingClient c = tokenClient("bad-reauth", List.of(fresh, bad), cause);
            c.toAsync().reauth();
            Mqtt5DisconnectException refused = assertInstanceOf(Mqtt5DisconnectException.class, cause.get(10, TimeUnit.SECONDS));
            assertEquals(Mqtt5DisconnectReasonCode.NOT_AUTHORIZED, refused.getMqttMessage().getReasonCode());
        }
    }

    /** A HiveMQ client logged in with Authentication Method JWT: the first token on CONNECT, the next ones on AUTH. */
    private Mqtt5BlockingClient tokenClient(String id, List<String> tokens, CompletableFuture<Throwable> disconnected) {
        var b = Mqtt5Client.builder().identifier(id).serverHost("127.0.0.1").serverPort(server.port("mqtt"));
        if (disconnected != null) {
            b = b.addDisconnectedListener(ctx -> disconnected.complete(ctx.getCause()));
        }
        Mqtt5BlockingClient c = b.buildBlocking();
        c.connectWith().enhancedAuth(new TokenAuth(tokens)).send();
        return c;
    }

    /** The client side of the JWT method: each authentication sends the next token. */
    private static final class TokenAuth implements com.hivemq.client.mqtt.mqtt5.auth.Mqtt5EnhancedAuthMechanism {
        private final java.util.Iterator<String> tokens;

        TokenAuth(List<String> tokens) {
            this.tokens = tokens.iterator();
        }

        @Override
        public com.hivemq.client.mqtt.datatypes.MqttUtf8String getMethod() {
            return com.hivemq.client.mqtt.datatypes.MqttUtf8String.of("JWT");
        }

        @Override
        public int getTimeout() {
            return 10;
        }

        @Override
        public CompletableFuture<Void> onAuth(com.hivemq.client.mqtt.mqtt5.Mqtt5ClientConfig config,
                                              com.hivemq.client.mqtt.mqtt5.message.connect.Mqtt5Connect connect,
                                              com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5EnhancedAuthBuilder b) {
            b.data(tokens.next().getBytes(StandardCharsets.UTF_8));
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> onReAuth(com.hivemq.client.mqtt.mqtt5.Mqtt5ClientConfig config,
                                                com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5AuthBuilder b) {
            b.data(tokens.next().getBytes(StandardCharsets.UTF_8));
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Boolean> onServerReAuth(com.hivemq.client.mqtt.mqtt5.Mqtt5ClientConfig config,
                                                         com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5Auth auth,
                                                         com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5AuthBuilder b) {
            return CompletableFuture.completedFuture(false);
        }

        @Override
        public CompletableFuture<Boolean> onContinue(com.hivemq.client.mqtt.mqtt5.Mqtt5ClientConfig config,
                                                     com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5Auth auth,
                                                     com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5AuthBuilder b) {
            return CompletableFuture.completedFuture(false);
        }

        @Override
        public CompletableFuture<Boolean> onAuthSuccess(com.hivemq.client.mqtt.mqtt5.Mqtt5ClientConfig config,
                                                        com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck connAck) {
            return CompletableFuture.completedFuture(true);
        }

        @Override
        public CompletableFuture<Boolean> onReAuthSuccess(com.hivemq.client.mqtt.mqtt5.Mqtt5ClientConfig config,
                                                          com.hivemq.client.mqtt.mqtt5.message.auth.Mqtt5Auth auth) {
            return CompletableFuture.completedFuture(true);
        }

        @Override
        public void onAuthRejected(com.hivemq.client.mqtt.mqtt5.Mqtt5ClientConfig config,
                                   com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck connAck) {
        }

        @Override
        public void onReAuthRejected(com.hivemq.client.mqtt.mqtt5.Mqtt5ClientConfig config,
                                     com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5Disconnect disconnect) {
        }

        @Override
        public void onAuthError(com.hivemq.client.mqtt.mqtt5.Mqtt5ClientConfig config, Throwable cause) {
        }

        @Override
        public void onReAuthError(com.hivemq.client.mqtt.mqtt5.Mqtt5ClientConfig config, Throwable cause) {
        }
    }

    @Test
    void keyFilesInEveryFormatLoad() throws Exception {
        Path pem = dir.resolve("rsa.pem");
        Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(rsa.toPublicKey().getEncoded()) + "\n-----END PUBLIC KEY-----\n");
        assertEquals("RSA", JwtVerifier.keys(pem).getKeys().get(0).getKeyType().getValue());
        Path ecPem = dir.resolve("ec.pem");
        Files.writeString(ecPem, "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(ec.toPublicKey().getEncoded()) + "\n-----END PUBLIC KEY-----\n");
        assertEquals("EC", JwtVerifier.keys(ecPem).getKeys().get(0).getKeyType().getValue());
        Path secret = dir.resolve("secret");
        Files.writeString(secret, "0123456789abcdef0123456789abcdef");
        assertEquals("oct", JwtVerifier.keys(secret).getKeys().get(0).getKeyType().getValue());
        Files.writeString(secret, "short");
        assertThrows(IllegalArgumentException.class, () -> JwtVerifier.keys(secret));
        Path privatePem = dir.resolve("private.pem");
        Files.writeString(privatePem, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JwtVerifier.keys(privatePem));
        assertTrue(e.getMessage().contains("private key"), e.getMessage());
    }
}
