package io.sluice.conformance;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.concurrent.TimeUnit;

/**
 * A self-signed server certificate for 127.0.0.1 made at test time by the JDK's keytool (an EC P-256 key in a
 * PKCS#12 file, never committed), for the broker ({@code --tls-keystore}) and for Node's TLS servers ({@code pfx}).
 */
final class TestCertificate {
    final Path keystore;
    final String password;
    final X509Certificate certificate;

    private TestCertificate(Path keystore, String password, X509Certificate certificate) {
        this.keystore = keystore;
        this.password = password;
        this.certificate = certificate;
    }

    static TestCertificate generate(Path dir, String name) throws Exception {
        Path file = dir.resolve(name + ".p12");
        String password = Base64.getUrlEncoder().encodeToString(MessageDigest.getInstance("SHA-256")
                .digest((name + System.nanoTime()).getBytes(StandardCharsets.UTF_8))).substring(0, 20);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-sigalg", "SHA256withECDSA",
                "-dname", "CN=127.0.0.1, O=Sluice tests " + name, "-ext", "san=ip:127.0.0.1,dns:localhost", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", file.toString(), "-storepass", password, "-keypass", password)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("keytool failed: " + out);
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            ks.load(in, password.toCharArray());
        }
        return new TestCertificate(file, password, (X509Certificate) ks.getCertificate("server"));
    }

    /**
     * The base64 SHA-256 of the certificate's SubjectPublicKeyInfo: what Chromium's
     * {@code --ignore-certificate-errors-spki-list} takes to trust this one key and no other.
     */
    String spkiSha256() throws Exception {
        return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256")
                .digest(certificate.getPublicKey().getEncoded()));
    }
}
