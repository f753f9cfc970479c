package io.sluice.server.events;

import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.AttributeKey;

import java.nio.charset.StandardCharsets;

/**
 * Where the HTTP side of the server (the transport's HTTP codec, the fallback's {@code /sse}, {@code /poll} and
 * {@code /publish}) reports a rule a client broke. Strict mode attaches one to each connection it watches; without
 * it, {@link #report} is a no-op, and the client gets the same answer (a 4xx) either way. MQTT and STOMP
 * connections report through their protocol probe instead, which also quotes the packet.
 */
public interface RuleBreaches {
    AttributeKey<RuleBreaches> KEY = AttributeKey.valueOf("sluice.rule-breaches");

    /** Record one breach; {@code bytes} quotes what the client sent (at most {@link Violation#MAX_BYTES} kept). */
    void breached(Rule rule, String protocol, String transport, String remote, String clientId, String detail,
                  byte[] bytes);

    /** The client on {@code channel} broke {@code rule} with {@code request}: recorded in strict mode. */
    static void report(Channel channel, Rule rule, String protocol, String clientId, String detail,
                       HttpRequest request) {
        RuleBreaches breaches = channel.hasAttr(KEY) ? channel.attr(KEY).get() : null;
        if (breaches != null) {
            breaches.breached(rule, protocol, "http", String.valueOf(channel.remoteAddress()), clientId, detail,
                    quote(request));
        }
    }

    /** The request line and headers as they would be sent, cut at {@link Violation#MAX_BYTES}. */
    static byte[] quote(HttpRequest request) {
        if (request == null) {
            return new byte[0];
        }
        // a JSON Web Token may ride in the query string (?token=): never quoted
        String uri = request.uri().replaceAll("([?&]token=)[^&]*", "$1(hidden)");
        StringBuilder sb = new StringBuilder(128).append(request.method()).append(' ').append(uri)
                .append(' ').append(request.protocolVersion()).append("\r\n");
        HttpHeaders headers = request.headers();
        headers.forEach(h -> {
            boolean secret = h.getKey().equalsIgnoreCase("Authorization") || h.getKey().equalsIgnoreCase("Cookie");
            sb.append(h.getKey()).append(": ").append(secret ? "(hidden)" : h.getValue()).append("\r\n");
        });
        byte[] all = sb.toString().getBytes(StandardCharsets.UTF_8);
        return all.length <= Violation.MAX_BYTES ? all : java.util.Arrays.copyOf(all, Violation.MAX_BYTES);
    }
}
