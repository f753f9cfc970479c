package io.sluice.server.stomp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.stomp.DefaultStompFrame;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeaders;
import io.sluice.protocol.stomp.StompDestination;
import io.sluice.server.events.Limit;

import java.nio.charset.StandardCharsets;

/** The frames the server writes besides MESSAGE, and header lookups shared by the handlers. */
final class StompFrames {
    private StompFrames() {
    }

    static StompFrame receipt(String receiptId) {
        StompFrame f = new DefaultStompFrame(StompCommand.RECEIPT);
        f.headers().set(StompHeaders.RECEIPT_ID, receiptId);
        return f;
    }

    static StompFrame error(String message, String detail, String receiptId) {
        ByteBuf body = Unpooled.copiedBuffer(detail == null ? message : detail, StandardCharsets.UTF_8);
        StompFrame f = new DefaultStompFrame(StompCommand.ERROR, body);
        f.headers().set(StompHeaders.MESSAGE, message);
        if (receiptId != null) {
            f.headers().set(StompHeaders.RECEIPT_ID, receiptId);
        }
        f.headers().set(StompHeaders.CONTENT_TYPE, "text/plain;charset=utf-8");
        f.headers().setInt(StompHeaders.CONTENT_LENGTH, body.readableBytes());
        return f;
    }

    /**
     * An ERROR frame as bytes on the wire, for a connection turned away before it has a STOMP pipeline (see
     * {@link StompModule#refusal}): {@code message} and {@code detail} must need no header escaping (no colon,
     * CR or LF), which holds for the refusals' fixed texts.
     */
    static ByteBuf encodedError(String message, String detail) {
        byte[] body = detail.getBytes(StandardCharsets.UTF_8);
        String head = "ERROR\nmessage:" + message + "\ncontent-type:text/plain;charset=utf-8\ncontent-length:"
                + body.length + "\n\n";
        ByteBuf frame = Unpooled.buffer(head.length() + body.length + 1);
        frame.writeCharSequence(head, StandardCharsets.UTF_8);
        frame.writeBytes(body);
        frame.writeByte(0);
        return frame;
    }

    /** A header's value, null when absent. */
    static String header(StompFrame frame, CharSequence name) {
        return frame.headers().getAsString(name);
    }

    /** A header the frame must carry, or the ERROR its absence earns. */
    static String required(StompFrame frame, CharSequence name) {
        String v = frame.headers().getAsString(name);
        if (v == null || v.isEmpty()) {
            throw new StompProtocolException("missing " + name + " header",
                    frame.command() + " frames need a '" + name + "' header.", header(frame, StompHeaders.RECEIPT));
        }
        return v;
    }

    /** A destination past the topic limits (max-topic-length, max-topic-levels) earns an ERROR. */
    static void checkLimits(StompConnection conn, StompFrame frame, StompDestination destination) {
        Limit exceeded = conn.topicLimits.check(destination.mqttTopic());
        if (exceeded != null) {
            throw StompProtocolException.limit("destination too long", "'" + destination + "' exceeds "
                    + exceeded.setting() + " (" + (exceeded == Limit.TOPIC_LENGTH ? conn.topicLimits.maxTopicLength()
                    + " bytes" : conn.topicLimits.maxTopicLevels() + " levels") + "); use a shorter destination.",
                    header(frame, StompHeaders.RECEIPT), exceeded);
        }
    }

    static StompProtocolException bad(StompFrame frame, String message, String detail) {
        return new StompProtocolException(message, detail, header(frame, StompHeaders.RECEIPT));
    }
}
