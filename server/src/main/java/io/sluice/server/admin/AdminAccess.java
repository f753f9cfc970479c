package io.sluice.server.admin;

import io.sluice.server.security.Credentials;
import io.sluice.server.security.Login;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Set;
import java.util.function.Function;

/**
 * Who may use the admin API: a pure decision on what the request shows, carried out by {@link AdminApi}.
 *
 * <ul>
 *   <li>{@code off}: nobody.</li>
 *   <li>{@code loopback} (the default): clients on this machine's loopback address only, so a broker listening
 *   on every interface does not hand its clients' details and a disconnect button to the network. Once
 *   authentication is configured, they must also log in (HTTP Basic, the password file) as a user holding the
 *   admin role ({@code --admin-users}), so another account on the same machine cannot steer the broker.</li>
 *   <li>{@code users}: such a user, from any address (put TLS in front).</li>
 * </ul>
 * Wrong or missing credentials get 401 (with a Basic challenge, so a browser asks), a user without the admin
 * role 403. A request that changes something and carries an {@code Origin} (a browser) must come from a page of
 * the broker itself, so a web page elsewhere cannot use the operator's browser against the API.
 */
public final class AdminAccess {
    /** The answer to one request. */
    public sealed interface Decision permits Allow, Refuse {
    }

    /** Allowed; {@code user} is who logged in, null on an unauthenticated loopback broker. */
    public record Allow(String user) implements Decision {
    }

    /** Refused with this HTTP status and a message that says what to do. */
    public record Refuse(int status, String message) implements Decision {
    }

    public static final String CHALLENGE = "Basic realm=\"Sluice admin\", charset=\"UTF-8\"";

    private final String mode;
    private final boolean authenticating;
    private final Set<String> adminUsers;
    private final Function<Credentials, Login> login;

    /** No authentication configured: loopback or off. */
    public AdminAccess(String mode) {
        this(mode, false, Set.of(), c -> Login.allow(c.username()));
    }

    /**
     * {@code authenticating}: the broker authenticates clients (a password file); {@code login} checks
     * credentials as it does for every protocol.
     */
    public AdminAccess(String mode, boolean authenticating, Set<String> adminUsers, Function<Credentials, Login> login) {
        if ("users".equals(mode) && (!authenticating || adminUsers.isEmpty())) {
            throw new IllegalStateException("--admin-api users needs authentication (--password-file) and at least one "
                    + "user in --admin-users");
        }
        this.mode = mode;
        this.authenticating = authenticating;
        this.adminUsers = Set.copyOf(adminUsers);
        this.login = login;
    }

    /**
     * {@code changes}: the request modifies the broker (DELETE, POST); {@code authorization}, {@code origin} and
     * {@code host}: the request's headers, null when absent.
     */
    public Decision decide(SocketAddress remote, boolean changes, String authorization, String origin, String host) {
        if ("off".equals(mode)) {
            return new Refuse(403, "the admin API is switched off (--admin-api off)");
        }
        boolean loopback = remote instanceof InetSocketAddress a && a.getAddress() != null
                && a.getAddress().isLoopbackAddress();
        if ("loopback".equals(mode) && !loopback) {
            return new Refuse(403, "the admin API answers clients on this machine's loopback address only "
                    + "(--admin-api loopback); connect from the broker's host, e.g. through an SSH tunnel");
        }
        String user = null;
        if (authenticating) {
            String[] basic = basic(authorization);
            if (basic == null) {
                return new Refuse(401, "log in with the user name and password of an admin user (--admin-users)");
            }
            Login l = login.apply(new Credentials("admin", null, basic[0], basic[1].getBytes(StandardCharsets.UTF_8), remote));
            if (!l.allowed()) {
                return new Refuse(401, "wrong user name or password");
            }
            if (!adminUsers.contains(l.user())) {
                return new Refuse(403, "user " + l.user() + " does not hold the admin role (--admin-users)");
            }
            user = l.user();
        }
        if (changes && origin != null && !sameOrigin(origin, host)) {
            return new Refuse(403, "cross-origin request refused: origin " + origin + " is not this broker");
        }
        return new Allow(user);
    }

    /** The user name and password of an HTTP Basic Authorization header (RFC 7617), null when there is none. */
    private static String[] basic(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            return null;
        }
        try {
            String pair = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
            int colon = pair.indexOf(':');
            return colon < 0 ? null : new String[] {pair.substring(0, colon), pair.substring(colon + 1)};
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static boolean sameOrigin(String origin, String host) {
        if (host == null) {
            return false;
        }
        try {
            URI u = URI.create(origin);
            String authority = u.getAuthority();
            return authority != null && authority.equalsIgnoreCase(host);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
