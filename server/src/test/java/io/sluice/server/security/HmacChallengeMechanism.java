package io.sluice.server.security;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Map;

/**
 * A challenge/response mechanism on a shared secret per user, which never sends the secret: the client names
 * the user, the server answers a random 32-byte challenge, the client proves it knows the secret with
 * HMAC-SHA256(secret, challenge). Method name {@value #NAME}. It shows the {@link AuthMechanism} contract
 * end to end; production deployments would add a standard one such as SCRAM.
 */
public final class HmacChallengeMechanism implements AuthMechanism {
    public static final String NAME = "SLUICE-HMAC-SHA256";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Map<String, byte[]> secrets;

    /** {@code secrets}: user name to shared secret. */
    public HmacChallengeMechanism(Map<String, byte[]> secrets) {
        this.secrets = Map.copyOf(secrets);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Exchange start(Credentials credentials) {
        return new Exchange() {
            private byte[] secret;
            private byte[] challenge;

            @Override
            public Step respond(byte[] clientData) {
                if (challenge == null) {
                    secret = secrets.get(new String(clientData, StandardCharsets.UTF_8));
                    if (secret == null) {
                        return Step.failure();
                    }
                    challenge = new byte[32];
                    RANDOM.nextBytes(challenge);
                    return Step.challenge(challenge.clone());
                }
                return MessageDigest.isEqual(hmac(secret, challenge), clientData) ? Step.success(null) : Step.failure();
            }
        };
    }

    /** HMAC-SHA256, also what a client computes. */
    public static byte[] hmac(byte[] secret, byte[] challenge) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return mac.doFinal(challenge);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }

    /** An authenticator that allows plain logins and offers this mechanism. */
    public Authenticator asAuthenticator() {
        return new Authenticator() {
            @Override
            public Login login(Credentials credentials) {
                return Login.allow(credentials.username());
            }

            @Override
            public AuthMechanism mechanism(String method) {
                return NAME.equals(method) ? HmacChallengeMechanism.this : null;
            }
        };
    }
}
