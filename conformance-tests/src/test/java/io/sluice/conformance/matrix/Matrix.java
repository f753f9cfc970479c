package io.sluice.conformance.matrix;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The results of this run, cell by cell, and their rendering as a Markdown table. Tests record into it
 * (through {@link Cells}); {@link MatrixReport} prints and writes it when the test plan ends.
 */
public final class Matrix {
    private static final Map<String, Map<Feature, Outcome>> RESULTS = new ConcurrentHashMap<>();
    private static final Map<String, String> CLIENT_VERSIONS = new ConcurrentHashMap<>();

    private Matrix() {
    }

    public static void record(Row row, Feature feature, Outcome outcome) {
        RESULTS.computeIfAbsent(row.id(), k -> new ConcurrentHashMap<>()).put(feature, outcome);
    }

    /** A client's version as the run found it, for the table's legend ("mqtt" -> "5.16.0"). */
    public static void clientVersion(String client, String version) {
        CLIENT_VERSIONS.put(client, version);
    }

    public static boolean isEmpty() {
        return RESULTS.isEmpty();
    }

    /** The outcome of a cell; null when the run did not reach it. */
    public static Outcome outcome(Row row, Feature feature) {
        if (!row.applies(feature)) {
            return new Outcome(Outcome.Kind.NOT_APPLICABLE, "");
        }
        Map<Feature, Outcome> r = RESULTS.get(row.id());
        return r == null ? null : r.get(feature);
    }

    /** Whether every applicable cell of every row has an outcome (a full run, not a filtered one). */
    public static boolean complete() {
        for (Row row : Catalog.rows()) {
            for (Feature f : row.features()) {
                if (outcome(row, f) == null) {
                    return false;
                }
            }
        }
        return true;
    }

    public static Map<Outcome.Kind, Integer> counts() {
        Map<Outcome.Kind, Integer> counts = new EnumMap<>(Outcome.Kind.class);
        for (Row row : Catalog.rows()) {
            for (Feature f : row.features()) {
                Outcome o = outcome(row, f);
                if (o != null) {
                    counts.merge(o.kind(), 1, Integer::sum);
                }
            }
        }
        return counts;
    }

    public static String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("# Compatibility matrix\n\n")
                .append("Written by `mvn verify` (module `conformance-tests`) from what that run measured: each cell is a real\n")
                .append("client driving an in-process Sluice on 127.0.0.1. **pass**: the check ran and passed; **FAIL**: it ran\n")
                .append("and failed; **not built**: the broker does not offer what the check needs yet, so it did not run;\n")
                .append("**skipped**: the client is not installed on the machine that ran it; **—**: not applicable to this\n")
                .append("client or not part of its checks. The checks are listed below the table.\n\n");
        sb.append("| client | transport |");
        for (Feature f : Feature.values()) {
            sb.append(' ').append(f.title()).append(" |");
        }
        sb.append("\n|---|---|");
        sb.append("---|".repeat(Feature.values().length)).append('\n');
        for (Row row : Catalog.rows()) {
            sb.append("| ").append(row.client()).append(" | ").append(row.transport()).append(" |");
            for (Feature f : Feature.values()) {
                Outcome o = outcome(row, f);
                String label = o == null ? "not run" : o.kind().label();
                boolean plain = o != null && (o.kind() == Outcome.Kind.PASS || o.kind() == Outcome.Kind.NOT_APPLICABLE);
                sb.append(' ').append(plain ? label : "**" + label + "**")
                        .append(" |");
            }
            sb.append('\n');
        }
        Map<Outcome.Kind, Integer> counts = counts();
        sb.append("\nTotals: ");
        List<String> parts = new ArrayList<>();
        for (Outcome.Kind k : Outcome.Kind.values()) {
            if (k != Outcome.Kind.NOT_APPLICABLE) {
                parts.add(counts.getOrDefault(k, 0) + " " + k.label());
            }
        }
        sb.append(String.join(", ", parts)).append(".\n");
        List<String> skipped = notRunReasons();
        if (!skipped.isEmpty()) {
            sb.append("\nNot run on this machine:\n\n");
            skipped.forEach(reason -> sb.append("- ").append(reason).append('\n'));
        }
        if (!CLIENT_VERSIONS.isEmpty()) {
            sb.append("\nClient versions in this run: ");
            List<String> versions = new ArrayList<>();
            new TreeMap<>(CLIENT_VERSIONS).forEach((k, v) -> versions.add(k + " " + v));
            sb.append(String.join(", ", versions)).append(".\n");
        }
        sb.append("\n## The checks\n\n")
                .append("- **connect (clean)**: CONNECT/CONNACK (STOMP: CONNECTED with the version of the subprotocol), no session present.\n")
                .append("- **connect (persistent)**: clean session 0 / clean start 0 with a session expiry; session present on the second connect.\n")
                .append("- **wildcard subscribe**: `+` and `#` filters (STOMP: in `/topic/` destinations) get matching topics and not others.\n")
                .append("- **QoS 0/1/2**: publish and receive at that QoS in both directions (STOMP: QoS 0 = `ack:auto`, QoS 1 = `ack:client-individual` (1.0: `client`) with ACKs and SEND receipts).\n")
                .append("- **retained**: a retained message reaches a later subscriber with the retain flag and an empty payload clears it (STOMP: a retained MQTT message reaches a new `/topic/` subscriber).\n")
                .append("- **will**: the will is published when the connection is lost without DISCONNECT, not after a DISCONNECT.\n")
                .append("- **resume with queued QoS 1**: QoS 1 messages published while a persistent session is offline arrive, in order, when it resumes (STOMP: messages sent to a `/queue/` without consumers reach a later subscriber).\n")
                .append("- **MQTT ↔ STOMP**: an MQTT publish reaches a STOMP `/topic/` subscriber and a STOMP SEND reaches an MQTT subscriber (MQTT.js with MQTT 5 also checks Content Type, user properties, Response Topic and Correlation Data against `content-type`, custom headers, `reply-to` and `correlation-id`, both ways).\n")
                .append("- **ping / heart-beat**: keep-alive of 2 s for 5 s, then a round trip on the same connection (mosquitto: keep-alive 5 s, its minimum, until a PINGRESP; STOMP 1.1/1.2: 1 s heart-beats both ways).\n")
                .append("- **refused bad input**: MQTT.js publishes to a wildcard topic; the Java clients and mosquitto (3.1.1) publish a packet over `max-packet-size` (MQTT 5 clients that honour the advertised Maximum Packet Size refuse it themselves, which the detail says); mosquitto (5) uses a topic alias over the Topic Alias Maximum; stomp.js sends to an invalid destination. The broker refuses (closes, with DISCONNECT or ERROR where the protocol has one) and keeps serving new connections.\n")
                .append("\nThe mosquitto rows are TCP only: Debian 12's `mosquitto_pub`/`mosquitto_sub` have no WebSocket transport.\n")
                .append("The Java clients' STOMP peer is Netty's STOMP codec over the STOMP TCP listener; the Node and browser clients' is stomp.js over WebSocket.\n")
                .append("The Chromium row runs the MQTT.js checks of the Node rows inside the page (MQTT 5 over WebSocket, the browser's own WebSocket), and its connect check also connects MQTT.js with MQTT 3.1.1 and stomp.js with its default subprotocols.\n")
                .append("The wss:// row runs the same checks in Chromium over HTTPS/WSS, each connection with a JSON Web Token (HS256) in `?token=` on the upgrade (a browser cannot set WebSocket headers). The certificate is made at test time with keytool for 127.0.0.1; Chromium trusts it by its key alone (`--ignore-certificate-errors-spki-list` with the SHA-256 of that certificate's public key, not `--ignore-certificate-errors`), and its connect check also shows that same browser refusing a TLS server with another key, and the broker refusing a tampered token (MQTT.js: CONNACK 0x86; stomp.js: ERROR) and no token (CONNACK 0x87).\n")
                .append("\n## Ordering across connections\n\nMQTT orders the packets of one connection only. Eclipse Paho's interoperability suites (`test_request_response`, `test_subscribe_options`) publish on one connection right after another connection's SUBSCRIBE, without waiting for its SUBACK, so they fail now and then on a broker that may read the two sockets in either order. Measured with `java -jar benchmarks/target/benchmarks.jar subscribe-race --port N --trials 500` (connection A writes SUBSCRIBE, connection B writes a QoS 1 PUBLISH to the same topic in the same event-loop turn; missed: A has its SUBACK and no message 1 s later), on the shared 2-core machine: Sluice with its default I/O threads missed 77 of 500 (15.4%), Sluice with `--io-threads 1` 11 of 500 (2.2%), Mosquitto 2.0.11 59 of 500 (11.8%). A SUBSCRIBE is applied to the trie in the same call that reads it, so the only gap is which socket a thread reads first; no cheap way orders reads across sockets the kernel delivers to different threads, and single-threaded Mosquitto races the same way when the two writes are this close. A suite that needs the order should wait for the SUBACK; `--io-threads 1` makes the race rarer.\n");
        return sb.toString();
    }

    /** Why rows were skipped or not built, once per row and reason. */
    public static List<String> notRunReasons() {
        List<String> out = new ArrayList<>();
        for (Row row : Catalog.rows()) {
            for (Feature f : row.features()) {
                Outcome o = outcome(row, f);
                if (o != null && (o.kind() == Outcome.Kind.SKIPPED || o.kind() == Outcome.Kind.NOT_BUILT)) {
                    String line = row + ": " + o.kind().label() + ", " + o.detail();
                    if (!out.contains(line)) {
                        out.add(line);
                    }
                }
            }
        }
        return out;
    }

    /** Cells that failed, with their details, for the end-of-run printout. */
    public static List<String> failures() {
        List<String> out = new ArrayList<>();
        for (Row row : Catalog.rows()) {
            for (Feature f : row.features()) {
                Outcome o = outcome(row, f);
                if (o != null && o.kind() == Outcome.Kind.FAIL) {
                    out.add(row + " / " + f.title() + ": " + o.detail());
                }
            }
        }
        return out;
    }
}
