package io.sluice.protocol.mqtt;

/**
 * MQTT 5 reason codes (section 2.4) the broker sends, with what each becomes for MQTT 3.1 and 3.1.1, whose
 * CONNACK has only return codes 0 to 5 (3.1.1 section 3.2.2.3) and whose other packets carry no reason at all.
 */
public enum ReasonCode {
    SUCCESS(0x00, "Success", 0x00),
    GRANTED_QOS_1(0x01, "Granted QoS 1", -1),
    GRANTED_QOS_2(0x02, "Granted QoS 2", -1),
    DISCONNECT_WITH_WILL(0x04, "Disconnect with Will Message", -1),
    NO_MATCHING_SUBSCRIBERS(0x10, "No matching subscribers", -1),
    NO_SUBSCRIPTION_EXISTED(0x11, "No subscription existed", -1),
    CONTINUE_AUTHENTICATION(0x18, "Continue authentication", -1),
    REAUTHENTICATE(0x19, "Re-authenticate", -1),
    UNSPECIFIED_ERROR(0x80, "Unspecified error", -1),
    MALFORMED_PACKET(0x81, "Malformed Packet", -1),
    PROTOCOL_ERROR(0x82, "Protocol Error", -1),
    IMPLEMENTATION_SPECIFIC_ERROR(0x83, "Implementation specific error", -1),
    UNSUPPORTED_PROTOCOL_VERSION(0x84, "Unsupported Protocol Version", 0x01),
    CLIENT_IDENTIFIER_NOT_VALID(0x85, "Client Identifier not valid", 0x02),
    BAD_USER_NAME_OR_PASSWORD(0x86, "Bad User Name or Password", 0x04),
    NOT_AUTHORIZED(0x87, "Not authorized", 0x05),
    SERVER_UNAVAILABLE(0x88, "Server unavailable", 0x03),
    SERVER_BUSY(0x89, "Server busy", 0x03),
    BAD_AUTHENTICATION_METHOD(0x8C, "Bad authentication method", 0x05),
    KEEP_ALIVE_TIMEOUT(0x8D, "Keep Alive timeout", -1),
    SESSION_TAKEN_OVER(0x8E, "Session taken over", -1),
    TOPIC_FILTER_INVALID(0x8F, "Topic Filter invalid", -1),
    TOPIC_NAME_INVALID(0x90, "Topic Name invalid", -1),
    PACKET_IDENTIFIER_IN_USE(0x91, "Packet Identifier in use", -1),
    PACKET_IDENTIFIER_NOT_FOUND(0x92, "Packet Identifier not found", -1),
    RECEIVE_MAXIMUM_EXCEEDED(0x93, "Receive Maximum exceeded", -1),
    TOPIC_ALIAS_INVALID(0x94, "Topic Alias invalid", -1),
    PACKET_TOO_LARGE(0x95, "Packet too large", -1),
    QUOTA_EXCEEDED(0x97, "Quota exceeded", 0x03),
    ADMINISTRATIVE_ACTION(0x98, "Administrative action", -1),
    PAYLOAD_FORMAT_INVALID(0x99, "Payload format invalid", -1),
    RETAIN_NOT_SUPPORTED(0x9A, "Retain not supported", -1),
    QOS_NOT_SUPPORTED(0x9B, "QoS not supported", -1),
    SERVER_SHUTTING_DOWN(0x8B, "Server shutting down", -1),
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED(0x9E, "Shared Subscriptions not supported", -1),
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED(0xA1, "Subscription Identifiers not supported", -1),
    CONNECTION_RATE_EXCEEDED(0x9F, "Connection rate exceeded", 0x03),
    MAXIMUM_CONNECT_TIME(0xA0, "Maximum connect time", -1),
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED(0xA2, "Wildcard Subscriptions not supported", -1);

    private final int code;
    private final String description;
    private final int v3ConnectReturnCode;

    ReasonCode(int code, String description, int v3ConnectReturnCode) {
        this.code = code;
        this.description = description;
        this.v3ConnectReturnCode = v3ConnectReturnCode;
    }

    /** The MQTT 5 byte value. */
    public byte code() {
        return (byte) code;
    }

    public int unsignedCode() {
        return code;
    }

    /** Values of 0x80 and above report a failure (MQTT 5 section 2.4). */
    public boolean isError() {
        return code >= 0x80;
    }

    /**
     * The MQTT 3.1/3.1.1 CONNACK return code for this refusal, or -1 when that version has none: the server
     * then closes the connection without a CONNACK (3.1.1 section 3.2.2.3).
     */
    public int v3ConnectReturnCode() {
        return v3ConnectReturnCode;
    }

    public String description() {
        return description;
    }

    /** "0x81 Malformed Packet", as logs name it. */
    @Override
    public String toString() {
        return String.format("0x%02X %s", code, description);
    }
}
