package io.sluice.server.security;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * What a client presented to log in.
 *
 * @param protocol        "mqtt", "stomp", or an HTTP transport's name
 * @param clientId        the MQTT client id (null for STOMP)
 * @param username        null when absent
 * @param password        null when absent (a token travels here too); not copied, do not keep
 * @param remote          where the connection comes from
 * @param certificateUser the name in the client's verified TLS certificate, null without one
 */
public record Credentials(String protocol, String clientId, String username, byte[] password, SocketAddress remote,
                          String certificateUser) {
    /** A bearer token from the WebSocket upgrade (query {@code ?token=} or {@code Authorization: Bearer}). */
    public static final AttributeKey<String> UPGRADE_TOKEN = AttributeKey.valueOf("sluice.upgradeToken");
    /** The user name taken from the client's verified certificate (mutual TLS). */
    public static final AttributeKey<String> CERTIFICATE_USER = AttributeKey.valueOf("sluice.certificateUser");

    public Credentials(String protocol, String clientId, String username, byte[] password, SocketAddress remote) {
        this(protocol, clientId, username, password, remote, null);
    }

    /**
     * What a client on {@code channel} presented: the protocol's own user name and password, else the token the
     * WebSocket upgrade carried (browsers cannot set headers on a WebSocket), and the certificate's name.
     */
    public static Credentials of(Channel channel, String protocol, String clientId, String username, byte[] password) {
        byte[] secret = password;
        if (secret == null) {
            String token = channel.attr(UPGRADE_TOKEN).get();
            if (token != null) {
                secret = token.getBytes(StandardCharsets.UTF_8);
            }
        }
        return new Credentials(protocol, clientId, username, secret, channel.remoteAddress(),
                channel.attr(CERTIFICATE_USER).get());
    }

    /** No user name, password, token or certificate. */
    public boolean anonymous() {
        return username == null && password == null && certificateUser == null;
    }

    @Override
    public String toString() {
        return "Credentials[" + protocol + ", client " + clientId + ", user " + username + ", " + remote + "]";
    }
}
