package io.sluice.protocol.stomp;

import java.util.List;
import java.util.Optional;

/**
 * The STOMP versions Sluice speaks, their negotiation ({@code accept-version}, section "Protocol Negotiation")
 * and their header value encodings, which differ: 1.0 has no escapes at all, 1.1 escapes {@code \n \c \\},
 * 1.2 adds {@code \r}. CONNECT and CONNECTED frames are never escaped, in any version.
 *
 * <p>Netty's codec applies the 1.2 rules to every frame but CONNECT/CONNECTED whatever the version: its
 * decoder unescapes {@code \r \n \c \\} (rejecting other escapes) and its encoder escapes the same four
 * characters. {@link #fromDecoded} and {@link #toEncodable} turn that into each version's exact rules; the
 * codec classes of this package apply them.
 */
public enum StompVersion {
    V1_0("1.0"), V1_1("1.1"), V1_2("1.2");

    private final String token;

    StompVersion(String token) {
        this.token = token;
    }

    /** The version as written in {@code accept-version} and {@code version} headers. */
    public String token() {
        return token;
    }

    public static Optional<StompVersion> of(String token) {
        for (StompVersion v : values()) {
            if (v.token.equals(token.trim())) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }

    /** The supported versions as a CONNECTED/ERROR {@code version} header lists them: "1.0,1.1,1.2". */
    public static String supportedList() {
        return "1.0,1.1,1.2";
    }

    /**
     * The highest version both sides speak. A CONNECT without {@code accept-version} is a 1.0 client.
     * {@code preferred} (the version a WebSocket subprotocol named, or null) wins when the client accepts it.
     * Empty when the client accepts none of ours.
     */
    public static Optional<StompVersion> negotiate(String acceptVersion, StompVersion preferred) {
        if (acceptVersion == null || acceptVersion.isBlank()) {
            return Optional.of(V1_0);
        }
        List<String> offered = List.of(acceptVersion.split(","));
        StompVersion best = null;
        for (String o : offered) {
            Optional<StompVersion> v = of(o);
            if (v.isEmpty()) {
                continue;
            }
            if (v.get() == preferred) {
                return v;
            }
            if (best == null || v.get().compareTo(best) > 0) {
                best = v.get();
            }
        }
        return Optional.ofNullable(best);
    }

    /**
     * A header name or value as this version means it, from what Netty's decoder produced (which applied the
     * 1.2 unescaping). 1.2: unchanged. 1.1: a CR can only come from the 1.2-only {@code \r} escape, which 1.1
     * leaves undefined, so it is refused. 1.0: escapes mean nothing, so Netty's unescaping is undone.
     *
     * @throws IllegalArgumentException naming the bad escape
     */
    public String fromDecoded(String s) {
        switch (this) {
            case V1_2:
                return s;
            case V1_1:
                if (s.indexOf('\r') >= 0) {
                    throw new IllegalArgumentException("the escape \\r is not defined in STOMP 1.1 (only \\n, \\c and \\\\ are)");
                }
                return s;
            default:
                return reescape(s);
        }
    }

    /**
     * A header name or value prepared for Netty's encoder, which escapes 1.2-style. 1.1 cannot represent a CR
     * in a header (no {@code \r} escape), so CRs are dropped; 1.2 needs nothing. 1.0 frames are written by
     * {@link StompFrameEncoder} without escaping, so this is not used for them.
     */
    public String toEncodable(String s) {
        if (this == V1_1 && s.indexOf('\r') >= 0) {
            return s.replace("\r", "");
        }
        return s;
    }

    /** The inverse of Netty's 1.2 unescaping: the octets a 1.0 client actually sent. */
    private static String reescape(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String esc = switch (c) {
                case '\\' -> "\\\\";
                case ':' -> "\\c";
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                default -> null;
            };
            if (esc != null && sb == null) {
                sb = new StringBuilder(s.length() + 8).append(s, 0, i);
            }
            if (sb != null) {
                if (esc != null) {
                    sb.append(esc);
                } else {
                    sb.append(c);
                }
            }
        }
        return sb == null ? s : sb.toString();
    }
}
