package io.sluice.server.security;

/**
 * Decides who may connect, for every protocol: MQTT CONNECT user name and password, STOMP login and passcode,
 * a token on a WebSocket upgrade or HTTP request. Implementations run on a connection's event loop and must
 * not block. What a client may then do with topics is the core's {@link io.sluice.server.broker.Authorizer}.
 */
public interface Authenticator {
    /** Lets everyone in under the user name they give: the default until a real mechanism is configured. */
    Authenticator ALLOW_ALL = credentials -> Login.allow(credentials.username());

    enum Decision {
        ALLOW,
        /** Unknown user, wrong password, bad or expired token (MQTT 5 0x86, 3.1.1 return code 4, STOMP ERROR). */
        BAD_CREDENTIALS,
        /** Known, or anonymous, but not allowed to connect (MQTT 5 0x87, 3.1.1 return code 5, STOMP ERROR). */
        NOT_AUTHORIZED
    }

    /** A plain login; {@code username} and {@code password} are null when the client sent none. */
    Login login(Credentials credentials);

    /**
     * The challenge/response mechanism registered under an MQTT 5 Authentication Method (section 4.12), or
     * null when this authenticator has none of that name.
     */
    default AuthMechanism mechanism(String method) {
        return null;
    }
}
