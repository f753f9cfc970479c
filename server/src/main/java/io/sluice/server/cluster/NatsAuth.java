package io.sluice.server.cluster;

import io.nats.client.Nats;
import io.nats.client.Options;
import io.sluice.server.config.Settings;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;

/** How this node logs in to NATS: user and password or a .creds file, and TLS verified against a CA file. */
final class NatsAuth {
    private NatsAuth() {
    }

    static void apply(Settings settings, Options.Builder options) {
        String user = settings.get(Settings.CLUSTER_USER);
        if (!user.isEmpty()) {
            options.userInfo(user, settings.get(Settings.CLUSTER_PASSWORD));
        }
        Path creds = settings.get(Settings.CLUSTER_CREDS_FILE);
        if (creds != null) {
            if (!Files.isReadable(creds)) {
                throw new IllegalStateException("cannot read --cluster-creds-file " + creds + "; give a readable NATS .creds file");
            }
            options.authHandler(Nats.credentials(creds.toString()));
        }
        Path ca = settings.get(Settings.CLUSTER_TLS_CA_FILE);
        if (ca != null) {
            options.sslContext(trusting(ca));
        }
    }

    /** A TLS context that trusts the certificate authorities of a PEM file, and nothing else. */
    private static SSLContext trusting(Path ca) {
        try (InputStream in = Files.newInputStream(ca)) {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trust.setCertificateEntry("ca-" + i++, c);
            }
            if (i == 0) {
                throw new IllegalStateException("--cluster-tls-ca-file " + ca + " holds no PEM certificate");
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot read --cluster-tls-ca-file " + ca + " (" + e.getMessage()
                    + "); give a PEM file of CA certificates", e);
        }
    }
}
