package io.sluice.server.admin;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;

/**
 * Who may use the admin API: a pure decision on what the request shows, carried out by {@link AdminApi}.
 *
 * <p>With {@code admin-api loopback} (the default) only clients on this machine's loopback address are served,
 * so a broker listening on every interface does not hand its clients' details and a disconnect button to the
 * network. A request that changes something and carries an {@code Origin} (a browser) must come from a page
 * of the broker itself, so a web page elsewhere cannot use the operator's browser against the API.
 */
public final class AdminAccess {
    /** The answer to one request. */
    public sealed interface Decision permits Allow, Refuse {
    }

    public record Allow() implements Decision {
    }

    /** Refused with this HTTP status and a message that says what to do. */
    public record Refuse(int status, String message) implements Decision {
    }

    private static final Allow ALLOW = new Allow();

    /** How the API is exposed: {@code loopback} or {@code off}. */
    private final String mode;

    public AdminAccess(String mode) {
        this.mode = mode;
    }

    /**
     * {@code changes}: the request modifies the broker (DELETE, POST); {@code origin} and {@code host}: the
     * request's headers, null when absent.
     */
    public Decision decide(SocketAddress remote, boolean changes, String origin, String host) {
        if ("off".equals(mode)) {
            return new Refuse(403, "the admin API is switched off (--admin-api off)");
        }
        if (!(remote instanceof InetSocketAddress a) || a.getAddress() == null || !a.getAddress().isLoopbackAddress()) {
            return new Refuse(403, "the admin API answers clients on this machine's loopback address only "
                    + "(--admin-api loopback); connect from the broker's host, e.g. through an SSH tunnel");
        }
        if (changes && origin != null && !sameOrigin(origin, host)) {
            return new Refuse(403, "cross-origin request refused: origin " + origin + " is not this broker");
        }
        return ALLOW;
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
