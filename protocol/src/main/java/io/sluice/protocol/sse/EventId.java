package io.sluice.protocol.sse;

/**
 * An SSE event id, and the {@code since} of a long-poll: a position in the broker's message history and the
 * epoch the position belongs to, written {@code <epoch in base 36>-<position>} (e.g. {@code mil3c2k0-42}).
 * A reader hands it back unchanged to resume; the broker recognises an id of another epoch (from before a
 * restart without persistence) and answers with a reset instead of misreading it.
 */
public record EventId(long epoch, long position) {
    public EventId {
        if (epoch < 0 || position < 0) {
            throw new IllegalArgumentException("negative epoch or position");
        }
    }

    /** The id as written on the wire. */
    public String format() {
        return Long.toString(epoch, 36) + "-" + position;
    }

    /** The id a client sent back, or null when it is not one (a reader gets a reset then). */
    public static EventId parse(String text) {
        if (text == null) {
            return null;
        }
        int dash = text.indexOf('-');
        if (dash <= 0 || dash == text.length() - 1 || text.length() > 40) {
            return null;
        }
        try {
            long epoch = Long.parseLong(text.substring(0, dash), 36);
            long position = Long.parseLong(text.substring(dash + 1));
            return epoch < 0 || position < 0 ? null : new EventId(epoch, position);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        return format();
    }
}
