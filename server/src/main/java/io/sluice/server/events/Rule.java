package io.sluice.server.events;

/**
 * The protocol rules a client can break, each with the specification's identifier and section: the names strict
 * mode records violations under ({@code [MQTT-3.3.2-2]}, section 3.3.2), and the names the checks that refuse
 * bad input cite. MQTT 3.1.1 and 5.0 number some statements differently, so a rule carries both identifiers;
 * where a specification gives a section but no numbered statement (STOMP 1.2, RFC 6455, some MQTT tables)
 * the identifier is built from the section, so every rule still has one stable name.
 *
 * <p>One constant per rule, grouped by protocol. A check that answers bad input names its rule; a rule that a
 * lenient broker tolerates is marked {@link #toleratedWhenLenient()} and is only checked in strict mode.
 */
public enum Rule {
    // ---- MQTT: packet order and direction (MQTT 5 section 3.1, 4.13; MQTT 3.1.1 section 3.1, 4.8)
    MQTT_FIRST_PACKET_CONNECT(Protocol.MQTT, "MQTT-3.1.0-1", "MQTT-3.1.0-1", "3.1",
            "the first packet a client sends must be CONNECT"),
    MQTT_SECOND_CONNECT(Protocol.MQTT, "MQTT-3.1.0-2", "MQTT-3.1.0-2", "3.1",
            "a second CONNECT on one connection is a protocol violation"),
    MQTT_SERVER_ONLY_PACKET(Protocol.MQTT, "MQTT-2.1.2", "MQTT-2.2.1", "2.1.2",
            "CONNACK, SUBACK, UNSUBACK and PINGRESP flow from server to client only"),
    MQTT_RESERVED_FLAGS(Protocol.MQTT, "MQTT-2.1.3-1", "MQTT-2.2.2-2", "2.1.3",
            "reserved flag bits of the fixed header must have the values the spec lists (SUBSCRIBE, UNSUBSCRIBE, PUBREL: 0010)"),
    MQTT_MALFORMED_PACKET(Protocol.MQTT, "MQTT-4.13", "MQTT-4.8", "4.13",
            "a packet must be well formed (fixed header flags, lengths, UTF-8, properties)"),
    MQTT_LENGTH_PAST_PACKET(Protocol.MQTT, "MQTT-2.1.4", "MQTT-2.2.3", "2.1.4",
            "every length inside a packet (string, binary data, property list, property value) ends within its Remaining Length"),
    MQTT_PROPERTY_INVALID(Protocol.MQTT, "MQTT-2.2.2.2", "MQTT-2.2.2.2", "2.2.2.2",
            "a property must have a known identifier and belong to the packet type that carries it"),
    MQTT_PROPERTY_REPEATED(Protocol.MQTT, "MQTT-2.2.2", "MQTT-2.2.2", "2.2.2 and each packet's property list",
            "a property other than User Property may appear at most once in a property list"),
    MQTT_PACKET_TOO_LARGE(Protocol.MQTT, "MQTT-3.2.2-15", "MQTT-3.2.2-15", "3.2.2.3.6",
            "a client must not send a packet larger than the server's Maximum Packet Size"),

    // ---- MQTT: PUBLISH (section 3.3)
    MQTT_PUBLISH_QOS_3(Protocol.MQTT, "MQTT-3.3.1-4", "MQTT-3.3.1-4", "3.3.1.2",
            "a PUBLISH must not have both QoS bits set"),
    MQTT_PUBLISH_TOPIC_WILDCARD(Protocol.MQTT, "MQTT-3.3.2-2", "MQTT-3.3.2-2", "3.3.2.1",
            "the topic name of a PUBLISH must not contain wildcard characters"),
    MQTT_TOPIC_EMPTY(Protocol.MQTT, "MQTT-4.7.3-1", "MQTT-4.7.3-1", "4.7.3",
            "topic names and topic filters must be at least one character long"),
    MQTT_QOS_ABOVE_MAXIMUM(Protocol.MQTT, "MQTT-3.2.2-11", "MQTT-3.2.2-11", "3.2.2.3.4",
            "a client must not publish at a QoS above the server's Maximum QoS"),
    MQTT_RETAIN_NOT_AVAILABLE(Protocol.MQTT, "MQTT-3.2.2-14", "MQTT-3.2.2-14", "3.2.2.3.5",
            "a client told Retain Available 0 must not publish with RETAIN set"),
    MQTT_TOPIC_ALIAS_ZERO(Protocol.MQTT, "MQTT-3.3.2-8", "MQTT-3.3.2-8", "3.3.2.3.4",
            "a Topic Alias must not be 0"),
    MQTT_TOPIC_ALIAS_ABOVE_MAXIMUM(Protocol.MQTT, "MQTT-3.3.2-9", "MQTT-3.3.2-9", "3.3.2.3.4",
            "a client must not use a Topic Alias above the server's Topic Alias Maximum"),
    MQTT_TOPIC_ALIAS_UNKNOWN(Protocol.MQTT, "MQTT-3.3.2.3.4", "MQTT-3.3.2.3.4", "3.3.2.3.4",
            "an empty topic name needs a Topic Alias the client has defined on this connection"),
    MQTT_RECEIVE_MAXIMUM_EXCEEDED(Protocol.MQTT, "MQTT-3.3.4-7", "MQTT-3.3.4-7", "3.3.4",
            "a client must not have more unacknowledged QoS 1/2 PUBLISHes than the server's Receive Maximum"),
    MQTT_PAYLOAD_FORMAT_INVALID(Protocol.MQTT, "MQTT-3.3.2.3.2", "MQTT-3.3.2.3.2", "3.3.2.3.2",
            "a payload marked as UTF-8 (Payload Format Indicator 1) must be valid UTF-8"),
    MQTT_PUBLISH_SUBSCRIPTION_IDENTIFIER(Protocol.MQTT, "MQTT-3.3.4-6", "MQTT-3.3.4-6", "3.3.4",
            "a PUBLISH from a client must not carry a Subscription Identifier"),
    MQTT_RESPONSE_TOPIC_INVALID(Protocol.MQTT, "MQTT-3.3.2.3.5", "MQTT-3.3.2.3.5", "3.3.2.3.5",
            "a Response Topic must be a topic name (no wildcards)"),

    // ---- MQTT: acknowledgements (section 4.3), tolerated by a lenient broker
    MQTT_ACK_UNKNOWN_PACKET_ID(Protocol.MQTT, "MQTT-4.3.2-4", "MQTT-4.3.2-4", "4.3.2", true,
            "a PUBACK (PUBREC, PUBCOMP) must carry the packet identifier of a PUBLISH (PUBREL) the server sent"),

    // ---- MQTT: SUBSCRIBE and UNSUBSCRIBE (sections 3.8, 3.10, 4.7)
    MQTT_SUBSCRIBE_EMPTY(Protocol.MQTT, "MQTT-3.8.3-2", "MQTT-3.8.3-3", "3.8.3",
            "a SUBSCRIBE must contain at least one topic filter"),
    MQTT_UNSUBSCRIBE_EMPTY(Protocol.MQTT, "MQTT-3.10.3-2", "MQTT-3.10.3-2", "3.10.3",
            "an UNSUBSCRIBE must contain at least one topic filter"),
    MQTT_TOPIC_FILTER_INVALID(Protocol.MQTT, "MQTT-4.7.1-1", "MQTT-4.7.1-2", "4.7.1",
            "'#' must be last and alone in its level, '+' must fill its level"),
    MQTT_SUBSCRIPTION_IDENTIFIER(Protocol.MQTT, "MQTT-3.8.2.1.2", "MQTT-3.8.2.1.2", "3.8.2.1.2",
            "a Subscription Identifier must be 1 to 268,435,455 and sent only to a server that supports them"),
    MQTT_SHARED_NO_LOCAL(Protocol.MQTT, "MQTT-3.8.3-4", "MQTT-3.8.3-4", "3.8.3.1",
            "No Local must not be set on a shared subscription"),

    // ---- MQTT: CONNECT and keep-alive (sections 3.1, 3.1.2.10)
    MQTT_CONNECT_RESERVED_FLAG(Protocol.MQTT, "MQTT-3.1.2-3", "MQTT-3.1.2-3", "3.1.2.3",
            "the reserved CONNECT flag (bit 0) must be 0"),
    MQTT_WILL_QOS_WITHOUT_WILL(Protocol.MQTT, "MQTT-3.1.2-13", "MQTT-3.1.2-13", "3.1.2.6",
            "with Will Flag 0, Will QoS must be 0"),
    MQTT_WILL_QOS_3(Protocol.MQTT, "MQTT-3.1.2-14", "MQTT-3.1.2-14", "3.1.2.6",
            "Will QoS must be 0, 1 or 2"),
    MQTT_WILL_RETAIN_WITHOUT_WILL(Protocol.MQTT, "MQTT-3.1.2-15", "MQTT-3.1.2-15", "3.1.2.7",
            "with Will Flag 0, Will Retain must be 0"),
    MQTT_PASSWORD_WITHOUT_USER_NAME(Protocol.MQTT, "MQTT-3.1.2-22", "MQTT-3.1.2-22", "3.1.2.9 of MQTT 3.1.1",
            "MQTT 3.1.1 only: with User Name Flag 0, Password Flag must be 0 (MQTT 5 allows a password alone)"),
    MQTT_CONNECT_FIELD_WITHOUT_FLAG(Protocol.MQTT, "MQTT-3.1.2-18", "MQTT-3.1.2-20", "3.1.2.9",
            "a CONNECT payload holds no field its flags do not announce (no password without the Password Flag)"),
    MQTT_CONNECT_PROPERTY_VALUE(Protocol.MQTT, "MQTT-3.1.2.11", "MQTT-3.1.2.11", "3.1.2.11",
            "Receive Maximum and Maximum Packet Size must not be 0; Request Problem / Response Information must be 0 or 1"),
    MQTT_CONNECT_INVALID(Protocol.MQTT, "MQTT-3.1", "MQTT-3.1", "3.1",
            "a CONNECT must follow the rules of section 3.1"),
    MQTT_KEEP_ALIVE_LATE(Protocol.MQTT, "MQTT-3.1.2-20", "MQTT-3.1.2-23", "3.1.2.10", true,
            "a client must send a packet (PINGREQ when it has nothing else) within each Keep Alive interval"),
    MQTT_EMPTY_CLIENT_ID_NEEDS_CLEAN_SESSION(Protocol.MQTT, "MQTT-3.1.3-7", "MQTT-3.1.3-7", "3.1.3.1",
            "an MQTT 3.1.1 client with a zero-byte client id must set CleanSession"),
    MQTT_DISCONNECT_SESSION_EXPIRY(Protocol.MQTT, "MQTT-3.14.2.2.2", "MQTT-3.14.2.2.2", "3.14.2.2.2",
            "a DISCONNECT must not set a Session Expiry Interval when CONNECT set 0"),
    MQTT_UNCLASSIFIED(Protocol.MQTT, "MQTT", "MQTT", "4.13",
            "a rule the broker enforces that has no name here yet (see the detail)"),

    // ---- STOMP 1.2 (sections of the specification; it numbers no statements)
    STOMP_FRAME_MALFORMED(Protocol.STOMP, "STOMP-1.2-frames", "STOMP-1.2-frames", "Frames and Headers",
            "a frame is a command line, header lines, a blank line, a body and a NUL"),
    STOMP_FIRST_FRAME_CONNECT(Protocol.STOMP, "STOMP-1.2-connecting", "STOMP-1.2-connecting", "Connecting",
            "the first frame a client sends must be CONNECT or STOMP"),
    STOMP_REQUIRED_HEADER(Protocol.STOMP, "STOMP-1.2-client-frames", "STOMP-1.2-client-frames", "Client Frames",
            "a client frame must carry the headers its command requires (destination, id, transaction...)"),
    STOMP_UNKNOWN_SUBSCRIPTION(Protocol.STOMP, "STOMP-1.2-unsubscribe", "STOMP-1.2-unsubscribe", "UNSUBSCRIBE",
            "an UNSUBSCRIBE, ACK or NACK must name a subscription or message of this connection"),
    STOMP_SUBSCRIPTION_ID_IN_USE(Protocol.STOMP, "STOMP-1.2-subscribe-id", "STOMP-1.2-subscribe-id", "SUBSCRIBE",
            "subscriptions of one connection must use different ids"),
    STOMP_TRANSACTION(Protocol.STOMP, "STOMP-1.2-transactions", "STOMP-1.2-transactions", "BEGIN, COMMIT, ABORT",
            "a transaction is begun once and named by frames only while it is open"),
    STOMP_HEADER_VALUE(Protocol.STOMP, "STOMP-1.2-header-value", "STOMP-1.2-header-value", "Client Frames",
            "a header must have a value its command allows (ack, heart-beat)"),
    STOMP_COMMAND_UNKNOWN(Protocol.STOMP, "STOMP-1.2-commands", "STOMP-1.2-commands", "Client Frames",
            "a client sends only the client commands (not MESSAGE, RECEIPT, ERROR, CONNECTED, nor unknown ones)"),
    STOMP_HEARTBEAT_LATE(Protocol.STOMP, "STOMP-1.2-heart-beating", "STOMP-1.2-heart-beating", "Heart-beating", true,
            "a client that agreed to send heart-beats sends something (a frame or an EOL) within each agreed interval"),
    STOMP_UNCLASSIFIED(Protocol.STOMP, "STOMP-1.2", "STOMP-1.2", "STOMP 1.2",
            "a rule the broker enforces that has no name here yet (see the detail)"),

    // ---- RFC 6455 (WebSocket frames)
    WS_FRAME_INVALID(Protocol.WEBSOCKET, "RFC6455-5.2", "RFC6455-5.2", "5.2",
            "a frame must be well formed: masked from the client (5.1), no reserved bits, control frames short and whole (5.5)"),
    WS_FRAME_TOO_LARGE(Protocol.WEBSOCKET, "RFC6455-7.4.1", "RFC6455-7.4.1", "7.4.1",
            "a frame larger than the server accepts is closed with 1009"),
    WS_TEXT_FRAME_ON_BINARY_PROTOCOL(Protocol.WEBSOCKET, "MQTT-6.0.0-1", "MQTT-6.0.0-1", "MQTT 5 section 6",
            "MQTT over WebSocket must use binary frames"),

    // ---- the HTTP fallback: RFC 9110, the HTML standard's EventSource, and Sluice's documented API
    //      (docs/http-fallback.md), which numbers no statements: the identifier names the endpoint's rule
    HTTP_METHOD_NOT_ALLOWED(Protocol.HTTP, "RFC9110-15.5.6", "RFC9110-15.5.6", "15.5.6 (405 Method Not Allowed)",
            "a request uses a method the resource allows: GET for /sse and /poll, POST (or OPTIONS) for /publish"),
    HTTP_CONTENT_TOO_LARGE(Protocol.HTTP, "RFC9110-15.5.14", "RFC9110-15.5.14", "15.5.14 (413 Content Too Large)",
            "a request body must fit within the server's limit (--http-max-content-length)"),
    HTTP_READER_REQUEST_INVALID(Protocol.HTTP, "SLUICE-HTTP-reader", "SLUICE-HTTP-reader", "docs/http-fallback.md, GET /sse and /poll",
            "a reader names at least one valid, unshared topic filter, envelope=json or none, delta=fossil or none"),
    HTTP_RESUME_ID_UNKNOWN(Protocol.HTTP, "HTML-9.2-Last-Event-ID", "HTML-9.2-Last-Event-ID",
            "HTML Living Standard 9.2 (Server-sent events: Last-Event-ID); since= on /poll", true,
            "Last-Event-ID (or since=) is the id of an event the server sent on this topic set (an unreadable one resumes as a reset)"),
    HTTP_PUBLISH_REQUEST_INVALID(Protocol.HTTP, "SLUICE-HTTP-publish", "SLUICE-HTTP-publish", "docs/http-fallback.md, POST /publish",
            "a publish names a valid topic name, qos 0 or 1, retain true or false");

    /** The specification a rule belongs to. */
    public enum Protocol { MQTT, STOMP, WEBSOCKET, HTTP }

    private final Protocol protocol;
    private final String id;
    private final String id311;
    private final String section;
    private final boolean toleratedWhenLenient;
    private final String summary;

    Rule(Protocol protocol, String id, String id311, String section, String summary) {
        this(protocol, id, id311, section, false, summary);
    }

    Rule(Protocol protocol, String id, String id311, String section, boolean toleratedWhenLenient, String summary) {
        this.protocol = protocol;
        this.id = id;
        this.id311 = id311;
        this.section = section;
        this.toleratedWhenLenient = toleratedWhenLenient;
        this.summary = summary;
    }

    public Protocol protocol() {
        return protocol;
    }

    /** The identifier in MQTT 5.0 (or the only one): {@code MQTT-3.3.2-2}, {@code STOMP-1.2-frames}, {@code RFC6455-5.2}. */
    public String id() {
        return id;
    }

    /** The identifier for a client of the given MQTT protocol level (3 and 4: MQTT 3.1 and 3.1.1; 5: MQTT 5). */
    public String id(int mqttLevel) {
        return mqttLevel > 0 && mqttLevel < 5 ? id311 : id;
    }

    /** The section of the specification (MQTT 5 numbering for MQTT rules). */
    public String section() {
        return section;
    }

    /** Checked only in strict mode: a lenient broker lets the client go on. */
    public boolean toleratedWhenLenient() {
        return toleratedWhenLenient;
    }

    public String summary() {
        return summary;
    }
}
