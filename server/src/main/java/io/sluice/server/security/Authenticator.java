package io.sluice.server.security;

/**
 * Decides who may connect, for every protocol: MQTT CONNECT user name and password, STOMP login and passcode;
 * and, once connected, what each client may publish to and subscribe to. Implementations run on a
 * connection's event loop and must not block.
 */
public interface Authenticator {
    /** Lets everyone in: the default until a real mechanism is configured. */
    Authenticator ALLOW_ALL = credentials -> Decision.ALLOW;

    enum Decision {
        ALLOW,
        /** Unknown user or wrong password (MQTT 5 0x86, 3.1.1 return code 4, STOMP ERROR). */
        BAD_CREDENTIALS,
        /** Known, but not allowed to connect (MQTT 5 0x87, 3.1.1 return code 5). */
        NOT_AUTHORIZED
    }

    /** A plain login; {@code username} and {@code password} are null when the client sent none. */
    Decision login(Credentials credentials);

    /**
     * The challenge/response mechanism registered under an MQTT 5 Authentication Method (section 4.12), or
     * null when this authenticator has none of that name.
     */
    default AuthMechanism mechanism(String method) {
        return null;
    }

    /**
     * May this client publish to the topic? Refused: MQTT 5 PUBACK/PUBREC 0x87 Not authorized (MQTT 3.1.1,
     * which has no negative acknowledgement, gets its usual one and the message goes nowhere).
     */
    default boolean mayPublish(Credentials client, String topic) {
        return true;
    }

    /** May this client subscribe to the filter? Refused: SUBACK 0x87 (MQTT 3.1.1: 0x80 Failure). */
    default boolean maySubscribe(Credentials client, String filter) {
        return true;
    }
}
