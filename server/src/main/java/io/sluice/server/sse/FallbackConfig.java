package io.sluice.server.sse;

import io.sluice.server.config.Settings;
import io.sluice.server.delta.DeltaConfig;

/**
 * The settings of the HTTP fallback (see {@link Settings}).
 *
 * @param heartbeatMillis comment line interval on an idle SSE stream, 0 for none
 * @param retryMillis     the browser's reconnect delay ({@code retry:})
 * @param pollMillis      longest a long-poll is held
 * @param pollMaxMessages most messages in one long-poll answer
 * @param maxFilters      most filters one reader may name
 * @param delta           the delta bases of a stream whose reader asked for deltas
 */
public record FallbackConfig(long heartbeatMillis, long retryMillis, long pollMillis, int pollMaxMessages,
                             int maxFilters, DeltaConfig delta) {
    public static FallbackConfig from(Settings s) {
        return new FallbackConfig(s.get(Settings.SSE_HEARTBEAT), s.get(Settings.SSE_RETRY), s.get(Settings.POLL_TIMEOUT),
                s.get(Settings.POLL_MAX_MESSAGES), s.get(Settings.MAX_SUBSCRIPTIONS_PER_CLIENT), DeltaConfig.from(s));
    }

    /**
     * The message history the settings ask for, written through to {@code store} when it is durable;
     * {@link io.sluice.server.broker.MessageHistory#NONE} when off.
     */
    public static io.sluice.server.broker.MessageHistory history(Settings s, io.sluice.server.broker.MessageStore store) {
        if (s.get(Settings.HISTORY_MESSAGES) == 0 || s.get(Settings.HISTORY_FILTERS).isEmpty()) {
            return io.sluice.server.broker.MessageHistory.NONE;
        }
        return new MemoryHistory(s.get(Settings.HISTORY_MESSAGES), s.get(Settings.HISTORY_AGE),
                s.get(Settings.HISTORY_MAX_TOPICS), s.get(Settings.HISTORY_FILTERS), store);
    }
}
