package io.sluice.server.broker;

/**
 * A will message and when to publish it after an abnormal disconnect (MQTT 5 section 3.1.3.2: Will Delay
 * Interval; 0 for MQTT 3.1.1, which publishes at once).
 */
public record Will(Message message, long delaySeconds) {
}
