package io.sluice.protocol.topic;

/** A topic name or filter that breaks the MQTT rules (MQTT 5 section 4.7, 3.1.1 section 4.7). */
public final class InvalidTopicException extends IllegalArgumentException {
    public InvalidTopicException(String message) {
        super(message);
    }
}
