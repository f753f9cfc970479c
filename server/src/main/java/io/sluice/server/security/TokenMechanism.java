package io.sluice.server.security;

import java.util.function.Function;

/**
 * MQTT 5 enhanced authentication with a JSON Web Token, Authentication Method {@value #NAME}: the Authentication
 * Data is the token, verified in one step. Its point is re-authentication (MQTT 5 section 4.12.1): a client whose
 * token is about to expire sends AUTH 0x19 with a fresh one and keeps its connection, instead of being closed at
 * the old token's {@code exp}. The token must name the same user as the one the connection logged in with.
 */
final class TokenMechanism implements AuthMechanism {
    static final String NAME = "JWT";

    private final Function<Credentials, Login> login;

    /** {@code login}: the broker's own login, which verifies the token and audits a refusal. */
    TokenMechanism(Function<Credentials, Login> login) {
        this.login = login;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Exchange start(Credentials c) {
        return token -> {
            Login l = login.apply(new Credentials(c.protocol(), c.clientId(), null, token, c.remote()));
            return l.allowed() ? Step.success(null, l) : Step.failure();
        };
    }
}
