package io.sluice.server.security;

/**
 * One challenge/response authentication method (MQTT 5 enhanced authentication, section 4.12): the server
 * answers each message of the client with a challenge, a success, or a refusal. A new {@link Exchange} is
 * started per authentication, so implementations keep their per-client state there.
 */
public interface AuthMechanism {
    /** The Authentication Method name, e.g. "SCRAM-SHA-256". */
    String name();

    /** Begin one authentication for this client. */
    Exchange start(Credentials credentials);

    interface Exchange {
        /** The client's Authentication Data (CONNECT, then each AUTH), possibly empty; never blocks. */
        Step respond(byte[] clientData);
    }

    /**
     * What to send next: {@code CHALLENGE} (AUTH 0x18 Continue authentication with {@code data}),
     * {@code SUCCESS} (CONNACK or AUTH 0x00, {@code data} optional), or {@code FAILURE} (0x87 Not authorized).
     * A success may name the {@code login} the exchange established (a verified token's user, expiry and claims);
     * without one the client is logged in by its CONNECT's user name and password as usual.
     */
    record Step(Kind kind, byte[] data, Login login) {
        public enum Kind { CHALLENGE, SUCCESS, FAILURE }

        public static Step challenge(byte[] data) {
            return new Step(Kind.CHALLENGE, data, null);
        }

        public static Step success(byte[] data) {
            return new Step(Kind.SUCCESS, data, null);
        }

        /** Success, with who the client now is and until when. */
        public static Step success(byte[] data, Login login) {
            return new Step(Kind.SUCCESS, data, login);
        }

        public static Step failure() {
            return new Step(Kind.FAILURE, null, null);
        }
    }
}
