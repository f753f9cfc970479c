package io.sluice.server.security;

import io.sluice.server.broker.TopicAccess;

/**
 * The outcome of one login, for every protocol.
 *
 * @param decision      allowed, or why not
 * @param user          who the client is from now on (the verified user name, a token's subject, a
 *                      certificate's name); null for an anonymous client
 * @param expiresAtMillis when the credential stops being valid (epoch milliseconds; the connection is closed
 *                      then), 0 for never
 * @param claims        topic rules that came with the credential (a token's claims), null for none
 * @param reason        why it was refused, for the audit log (never a secret); null when allowed
 */
public record Login(Authenticator.Decision decision, String user, long expiresAtMillis, TopicAccess claims,
                    String reason) {
    public static Login allow(String user) {
        return new Login(Authenticator.Decision.ALLOW, user, 0, null, null);
    }

    public static Login badCredentials(String reason) {
        return new Login(Authenticator.Decision.BAD_CREDENTIALS, null, 0, null, reason);
    }

    public static Login notAuthorized(String reason) {
        return new Login(Authenticator.Decision.NOT_AUTHORIZED, null, 0, null, reason);
    }

    public boolean allowed() {
        return decision == Authenticator.Decision.ALLOW;
    }
}
