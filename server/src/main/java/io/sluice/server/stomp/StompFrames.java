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
