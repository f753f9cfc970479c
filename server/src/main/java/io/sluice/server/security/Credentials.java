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
     * The certificate's user name on {@code channel}, null without one. Asked with {@code hasAttr} first: Netty's
     * {@code attr(key)} adds the key to the channel even to read it, and every connection would keep it.
     */
    public static String certificateUser(Channel channel) {
        return channel.hasAttr(CERTIFICATE_USER) ? channel.attr(CERTIFICATE_USER).get() : null;
    }

    /**
     * What a client on {@code channel} presented: the protocol's own user name and password, else the token the
     * WebSocket upgrade carried (browsers cannot set headers on a WebSocket), and the certificate's name.
     */
    public static Credentials of(Channel channel, String protocol, String clientId, String username, byte[] password) {
        byte[] secret = password;
        if (secret == null) {
            String token = channel.hasAttr(UPGRADE_TOKEN) ? channel.attr(UPGRADE_TOKEN).get() : null;
            if (token != null) {
                secret = token.getBytes(StandardCharsets.UTF_8);
            }
        }
        return new Credentials(protocol, clientId, username, secret, channel.remoteAddress(),
                certificateUser(channel));
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
