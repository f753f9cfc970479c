package io.sluice.server.security;

import io.sluice.server.broker.Authorizer;
import io.sluice.server.broker.TopicAccess;
import io.sluice.server.config.Settings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

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
    private static final Logger log = LoggerFactory.getLogger("security");

    private final boolean authenticating;
    private final boolean allowAnonymous;
    private final Authenticator plugin;
    private final Set<String> sysReaders;
    private final AuditLog audit;
    private final Reloader reloader;
    private volatile PasswordFile passwords;
    private volatile Authorizer authorizer;

    private Security(boolean authenticating, boolean allowAnonymous, Authenticator plugin, Authorizer authorizer,
                     Set<String> sysReaders, AuditLog audit, Reloader reloader) {
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
        return new Security(false, true, authenticator, authorizer, Set.of(), new AuditLog(20), null);
    }

    /** The policy the settings describe; a bad file stops start-up with a message naming it. */
    public static Security from(Settings settings) {
        Path passwordFile = settings.get(Settings.PASSWORD_FILE);
        Path aclFile = settings.get(Settings.ACL_FILE);
        boolean authenticating = authenticationConfigured(settings);
        Reloader reloader = new Reloader(settings.get(Settings.SECURITY_RELOAD_INTERVAL));
        Security s = new Security(authenticating, BindPolicy.anonymousAllowed(authenticating,
                settings.get(Settings.ALLOW_ANONYMOUS)), null, Authorizer.ALLOW_ALL,
                Set.copyOf(settings.get(Settings.SYS_READERS)), new AuditLog(settings.get(Settings.AUDIT_RATE)), reloader);
        try {
            if (passwordFile != null) {
                s.passwords = PasswordFile.read(passwordFile);
                log.info("password file {}: {} users", passwordFile, s.passwords.size());
                reloader.watch("password file", List.of(passwordFile), f -> s.passwords = PasswordFile.read(f.get(0)));
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
        return settings.get(Settings.PASSWORD_FILE) != null;
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
        if (!authenticating) {
            return Login.allow(c.username());
        }
        if (c.anonymous()) {
            return allowAnonymous ? Login.allow(null)
                    : Login.notAuthorized("anonymous clients are not allowed (--allow-anonymous false)");
        }
        PasswordFile p = passwords;
        if (p != null && c.username() != null && c.password() != null && p.knows(c.username())) {
            return p.verify(c.username(), c.password()) ? Login.allow(c.username()) : Login.badCredentials("wrong password");
        }
        return Login.badCredentials(c.username() == null ? "no user name" : "unknown user");
    }

    /** The challenge/response mechanism of an MQTT 5 Authentication Method, null when none has that name. */
    public AuthMechanism mechanism(String method) {
        return plugin == null ? null : plugin.mechanism(method);
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
