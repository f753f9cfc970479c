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
     */
    record Step(Kind kind, byte[] data) {
        public enum Kind { CHALLENGE, SUCCESS, FAILURE }

        public static Step challenge(byte[] data) {
            return new Step(Kind.CHALLENGE, data);
        }

        public static Step success(byte[] data) {
            return new Step(Kind.SUCCESS, data);
        }

        public static Step failure() {
            return new Step(Kind.FAILURE, null);
        }
    }
}
