package io.sluice.conformance;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.sluice.conformance.matrix.Catalog;
import io.sluice.conformance.matrix.Cells;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.TestFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The Chromium row over TLS: the page's MQTT.js and stomp.js checks against the broker's HTTPS/WSS listener,
 * every connection authenticated by a JSON Web Token in {@code ?token=} on the WebSocket upgrade. Chromium is
 * given the SPKI hash of the certificate made for this run, so it validates every other certificate as usual: the
 * connect check shows it refusing a server with another key, and the broker refusing a tampered or missing token.
 */
class BrowserTlsTest {
    private static final Path PAGE_DIR = Path.of(System.getProperty("sluice.browserDir", "target/browser"));
    private static Path dir;
    private static TestCertificate pinned;
    private static TestCertificate other;
    private static byte[] secret;
    private static TestBroker broker;
    private static String unavailable;

    @BeforeAll
    static void start() throws Exception {
        unavailable = NodeScripts.unavailable();
        if (unavailable == null && !Files.isExecutable(Path.of(BrowserTest.CHROMIUM))) {
            unavailable = "no Chromium at " + BrowserTest.CHROMIUM + ": the browser test needs it (Debian: apt-get install chromium)";
        }
        if (unavailable == null && !Files.isRegularFile(PAGE_DIR.resolve("bundle.js"))) {
            unavailable = "no browser bundle in " + PAGE_DIR + " (the build makes it with npm and esbuild)";
        }
        if (unavailable != null) {
            return;
        }
        dir = Files.createTempDirectory("sluice-browser-tls");
        pinned = TestCertificate.generate(dir, "broker");
        other = TestCertificate.generate(dir, "other");
        // an HS256 secret of 64 characters, as the key file holds it
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        secret = HexFormat.of().formatHex(random).getBytes(StandardCharsets.US_ASCII);
        Path key = Files.write(dir.resolve("jwt.key"), secret);
        broker = TestBroker.start(b -> b
                .set(Settings.HTTPS_PORT, 0)
                .set(Settings.MQTTS_PORT, -1)
                .set(Settings.TLS_KEYSTORE, pinned.keystore)
                .set(Settings.TLS_KEYSTORE_PASSWORD, pinned.password)
                .set(Settings.JWT_KEY_FILE, key));
    }

    @AfterAll
    static void stop() throws Exception {
        if (broker != null) {
            broker.close();
        }
        if (dir != null) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    private static String token(byte[] key, Date expires) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256),
                new JWTClaimsSet.Builder().subject("browser").expirationTime(expires).build());
        jwt.sign(new MACSigner(key));
        return jwt.serialize();
    }

    @TestFactory
    Stream<DynamicContainer> chromiumOverWss() {
        return Stream.of(Cells.row(Catalog.CHROMIUM_WSS, unavailable, NodeScripts.checks(Catalog.CHROMIUM_WSS, () -> {
            Date in10Minutes = new Date(System.currentTimeMillis() + 600_000);
            String good = token(secret, in10Minutes);
            // signed with another key: a valid-looking token whose signature does not verify
            byte[] wrong = secret.clone();
            wrong[0] ^= 1;
            String tampered = token(wrong, in10Minutes);
            String base = "wss://" + TestBroker.HOST + ":" + broker.httpsPort();
            return NodeScripts.run("browser-check.mjs", Map.of(
                    "pageDir", PAGE_DIR.toAbsolutePath().toString(),
                    "chromium", BrowserTest.CHROMIUM,
                    "chromiumArgs", List.of("--ignore-certificate-errors-spki-list=" + pinned.spkiSha256()),
                    "mqttUrl", base + "/mqtt?token=" + good,
                    "stompUrl", base + "/stomp?token=" + good,
                    "page", Map.of(
                            "badMqttUrl", base + "/mqtt?token=" + tampered,
                            "anonymousMqttUrl", base + "/mqtt",
                            "badStompUrl", base + "/stomp?token=" + tampered),
                    "unpinned", Map.of("pfx", other.keystore.toString(), "passphrase", other.password),
                    "features", NodeScripts.runnableIds(Catalog.CHROMIUM_WSS),
                    "entry", "sluiceSecure"), Duration.ofMinutes(5));
        })));
    }
}
