package io.sluice.server.broker;

import java.util.List;

/**
 * A bounded record of recent messages by position, so a reader that lost its connection (an SSE stream, a
 * long-poll) can ask for what it missed. {@link Broker#publish} appends every message before matching it, on the
 * publisher's thread, so a reader that subscribes and then reads the history finds each message in one or the
 * other. The core owns this interface; the history lives with the HTTP fallback adapter, written through to the
 * {@link MessageStore} when that is durable.
 *
 * <p>Positions grow with each recorded message, across all topics, within an {@link #epoch()}: a history
 * that does not survive a restart starts a new epoch, so a position from before the restart is recognised
 * as meaningless instead of being read as a different message; a durable one keeps its epoch and goes on
 * above every position it gave out before.
 */
public interface MessageHistory {
    /** Keeps nothing: every position is 0 and any resume is a gap. */
    MessageHistory NONE = new MessageHistory() {
        @Override
        public long append(Message m) {
            return 0;
        }

        @Override
        public long epoch() {
            return 0;
        }

        @Override
        public long head() {
            return 0;
        }

        @Override
        public List<Recorded> since(List<String> filters, long position) {
            return null;
        }
    };

    /**
     * Where a durable store hands this history back at start-up ({@link MessageStore#recover}), before the first
     * {@link #append}; null when it keeps nothing across restarts.
     */
    default MessageStore.HistoryRecovery recovery() {
        return null;
    }

    /** Everything was handed back: apply the bounds. */
    default void recovered() {
    }

    /** One recorded message and its position. */
    record Recorded(long position, Message message) {
    }

    /**
     * Record a published message and return its position, or 0 when its topic keeps no history. Called once per
     * publish on the publisher's thread (an event loop): must not block.
     */
    long append(Message m);

    /** Identifies this history's positions; a different epoch means the positions were given out by another. */
    long epoch();

    /** The last position given out (0 when none). */
    long head();

    /**
     * A reader is about to be given positions (before it reads {@link #head} or {@link #since}): from now on the
     * history keeps every message, and a durable one writes it through, since a reader may come back with a position
     * after a restart. Until the first reader (of a store's life, with a durable one) nobody holds a position to
     * resume from, and a message need not be kept: the positions given out until then are a gap.
     */
    default void readerStarting() {
    }

    /**
     * Whether the history writes its messages through to a durable store (then a QoS 1/2 publish's acknowledgement
     * waits for that write). Once true, true for good: a caller that reads it after {@link #append} sees true
     * whenever that append wrote.
     */
    default boolean writesThrough() {
        return false;
    }

    /**
     * Every kept message on a topic matching one of {@code filters} with a position after {@code position}, in
     * position order; {@code null} when some such message is no longer kept (a gap the reader must be told of).
     */
    List<Recorded> since(List<String> filters, long position);
}
