package io.sluice.server.broker;

/**
 * What a subscriber asked for with one filter (MQTT 5 section 3.8.3.1); STOMP subscriptions map onto the same.
 *
 * @param qos               maximum QoS delivered: 0, 1 or 2 (STOMP: 0 for ack:auto, 1 for client acks)
 * @param noLocal           do not deliver the subscriber's own publications
 * @param retainAsPublished keep the retain flag as published instead of clearing it on live delivery
 * @param retainHandling    0 send retained on subscribe, 1 only if the subscription is new, 2 never
 * @param subscriptionId    MQTT 5 Subscription Identifier, 0 when none
 */
public record SubscriptionOptions(int qos, boolean noLocal, boolean retainAsPublished, int retainHandling,
                                  int subscriptionId) {
    public static SubscriptionOptions ofQos(int qos) {
        return new SubscriptionOptions(qos, false, false, 0, 0);
    }
}
