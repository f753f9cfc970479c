package io.sluice.server.events;

import java.time.Instant;
import java.util.HexFormat;

/**
 * One rule one client broke, as strict mode records it.
 *
 * @param ruleId    the identifier for the client's protocol version ({@link Rule#id(int)})
 * @param protocol  the protocol module serving the connection ("mqtt", "stomp")
 * @param transport "tcp" or "ws"
 * @param clientId  the client identifier (MQTT) or login (STOMP), null before the client named itself
 * @param bytes     the offending packet or frame, or its first {@link #MAX_BYTES} bytes; empty when unknown
 */
public record Violation(Instant time, Rule rule, String ruleId, String protocol, String transport, String remote,
                        String clientId, String detail, byte[] bytes) {
    /** Bytes kept of an offending packet: enough for its headers and the start of its payload. */
    public static final int MAX_BYTES = 256;

    /** {@code [MQTT-3.3.2-2] (MQTT 3.3.2.1) mqtt tcp /127.0.0.1:5000 client 'c1': detail; bytes: 30 07 00 ...}. */
    public String describe() {
        return "[" + ruleId + "] (" + rule.protocol() + " " + rule.section() + ") " + protocol + " " + transport + " "
                + remote + " client " + (clientId == null ? "(unnamed)" : "'" + clientId + "'") + ": " + detail
                + (bytes.length == 0 ? "" : "; bytes: " + hex());
    }

    /** The offending bytes as space-separated hex. */
    public String hex() {
        return HexFormat.ofDelimiter(" ").formatHex(bytes);
    }
}
