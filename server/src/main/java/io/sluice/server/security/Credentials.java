package io.sluice.server.security;

import java.net.SocketAddress;

/**
 * What a client presented to log in.
 *
 * @param protocol "mqtt" or "stomp"
 * @param clientId the MQTT client id (null for STOMP)
 * @param username null when absent
 * @param password null when absent; not copied, do not keep
 * @param remote   where the connection comes from
 */
public record Credentials(String protocol, String clientId, String username, byte[] password, SocketAddress remote) {
    @Override
    public String toString() {
        return "Credentials[" + protocol + ", client " + clientId + ", user " + username + ", " + remote + "]";
    }
}
