package io.sluice.server.broker;

/**
 * Decides what a logged-in client may do with topics, for every protocol alike (MQTT, STOMP, the HTTP
 * transports). The core owns this interface; an ACL file or token claims implement it outside. Asked once per
 * login: the {@link TopicAccess} it returns is kept by the connection, so no decision reads a file or blocks
 * on the publish path.
 */
public interface Authorizer {
    /** Everything allowed: the default while nothing is configured. */
    Authorizer ALLOW_ALL = (clientId, user) -> TopicAccess.ALL;

    /**
     * The rules of one client.
     *
     * @param clientId the MQTT client id, or the connection's id for protocols without one
     * @param user     the authenticated user name, null for an anonymous client
     */
    TopicAccess access(String clientId, String user);
}
