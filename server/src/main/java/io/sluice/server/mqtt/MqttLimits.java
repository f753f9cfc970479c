package io.sluice.server.mqtt;

import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.config.Settings;
import io.sluice.server.delta.DeltaConfig;

/**
 * The MQTT settings one connection needs, read once from {@link Settings}; most are advertised to MQTT 5
 * clients in CONNACK (MQTT 5 section 3.2.2.3) and enforced on every client alike.
 */
record MqttLimits(int maxPacketSize, long connectTimeoutMillis, int receiveMaximum, int maximumQos,
                  boolean retainAvailable, int topicAliasMaximum, boolean wildcardSubscriptions,
                  boolean subscriptionIdentifiers, boolean sharedSubscriptions, int serverKeepAlive,
                  String responseInformation, DeltaConfig delta, int subscribeDeniedCode) {

    static MqttLimits from(Settings s) {
        String info = s.get(Settings.MQTT_RESPONSE_INFORMATION);
        return new MqttLimits(s.get(Settings.MAX_PACKET_SIZE), s.get(Settings.MQTT_CONNECT_TIMEOUT),
                s.get(Settings.MQTT_RECEIVE_MAXIMUM), s.get(Settings.MQTT_MAXIMUM_QOS),
                s.get(Settings.MQTT_RETAIN_AVAILABLE), s.get(Settings.MQTT_TOPIC_ALIAS_MAXIMUM),
                s.get(Settings.MQTT_WILDCARD_SUBSCRIPTIONS), s.get(Settings.MQTT_SUBSCRIPTION_IDENTIFIERS),
                s.get(Settings.MQTT_SHARED_SUBSCRIPTIONS), s.get(Settings.MQTT_SERVER_KEEP_ALIVE),
                info == null || info.isEmpty() ? null : info, DeltaConfig.from(s),
                (s.get(Settings.MQTT_SUBSCRIBE_DENIED).equals("unspecified") ? ReasonCode.UNSPECIFIED_ERROR
                        : ReasonCode.NOT_AUTHORIZED).unsignedCode());
    }
}
