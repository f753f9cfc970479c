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
 * @param liveWindows        a connected subscriber's queue holds its publishers once it holds this many of its
 *                           in-flight windows (never more than {@code maxQueuedMessages}); 0: at
 *                           {@code maxQueuedMessages}, as an offline session's
 */
public record QueueLimits(int maxQueuedMessages, long maxQueuedBytes, int defaultWindow, int maxQos0Messages,
                          List<String> conflateFilters, int liveWindows) {
    /** What a connected subscriber queues by default before its publishers wait: four in-flight windows. */
    public static final int DEFAULT_LIVE_WINDOWS = 4;
    public static final QueueLimits DEFAULTS = new QueueLimits(1000, 16L * 1024 * 1024, 32, 1000, List.of());

    public QueueLimits {
        conflateFilters = List.copyOf(conflateFilters);
        if (liveWindows < 0) {
            throw new IllegalArgumentException("liveWindows must not be negative: " + liveWindows);
        }
    }

    /** With the default {@link #liveWindows}. */
    public QueueLimits(int maxQueuedMessages, long maxQueuedBytes, int defaultWindow, int maxQos0Messages,
                       List<String> conflateFilters) {
        this(maxQueuedMessages, maxQueuedBytes, defaultWindow, maxQos0Messages, conflateFilters, DEFAULT_LIVE_WINDOWS);
    }

    /** The bound of a connected subscriber's QoS 1/2 queue whose in-flight window is {@code window}. */
    public int liveBound(int window) {
        if (liveWindows == 0) {
            return maxQueuedMessages;
        }
        return (int) Math.min(maxQueuedMessages, (long) liveWindows * window);
    }
}
