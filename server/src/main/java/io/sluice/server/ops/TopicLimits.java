package io.sluice.server.ops;

import io.sluice.server.config.Settings;
import io.sluice.server.events.Limit;

import java.nio.charset.StandardCharsets;

/**
 * Bounds on what one request may ask of the trie: topic (or filter, or STOMP destination) length in UTF-8
 * bytes, its number of levels, and the subscriptions one client may hold. Adapters check them and answer in
 * their protocol (MQTT SUBACK 0x97 / PUBLISH refused with 0x90 or 0x8F, STOMP ERROR), then report
 * {@link ConnectionEvents#limitExceeded}.
 */
public record TopicLimits(int maxTopicLength, int maxTopicLevels, int maxSubscriptionsPerClient) {

    public static TopicLimits from(Settings s) {
        return new TopicLimits(s.get(Settings.MAX_TOPIC_LENGTH), s.get(Settings.MAX_TOPIC_LEVELS),
                s.get(Settings.MAX_SUBSCRIPTIONS_PER_CLIENT));
    }

    /** The limit a topic name or filter exceeds, or null when it is within both. */
    public Limit check(String topic) {
        // chars <= UTF-8 bytes <= 3 * chars: encode only when the answer depends on it
        if (topic.length() > maxTopicLength
                || (topic.length() * 3 > maxTopicLength && utf8Length(topic) > maxTopicLength)) {
            return Limit.TOPIC_LENGTH;
        }
        int levels = 1;
        for (int i = 0; i < topic.length(); i++) {
            if (topic.charAt(i) == '/' && ++levels > maxTopicLevels) {
                return Limit.TOPIC_LEVELS;
            }
        }
        return null;
    }

    /** May a client holding {@code current} subscriptions add a new one? */
    public boolean allowsAnotherSubscription(int current) {
        return current < maxSubscriptionsPerClient;
    }

    private static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }
}
