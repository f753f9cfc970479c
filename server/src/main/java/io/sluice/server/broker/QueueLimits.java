package io.sluice.server.broker;

import java.util.List;

/**
 * The bounds of every subscriber queue (see docs/flow-control.md).
 *
 * @param maxQueuedMessages  QoS 1/2 messages waiting to enter the in-flight window, per session
 * @param maxQueuedBytes     the same bound in bytes
 * @param defaultWindow      in-flight window when the client states none (MQTT 3.1.1, STOMP client-ack)
 * @param maxQos0Messages    QoS 0 messages buffered per session before the drop policy applies
 * @param conflateFilters    topic filters whose QoS 0 messages are conflated (latest value per topic)
 *                           instead of dropped oldest-first
 */
public record QueueLimits(int maxQueuedMessages, long maxQueuedBytes, int defaultWindow, int maxQos0Messages,
                          List<String> conflateFilters) {
    public static final QueueLimits DEFAULTS = new QueueLimits(1000, 16L * 1024 * 1024, 32, 1000, List.of());

    public QueueLimits {
        conflateFilters = List.copyOf(conflateFilters);
    }
}
