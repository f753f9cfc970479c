package io.sluice.server.sse;

import io.netty.buffer.ByteBuf;
import io.sluice.protocol.sse.Envelope;
import io.sluice.protocol.sse.EventId;
import io.sluice.protocol.sse.EventStream;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageProperties;
import io.sluice.server.delta.DeltaEncoder;
import io.sluice.server.delta.DeltaFormat;

/**
 * A message as the HTTP readers see it: an SSE event (the default event type, "message", so
 * {@code EventSource.onmessage} gets every topic a wildcard filter matches; the topic travels in the JSON
 * {@link Envelope}) or an element of a long-poll batch. Its id is its position in the history; a message on a
 * topic without history has none.
 */
final class MessageEncoding {
    private final long epoch;
    private final boolean full;
    /** The stream's delta bases when its reader asked for deltas, else null. */
    private final DeltaEncoder deltas;

    MessageEncoding(long epoch, boolean full) {
        this(epoch, full, null);
    }

    MessageEncoding(long epoch, boolean full, DeltaEncoder deltas) {
        this.epoch = epoch;
        this.full = full;
        this.deltas = deltas;
    }

    /**
     * One SSE event; returns the payload bytes it carries (fewer than the message's when it went as a delta, in
     * the stream's order: each event's delta refers to the previous event on its topic in this stream).
     */
    int sseEvent(ByteBuf out, Message m, long position, boolean retained) {
        byte[] delta = deltas == null ? null : deltas.encode(m.topic(), m.payload());
        EventStream.beginEvent(out, id(position), null);
        if (delta == null) {
            envelope(out, m, null, retained);
        } else {
            Envelope.write(out, null, m.topic(), delta, retained, full, m.qos(), full ? properties(m) : null,
                    DeltaFormat.FOSSIL.token());
        }
        EventStream.endEvent(out);
        return delta == null ? m.payload().length : delta.length;
    }

    /** One element of a long-poll batch, its id inside. */
    void pollItem(ByteBuf out, Message m, long position, boolean retained) {
        envelope(out, m, id(position), retained);
    }

    /** The id of a position to continue after, 0 included (a reader that has seen nothing yet). */
    String cursor(long position) {
        return new EventId(epoch, position).format();
    }

    String id(long position) {
        return position == 0 ? null : new EventId(epoch, position).format();
    }

    private void envelope(ByteBuf out, Message m, String id, boolean retained) {
        Envelope.write(out, id, m.topic(), m.payload(), retained, full, m.qos(), full ? properties(m) : null);
    }

    private static Envelope.Properties properties(Message m) {
        MessageProperties p = m.properties();
        if (p.isEmpty()) {
            return Envelope.Properties.NONE;
        }
        return new Envelope.Properties(p.contentType(), p.payloadFormatUtf8(), p.responseTopic(), p.correlationData(),
                p.userProperties());
    }
}
