package io.sluice.server.mqtt;

import io.netty.handler.codec.mqtt.MqttProperties;
import io.sluice.protocol.mqtt.Properties;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageProperties;

/** Application messages as clients send them (PUBLISH, will) into the core's {@link Message}. */
final class InboundMessages {
    private InboundMessages() {
    }

    /**
     * @param payload copied once from the packet; the message owns it from now on
     * @param props   the PUBLISH or will properties, {@link MqttProperties#NO_PROPERTIES} before MQTT 5
     * @param publisherKey the publishing session's {@code SessionId.key()} (No Local compares it)
     */
    static Message message(String topic, byte[] payload, int qos, boolean retain, MqttProperties props,
                           String publisherKey) {
        Message.Builder b = Message.builder(topic).payload(payload).qos(qos).retain(retain).publisherId(publisherKey);
        if (props.isEmpty()) {
            return b.build();
        }
        long expiry = Properties.integer(props, MqttProperties.PUBLICATION_EXPIRY_INTERVAL, -1);
        if (expiry >= 0) {
            b.expiryIntervalSeconds(expiry);
        }
        return b.properties(properties(props)).build();
    }

    /** The properties that travel with the message end to end (MQTT 5 section 3.3.2.3). */
    static MessageProperties properties(MqttProperties props) {
        long format = Properties.integer(props, MqttProperties.PAYLOAD_FORMAT_INDICATOR, -1);
        MessageProperties mp = new MessageProperties(
                Properties.string(props, MqttProperties.CONTENT_TYPE),
                format < 0 ? null : format == 1,
                Properties.string(props, MqttProperties.RESPONSE_TOPIC),
                Properties.binary(props, MqttProperties.CORRELATION_DATA),
                Properties.userProperties(props));
        return mp.isEmpty() ? MessageProperties.NONE : mp;
    }

    /** Payload Format Indicator 1: the payload must be UTF-8 (MQTT 5 section 3.3.2.3.2). */
    static boolean declaresUtf8(MqttProperties props) {
        return Properties.integer(props, MqttProperties.PAYLOAD_FORMAT_INDICATOR, 0) == 1;
    }
}
