package io.sluice.server.broker;

import java.util.List;
import java.util.Map;

/**
 * The message metadata that crosses protocols: MQTT 5 publish properties, and the STOMP headers mapped onto
 * them (content-type, reply-to, correlation-id, custom headers as user properties in order).
 * Per-hop properties (topic alias, subscription identifiers) are not here: they belong to one connection.
 *
 * @param contentType        MQTT 5 Content Type, STOMP content-type; null when absent
 * @param payloadFormatUtf8  MQTT 5 Payload Format Indicator: null absent, true for 1 (UTF-8), false for 0
 * @param responseTopic      MQTT 5 Response Topic, STOMP reply-to; null when absent
 * @param correlationData    MQTT 5 Correlation Data, STOMP correlation-id; null when absent
 * @param userProperties     MQTT 5 User Properties in order, STOMP custom headers; never null
 */
public record MessageProperties(String contentType, Boolean payloadFormatUtf8, String responseTopic,
                                byte[] correlationData, List<Map.Entry<String, String>> userProperties) {
    public static final MessageProperties NONE = new MessageProperties(null, null, null, null, List.of());

    public MessageProperties {
        userProperties = userProperties == null ? List.of() : List.copyOf(userProperties);
    }

    public boolean isEmpty() {
        return contentType == null && payloadFormatUtf8 == null && responseTopic == null && correlationData == null
                && userProperties.isEmpty();
    }
}
