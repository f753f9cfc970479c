package io.sluice.protocol.sse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

/**
 * Writes the {@code text/event-stream} format (HTML Living Standard, section 9.2 "Server-sent events"): events
 * as {@code id:}, {@code event:} and {@code data:} lines ended by a blank line, comment lines (starting with
 * a colon) as heartbeats, and the {@code retry:} reconnect delay.
 *
 * <p>An event is written in three steps so its data can be encoded straight into the buffer:
 * {@link #beginEvent}, the data (one line: no CR or LF, which the JSON of {@link Envelope} never contains),
 * {@link #endEvent}. An {@code id:} block without data ({@link #position}) moves the browser's last event id
 * without dispatching anything (the spec sets the last event id before it discards an event with no data),
 * which is how a stream tells a new reader where it starts.
 */
public final class EventStream {
    public static final String CONTENT_TYPE = "text/event-stream; charset=utf-8";

    private EventStream() {
    }

    /** {@code id:} (when not null) and {@code event:} (when not null: the default type is "message") and "data:". */
    public static void beginEvent(ByteBuf out, String id, String type) {
        if (id != null) {
            checkLine(id);
            out.writeCharSequence("id:", java.nio.charset.StandardCharsets.US_ASCII);
            ByteBufUtil.writeUtf8(out, id);
            out.writeByte('\n');
        }
        if (type != null) {
            checkLine(type);
            out.writeCharSequence("event:", java.nio.charset.StandardCharsets.US_ASCII);
            ByteBufUtil.writeUtf8(out, type);
            out.writeByte('\n');
        }
        out.writeCharSequence("data:", java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** Ends the data line and the event. */
    public static void endEvent(ByteBuf out) {
        out.writeByte('\n').writeByte('\n');
    }

    /** A whole event with one line of data. */
    public static void event(ByteBuf out, String id, String type, String data) {
        checkLine(data);
        beginEvent(out, id, type);
        ByteBufUtil.writeUtf8(out, data);
        endEvent(out);
    }

    /** An {@code id:} alone: sets the reader's last event id, dispatches nothing. */
    public static void position(ByteBuf out, String id) {
        checkLine(id);
        out.writeCharSequence("id:", java.nio.charset.StandardCharsets.US_ASCII);
        ByteBufUtil.writeUtf8(out, id);
        out.writeByte('\n').writeByte('\n');
    }

    /** A comment line: ignored by readers, it keeps proxies from closing an idle stream. */
    public static void comment(ByteBuf out) {
        out.writeByte(':').writeByte('\n');
    }

    /** The reconnect delay the browser waits before it reopens a dropped stream. */
    public static void retry(ByteBuf out, long millis) {
        out.writeCharSequence("retry:" + millis + "\n\n", java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static void checkLine(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n' || c == '\r') {
                throw new IllegalArgumentException("an SSE field cannot span lines: " + s);
            }
        }
    }
}
