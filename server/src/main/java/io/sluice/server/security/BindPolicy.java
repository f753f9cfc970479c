package io.sluice.server.security;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Where the listeners may bind, the rule Mosquitto 2.0 adopted: nothing is open to a network by accident. With
 * no authentication configured the broker binds to loopback, where anonymous clients are allowed; a
 * non-loopback address without authentication is refused unless anonymous access is asked for explicitly.
 * A pure decision, carried out by the server before it binds anything.
 */
public final class BindPolicy {
    /** The default address while no authentication is configured. */
    public static final String LOOPBACK = "127.0.0.1";
    /** The default address once authentication is configured. */
    public static final String EVERYWHERE = "0.0.0.0";

    private BindPolicy() {
    }

    /**
     * The address to bind.
     *
     * @param bind           the {@code --bind} setting, empty for the default
     * @param authenticating some authentication (password file, JWT, client certificates) is configured
     * @param allowAnonymous {@code --allow-anonymous true} was given
     * @throws IllegalStateException naming the opt-in, for a non-loopback address with no authentication
     */
    public static String host(String bind, boolean authenticating, boolean allowAnonymous) {
        if (bind == null || bind.isBlank()) {
            return authenticating ? EVERYWHERE : LOOPBACK;
        }
        if (!authenticating && !allowAnonymous && !isLoopback(bind)) {
            throw new IllegalStateException("--bind " + bind + " would open the broker to the network with no"
                    + " authentication: configure --password-file or --jwt-key-file, or give --allow-anonymous true"
                    + " to let anyone who reaches it connect");
        }
        return bind;
    }

    /** Anonymous clients may connect: always where no authentication is configured, else only when asked for. */
    public static boolean anonymousAllowed(boolean authenticating, boolean allowAnonymous) {
        return !authenticating || allowAnonymous;
    }

    static boolean isLoopback(String host) {
        try {
            for (InetAddress a : InetAddress.getAllByName(host)) {
                if (!a.isLoopbackAddress()) {
                    return false;
                }
            }
            return true;
        } catch (UnknownHostException e) {
            throw new IllegalStateException("--bind " + host + ": unknown host; give an IP address such as "
                    + LOOPBACK + " or " + EVERYWHERE);
        }
    }
}
