package io.sluice.server.security;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.sluice.server.config.Settings;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * The TLS contexts of the {@code mqtts} and HTTPS/WSS listeners, built from the configured files and rebuilt
 * when they change: a new connection gets the newest context, an open one keeps the session it negotiated.
 * BoringSSL (netty-tcnative) where it loads, the JDK's provider elsewhere; TLS 1.3 and 1.2 with the provider's
 * modern cipher defaults; ALPN offers {@code mqtt} on mqtts and {@code http/1.1} on HTTPS.
 */
public final class TlsContexts {
    private final Settings settings;
    private final LongAdder handshakeFailures = new LongAdder();
    private final LongAdder handshakes = new LongAdder();
    private volatile SslContext mqtt;
    private volatile SslContext https;

    private TlsContexts(Settings settings) {
        this.settings = settings;
        build();
    }

    /** The contexts the settings describe, or null when no certificate is configured (TLS listeners off). */
    public static TlsContexts from(Settings settings, Reloader reloader) {
        if (settings.get(Settings.TLS_CERT_FILE) == null && settings.get(Settings.TLS_KEYSTORE) == null) {
            if (settings.get(Settings.TLS_KEY_FILE) != null) {
                throw new IllegalArgumentException("--tls-key-file needs --tls-cert-file");
            }
            return null;
        }
        TlsContexts t = new TlsContexts(settings);
        if (reloader != null) {
            reloader.watch("TLS certificate", t.files(), f -> t.build());
        }
        return t;
    }

    /** Is client-certificate authentication on (need, and the certificate names the user)? */
    public static boolean authenticates(Settings settings) {
        return (settings.get(Settings.TLS_CERT_FILE) != null || settings.get(Settings.TLS_KEYSTORE) != null)
                && settings.get(Settings.TLS_CLIENT_AUTH).equals("need")
                && !settings.get(Settings.TLS_CERT_USERNAME).equals("none");
    }

    private List<Path> files() {
        List<Path> files = new ArrayList<>();
        for (Path p : new Path[] {settings.get(Settings.TLS_CERT_FILE), settings.get(Settings.TLS_KEY_FILE),
                settings.get(Settings.TLS_KEYSTORE), settings.get(Settings.TLS_CA_FILE)}) {
            if (p != null) {
                files.add(p);
            }
        }
        return files;
    }

    private void build() {
        SslContext m = context("mqtt");
        SslContext h = context(ApplicationProtocolNames.HTTP_1_1);
        mqtt = m;
        https = h;
    }

    private SslContext context(String alpn) {
        Path cert = settings.get(Settings.TLS_CERT_FILE);
        Path key = settings.get(Settings.TLS_KEY_FILE);
        Path keystore = settings.get(Settings.TLS_KEYSTORE);
        try {
            SslContextBuilder b;
            if (keystore != null) {
                char[] password = settings.get(Settings.TLS_KEYSTORE_PASSWORD).toCharArray();
                KeyStore ks = KeyStore.getInstance("PKCS12");
                try (InputStream in = Files.newInputStream(keystore)) {
                    ks.load(in, password);
                }
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, password);
                b = SslContextBuilder.forServer(kmf);
            } else {
                if (key == null) {
                    throw new IllegalArgumentException("--tls-cert-file needs --tls-key-file");
                }
                b = SslContextBuilder.forServer(cert.toFile(), key.toFile());
            }
            List<String> protocols = settings.get(Settings.TLS_PROTOCOLS);
            b.sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK)
                    .protocols(protocols.isEmpty() ? List.of("TLSv1.3", "TLSv1.2") : protocols)
                    .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn));
            String clientAuth = settings.get(Settings.TLS_CLIENT_AUTH);
            if (!clientAuth.equals("none")) {
                Path ca = settings.get(Settings.TLS_CA_FILE);
                if (ca == null) {
                    throw new IllegalArgumentException("--tls-client-auth " + clientAuth + " needs --tls-ca-file");
                }
                b.trustManager(ca.toFile()).clientAuth(clientAuth.equals("need") ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
            }
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("TLS: " + describe(e) + " (check --tls-cert-file, --tls-key-file,"
                    + " --tls-keystore, --tls-ca-file)");
        } catch (Exception e) {
            throw new IllegalArgumentException("TLS: cannot load " + (keystore != null ? keystore : cert) + ": " + describe(e));
        }
    }

    private static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == e ? String.valueOf(e.getMessage()) : e.getMessage() + ": " + root.getMessage();
    }

    public SslContext mqtt() {
        return mqtt;
    }

    public SslContext https() {
        return https;
    }

    /** Which implementation serves TLS, for the start-up log. */
    public String provider() {
        return OpenSsl.isAvailable() ? OpenSsl.versionString() + " (netty-tcnative)" : "the JDK";
    }

    void handshake(boolean ok) {
        (ok ? handshakes : handshakeFailures).increment();
    }

    public long handshakes() {
        return handshakes.sum();
    }

    public long handshakeFailures() {
        return handshakeFailures.sum();
    }
}
