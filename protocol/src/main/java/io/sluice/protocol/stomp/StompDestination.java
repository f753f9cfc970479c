package io.sluice.protocol.stomp;

import io.sluice.protocol.topic.InvalidTopicException;
import io.sluice.protocol.topic.TopicFilter;
import io.sluice.protocol.topic.TopicName;

/**
 * A STOMP destination and where it lives on the shared topic trie.
 *
 * <ul>
 *   <li>{@code /topic/<name>}: the rest is an MQTT topic name ({@code SEND}) or topic filter
 *       ({@code SUBSCRIBE}, with {@code +} and {@code #}). {@code SEND /topic/sensors/k1/temp} reaches an MQTT
 *       subscriber of {@code sensors/+/temp}; an MQTT PUBLISH to {@code sensors/k1/temp} reaches
 *       {@code SUBSCRIBE /topic/sensors/#}.</li>
 *   <li>{@code /queue/<name>}: a queue of competing consumers. Its messages travel on the MQTT topic
 *       {@value #QUEUE_NAMESPACE}{@code <name>}, which no ordinary MQTT wildcard subscription sees ('$' topics
 *       are not matched by filters starting with a wildcard), and its consumers form the shared group
 *       {@value #QUEUE_GROUP} on that topic. An MQTT client can take part deliberately: publish to
 *       {@code $stomp/queue/<name>} to enqueue, subscribe to {@code $share/stomp/$stomp/queue/<name>} to
 *       compete with STOMP consumers.</li>
 * </ul>
 * The namespace {@code $stomp/} is reserved: {@code /topic/$stomp/...} is refused so queues cannot be read or
 * written around their semantics, and STOMP clients cannot SEND to other {@code $} topics (they belong to the
 * broker, as in MQTT).
 */
public record StompDestination(Kind kind, String name) {
    public enum Kind { TOPIC, QUEUE }

    public static final String TOPIC_PREFIX = "/topic/";
    public static final String QUEUE_PREFIX = "/queue/";
    public static final String QUEUE_NAMESPACE = "$stomp/queue/";
    public static final String QUEUE_GROUP = "stomp";
    private static final String RESERVED = "$stomp/";

    /** A destination a SEND may target: a topic name without wildcards, or a queue. */
    public static StompDestination forSend(String destination) {
        StompDestination d = parse(destination);
        if (d.kind == Kind.TOPIC) {
            check(() -> TopicName.validate(d.name), destination);
            if (TopicName.isSystemTopic(d.name)) {
                throw new InvalidDestinationException("'" + destination + "': topics starting with '$' belong to the broker; SEND to another topic");
            }
        }
        return d;
    }

    /** A destination a SUBSCRIBE may name: a topic filter (wildcards allowed), or a queue. */
    public static StompDestination forSubscribe(String destination) {
        StompDestination d = parse(destination);
        if (d.kind == Kind.TOPIC) {
            check(() -> TopicFilter.validate(d.name), destination);
        }
        return d;
    }

    private static StompDestination parse(String destination) {
        if (destination == null || destination.isEmpty()) {
            throw new InvalidDestinationException("missing destination header");
        }
        StompDestination d;
        if (destination.startsWith(TOPIC_PREFIX)) {
            d = new StompDestination(Kind.TOPIC, destination.substring(TOPIC_PREFIX.length()));
            if (d.name.startsWith(RESERVED)) {
                throw new InvalidDestinationException("'" + destination + "': the topic namespace $stomp/ is reserved for queues; use /queue/<name>");
            }
        } else if (destination.startsWith(QUEUE_PREFIX)) {
            d = new StompDestination(Kind.QUEUE, destination.substring(QUEUE_PREFIX.length()));
            check(() -> TopicName.validate(d.name), destination);
        } else {
            throw new InvalidDestinationException("'" + destination + "' is not a destination here: use /topic/<mqtt topic> or /queue/<name>");
        }
        if (d.name.isEmpty()) {
            throw new InvalidDestinationException("'" + destination + "' names no topic or queue");
        }
        return d;
    }

    private static void check(Runnable validation, String destination) {
        try {
            validation.run();
        } catch (InvalidTopicException e) {
            throw new InvalidDestinationException("'" + destination + "': " + e.getMessage());
        }
    }

    /** The MQTT topic (or, for a SUBSCRIBE, filter) this destination is on the shared trie. */
    public String mqttTopic() {
        return kind == Kind.TOPIC ? name : QUEUE_NAMESPACE + name;
    }

    /** The shared group of a queue's consumers, null for a topic. */
    public String shareGroup() {
        return kind == Kind.QUEUE ? QUEUE_GROUP : null;
    }

    /** The STOMP destination of a message published on an MQTT topic: its queue, or /topic/ plus the topic. */
    public static String ofMqttTopic(String topic) {
        if (topic.startsWith(QUEUE_NAMESPACE)) {
            return QUEUE_PREFIX + topic.substring(QUEUE_NAMESPACE.length());
        }
        return TOPIC_PREFIX + topic;
    }

    /** The MQTT topic a destination header names, or null when it names neither a topic nor a queue. */
    public static String toMqttTopicOrNull(String destination) {
        if (destination.startsWith(TOPIC_PREFIX) && destination.length() > TOPIC_PREFIX.length()) {
            return destination.substring(TOPIC_PREFIX.length());
        }
        if (destination.startsWith(QUEUE_PREFIX) && destination.length() > QUEUE_PREFIX.length()) {
            return QUEUE_NAMESPACE + destination.substring(QUEUE_PREFIX.length());
        }
        return null;
    }

    @Override
    public String toString() {
        return (kind == Kind.TOPIC ? TOPIC_PREFIX : QUEUE_PREFIX) + name;
    }

    /** A destination STOMP cannot use; the message says what to use instead. */
    public static final class InvalidDestinationException extends IllegalArgumentException {
        public InvalidDestinationException(String message) {
            super(message);
        }
    }
}
