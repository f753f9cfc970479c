package io.sluice.server.security;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.cors.CorsConfigBuilder;
import io.netty.handler.codec.http.cors.CorsHandler;
import com.nimbusds.jose.proc.BadJOSEException;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.server.broker.Authorizer;
import io.sluice.server.broker.TopicAccess;
import io.sluice.server.config.Settings;
import org.slf4j.Logger;
import io.sluice.server.security.Authenticator.Decision;
import io.sluice.server.events.Logs;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The one security policy every protocol and transport asks: MQTT and STOMP adapters, the WebSocket upgrade,
 * the HTTP endpoints. It authenticates ({@link #login}), hands out each client's topic rules ({@link #access}),
 * and writes the audit log. Built from the settings; files are reloaded on change off the event loops.
 *
 * <pre>
 *   Login login = security.login(Credentials.of(channel, "stomp", null, login, passcode));
 *   if (!login.allowed()) { refuse; }
 *   TopicAccess access = security.access(clientId, login);   // keep it with the connection
 *   access.mayPublish(topic); access.subscribe(filter); session.reads(access);
 * </pre>
 */
public final class Security implements AutoCloseable {
    private static final Logger log = Logs.get("security");

    private final boolean authenticating;
    private final boolean allowAnonymous;
    private final Authenticator plugin;
    private final Set<String> sysReaders;
    private final List<String> allowedOrigins;
    private final OriginGate origins;
    private final AuditLog audit;
    private final Reloader reloader;
    private TlsContexts tls;
    private volatile PasswordFile passwords;
    private volatile JwtVerifier jwt;
    private volatile Authorizer authorizer;
    private final AuthMechanism tokens = new TokenMechanism(this::login);

    private Security(boolean authenticating, boolean allowAnonymous, Authenticator plugin, Authorizer authorizer,
                     Set<String> sysReaders, List<String> origins, AuditLog audit, Reloader reloader) {
        this.allowedOrigins = List.copyOf(origins);
        this.origins = new OriginGate(origins, audit);
        this.authenticating = authenticating;
        this.allowAnonymous = allowAnonymous;
        this.plugin = plugin;
        this.authorizer = authorizer;
        this.sysReaders = sysReaders;
        this.audit = audit;
        this.reloader = reloader;
    }

    /** No authentication, every topic open: a local development broker. */
    public static Security allowAll() {
        return of(Authenticator.ALLOW_ALL, Authorizer.ALLOW_ALL);
    }

    /** An embedding's own authenticator and authorizer (tests, plugins); $SYS is left to the authorizer. */
    public static Security of(Authenticator authenticator, Authorizer authorizer) {
        return new Security(false, true, authenticator, authorizer, Set.of(), List.of(), new AuditLog(20), null);
    }

    /** The policy the settings describe; a bad file stops start-up with a message naming it. */
    public static Security from(Settings settings) {
        Path passwordFile = settings.get(Settings.PASSWORD_FILE);
        Path aclFile = settings.get(Settings.ACL_FILE);
        boolean authenticating = authenticationConfigured(settings);
        Reloader reloader = new Reloader(settings.get(Settings.SECURITY_RELOAD_INTERVAL));
        Security s = new Security(authenticating, BindPolicy.anonymousAllowed(authenticating,
                settings.get(Settings.ALLOW_ANONYMOUS)), null, Authorizer.ALLOW_ALL,
                Set.copyOf(settings.get(Settings.SYS_READERS)), settings.get(Settings.ALLOWED_ORIGINS), new AuditLog(settings.get(Settings.AUDIT_RATE)), reloader);
        try {
            if (passwordFile != null) {
                s.passwords = PasswordFile.read(passwordFile);
                log.info("password file {}: {} users", passwordFile, s.passwords.size());
                reloader.watch("password file", List.of(passwordFile), f -> s.passwords = PasswordFile.read(f.get(0)));
            }
            s.tls = TlsContexts.from(settings, reloader);
            Path jwtKey = settings.get(Settings.JWT_KEY_FILE);
            if (jwtKey != null) {
                String issuer = settings.get(Settings.JWT_ISSUER);
                String audience = settings.get(Settings.JWT_AUDIENCE);
                String userClaim = settings.get(Settings.JWT_USER_CLAIM);
                s.jwt = JwtVerifier.read(jwtKey, issuer, audience, userClaim);
                log.info("JSON Web Tokens verified with {}{}{}", jwtKey, issuer.isEmpty() ? "" : ", issuer " + issuer,
                        audience.isEmpty() ? "" : ", audience " + audience);
                reloader.watch("JWT key file", List.of(jwtKey),
                        f -> s.jwt = JwtVerifier.read(f.get(0), issuer, audience, userClaim));
            }
            if (aclFile != null) {
                AclFile acl = AclFile.read(aclFile);
                s.authorizer = acl;
                log.info("ACL file {}: {} rules", aclFile, acl.size());
                reloader.watch("ACL file", List.of(aclFile), f -> s.authorizer = AclFile.read(f.get(0)));
            }
        } catch (RuntimeException e) {
            reloader.close();
            throw e;
        }
        return s;
    }

    /** Is some way of authenticating clients configured (so the broker may listen beyond loopback)? */
    public static boolean authenticationConfigured(Settings settings) {
        return settings.get(Settings.PASSWORD_FILE) != null || settings.get(Settings.JWT_KEY_FILE) != null
                || TlsContexts.authenticates(settings);
    }

    public boolean authenticating() {
        return authenticating;
    }

    /** Authenticate one client; refusals are audited. Runs on the caller's event loop, never blocks. */
    public Login login(Credentials c) {
        Login login = decide(c);
        if (!login.allowed()) {
            audit.loginRefused(c, login.reason() == null ? login.decision().name().toLowerCase() : login.reason());
        }
        return login;
    }

    private Login decide(Credentials c) {
        if (plugin != null) {
            return plugin.login(c);
        }
        if (c.certificateUser() != null) {
            // the TLS layer verified the chain (--tls-cert-username): the certificate names the user
            return Login.allow(c.certificateUser());
        }
        if (!authenticating) {
            return Login.allow(c.username());
        }
        if (c.anonymous()) {
            return allowAnonymous ? Login.allow(null)
                    : Login.notAuthorized("anonymous clients are not allowed (--allow-anonymous false)");
        }
        JwtVerifier j = jwt;
        if (j != null && JwtVerifier.looksLikeJwt(c.password())) {
            try {
                JwtVerifier.Verified v = j.verify(c.password());
                return new Login(Decision.ALLOW, v.user(), v.expiresAtMillis(), v.claims(), null);
            } catch (BadJOSEException e) {
                return Login.badCredentials("token refused: " + e.getMessage());
            }
        }
        PasswordFile p = passwords;
        if (p != null && c.username() != null && c.password() != null && p.knows(c.username())) {
            return p.verify(c.username(), c.password()) ? Login.allow(c.username()) : Login.badCredentials("wrong password");
        }
        return Login.badCredentials(c.username() == null ? "no user name" : "unknown user");
    }

    /**
     * Authenticate an HTTP request (the fallback transports, the admin API): {@code Authorization: Bearer
     * TOKEN} or {@code ?token=TOKEN} (a JWT), or {@code Authorization: Basic} (a password file user).
     */
    public Login login(HttpRequest request, Channel channel, String protocol) {
        String user = null;
        byte[] secret = null;
        String auth = request.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (auth != null && auth.regionMatches(true, 0, "Basic ", 0, 6)) {
            try {
                String pair = new String(Base64.getDecoder().decode(auth.substring(6).trim()), StandardCharsets.UTF_8);
                int colon = pair.indexOf(':');
                user = colon < 0 ? pair : pair.substring(0, colon);
                secret = colon < 0 ? null : pair.substring(colon + 1).getBytes(StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return login(new Credentials(protocol, null, null, null, channel.remoteAddress()), "malformed Basic credentials");
            }
        } else {
            String token = OriginGate.token(request);
            secret = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
        }
        return login(new Credentials(protocol, null, user, secret, channel.remoteAddress(),
                Credentials.certificateUser(channel)));
    }

    private Login login(Credentials c, String refusal) {
        Login refused = Login.badCredentials(refusal);
        audit.loginRefused(c, refusal);
        return refused;
    }

    /** The HTTP port's origin check and upgrade-token keeper, one shared handler before the router. */
    public OriginGate originGate() {
        return origins;
    }

    /**
     * The handlers the HTTP port puts before its router: the origin gate, then, once origins are listed, Netty's
     * CORS handler, which answers preflights and adds the CORS headers to responses for those origins only
     * ({@code *}: any origin; without a list, no CORS headers: a page elsewhere cannot read the broker's HTTP
     * answers). Every HTTP endpoint, the fallback transports' included, gets its CORS headers here alone.
     */
    public List<Supplier<ChannelHandler>> httpGates() {
        List<String> listed = allowedOrigins.stream().filter(o -> !o.equals("*")).toList();
        boolean any = allowedOrigins.contains("*");
        if (listed.isEmpty() && !any) {
            return List.of(() -> origins);
        }
        var cors = (any ? CorsConfigBuilder.forAnyOrigin() : CorsConfigBuilder.forOrigins(listed.toArray(String[]::new)))
                .allowedRequestMethods(HttpMethod.GET, HttpMethod.POST, HttpMethod.DELETE, HttpMethod.OPTIONS)
                .allowedRequestHeaders(HttpHeaderNames.AUTHORIZATION, HttpHeaderNames.CONTENT_TYPE, "Last-Event-ID")
                .maxAge(600)
                .build();
        return List.of(() -> origins, () -> new CorsHandler(cors));
    }

    /**
     * The challenge/response mechanism of an MQTT 5 Authentication Method, null when none has that name: an
     * embedding's own, or {@code JWT} (the token as Authentication Data, for re-authentication) once tokens are
     * configured.
     */
    public AuthMechanism mechanism(String method) {
        if (plugin != null) {
            return plugin.mechanism(method);
        }
        return jwt != null && TokenMechanism.NAME.equals(method) ? tokens : null;
    }

    /**
     * The topic rules of a logged-in client: the authorizer's (ACL file), narrowed by the credential's own
     * claims and, once authentication is configured, by $SYS being readable only by {@code --sys-readers}.
     */
    public TopicAccess access(String clientId, Login login) {
        TopicAccess a = authorizer.access(clientId, login.user());
        if (login.claims() != null) {
            a = TopicAccess.both(a, login.claims());
        }
        if (authenticating && (login.user() == null || !sysReaders.contains(login.user()))) {
            a = TopicAccess.both(a, SysTopics.NOT_READABLE);
        }
        return a;
    }

    /** Refusals, denials and TLS handshakes as counters of the metrics endpoint. */
    public void bindMetrics(MeterRegistry registry) {
        FunctionCounter.builder("sluice.security.logins.refused", audit, AuditLog::loginsRefused)
                .description("logins refused: bad credentials, bad or expired tokens, anonymous clients").register(registry);
        FunctionCounter.builder("sluice.security.denials", audit, AuditLog::denials)
                .description("publishes, subscriptions, wills and origins refused by the rules").register(registry);
        if (tls != null) {
            FunctionCounter.builder("sluice.tls.handshakes", tls, TlsContexts::handshakes).tag("outcome", "ok")
                    .description("TLS handshakes").register(registry);
            FunctionCounter.builder("sluice.tls.handshakes", tls, TlsContexts::handshakeFailures).tag("outcome", "failed")
                    .description("TLS handshakes").register(registry);
        }
    }

    /** The TLS listeners' contexts, null when no certificate is configured. */
    public TlsContexts tls() {
        return tls;
    }

    public AuditLog audit() {
        return audit;
    }

    /** Reload every file now (SIGHUP). */
    public void reload() {
        if (reloader != null) {
            reloader.reloadNow();
        }
    }

    public Reloader reloader() {
        return reloader;
    }

    @Override
    public void close() {
        if (reloader != null) {
            reloader.close();
        }
    }
}
