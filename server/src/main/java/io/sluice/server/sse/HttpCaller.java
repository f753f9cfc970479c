package io.sluice.server.sse;

import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.sluice.server.broker.TopicAccess;
import io.sluice.server.security.Credentials;
import io.sluice.server.security.Login;
import io.sluice.server.security.Security;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/**
 * Who sent an HTTP request, as the one {@link Security} policy of every protocol sees it, and what it may do.
 * Credentials come from {@code Authorization: Basic} (a user and password from the password file),
 * {@code Authorization: Bearer TOKEN}, or {@code ?token=TOKEN} (an {@code EventSource} cannot set headers);
 * a token travels as the password, as it does on the WebSocket upgrade.
 *
 * @param login  the login's outcome (refusals are audited by {@link Security#login})
 * @param access the caller's topic rules, null when the login was refused
 */
record HttpCaller(Login login, TopicAccess access) {
    static HttpCaller of(Security security, Channel ch, HttpRequest req, String protocol, String clientId) {
        String user = null;
        byte[] secret = null;
        String authorization = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (authorization != null && authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            String pair;
            try {
                pair = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                pair = "";
            }
            int colon = pair.indexOf(':');
            user = colon < 0 ? pair : pair.substring(0, colon);
            secret = colon < 0 ? new byte[0] : pair.substring(colon + 1).getBytes(StandardCharsets.UTF_8);
        } else if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            secret = authorization.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        } else {
            List<String> token = new QueryStringDecoder(req.uri()).parameters().get("token");
            if (token != null && !token.isEmpty()) {
                secret = token.get(0).getBytes(StandardCharsets.UTF_8);
            }
        }
        Login login = security.login(new Credentials(protocol, clientId, user, secret, ch.remoteAddress(),
                Credentials.certificateUser(ch)));
        return new HttpCaller(login, login.allowed() ? security.access(clientId, login) : null);
    }

    boolean allowed() {
        return access != null;
    }

    String user() {
        return login.user();
    }
}
