package io.sluice.server.stomp;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.stomp.DefaultStompFrame;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeaders;
import io.sluice.protocol.stomp.StompDestination;
import io.sluice.server.broker.Delivery;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageProperties;
import io.sluice.server.broker.SessionId;
import io.sluice.server.delta.DeltaFormat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * SEND frames into broker messages and deliveries into MESSAGE frames, with the header mapping both protocols
 * share: the body bytes unchanged; {@code content-type} is the MQTT 5 Content Type; {@code reply-to} the
 * Response Topic (through the destination mapping); {@code correlation-id} the Correlation Data (UTF-8); every
 * other header of a SEND a User Property, in order, and every User Property a MESSAGE header, in order.
 * A SEND is a QoS 1 publish. {@code retain:true} on a SEND to a topic makes it the topic's retained message;
 * {@code expires} (epoch milliseconds) is the MQTT 5 Message Expiry Interval, counted from now. A MESSAGE
 * whose body is a delta says so in {@code delta:fossil}; no user property of that name is passed on.
 */
final class StompMessages {
    static final String CORRELATION_ID = "correlation-id";
    static final String REPLY_TO = "reply-to";
    static final String RETAIN = "retain";
    static final String RETAINED = "retained";
    static final String REDELIVERED = "redelivered";
    /** When the message expires, in epoch milliseconds, as ActiveMQ and Artemis write it; 0 for never. */
    static final String EXPIRES = "expires";

    /** SEND headers that are about the frame, not the message: never user properties. */
    private static final Set<String> SEND_FRAME_HEADERS = Set.of("destination", "content-length", "content-type",
            "receipt", "transaction", REPLY_TO, CORRELATION_ID, RETAIN, EXPIRES);
    /** MESSAGE headers the server sets: a user property of the same name does not override them. */
    private static final Set<String> MESSAGE_HEADERS = Set.of("destination", "message-id", "subscription", "ack",
            "content-length", "content-type", "receipt-id", REPLY_TO, CORRELATION_ID, RETAINED, REDELIVERED, EXPIRES,
            DeltaFormat.STOMP_HEADER);

    private StompMessages() {
    }

    static Message toMessage(StompFrame send, StompDestination destination, SessionId publisher) {
        String contentType = null;
        String responseTopic = null;
        byte[] correlation = null;
        boolean retain = false;
        long expires = 0;
        List<Map.Entry<String, String>> user = new ArrayList<>(0);
        for (Map.Entry<CharSequence, CharSequence> h : send.headers()) {
            String name = h.getKey().toString();
            String value = h.getValue().toString();
            switch (name) {
                case "content-type" -> contentType = contentType == null ? value : contentType;
                case REPLY_TO -> {
                    if (responseTopic == null) {
                        String topic = StompDestination.toMqttTopicOrNull(value);
                        responseTopic = topic == null ? value : topic;
                    }
                }
                case CORRELATION_ID -> correlation = correlation == null ? value.getBytes(StandardCharsets.UTF_8) : correlation;
                case RETAIN -> retain = "true".equals(value) && destination.kind() == StompDestination.Kind.TOPIC;
                case EXPIRES -> expires = expires(send, value);
                default -> {
                    if (!SEND_FRAME_HEADERS.contains(name)) {
                        user.add(Map.entry(name, value));
                    }
                }
            }
        }
        MessageProperties props = contentType == null && responseTopic == null && correlation == null && user.isEmpty()
                ? MessageProperties.NONE
                : new MessageProperties(contentType, null, responseTopic, correlation, user);
        return Message.builder(destination.mqttTopic())
                .payload(ByteBufUtil.getBytes(send.content()))
                .qos(1)
                .retain(retain)
                .properties(props)
                .publisher(publisher)
                .expiresAtMillis(expires)
                .build();
    }

    private static long expires(StompFrame send, String value) {
        try {
            long at = Long.parseLong(value.trim());
            if (at >= 0) {
                return at;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw StompFrames.bad(send, "bad expires header", "expires is the time the message expires, in milliseconds "
                + "since the epoch (0: never), not '" + value + "'.");
    }

    /**
     * @param subscription the subscription header (null to leave it out: a 1.0 SUBSCRIBE without id)
     * @param ack          the 1.2 ack header (null for ack:auto and for older versions)
     * @param delta        a Fossil delta to send as the body instead of the payload, marked {@code delta:fossil}
     *                     (null: the payload)
     */
    static StompFrame toFrame(Delivery d, String subscription, String messageId, String ack, byte[] delta) {
        Message m = d.message();
        byte[] body = delta == null ? m.payload() : delta;
        StompFrame f = new DefaultStompFrame(StompCommand.MESSAGE, Unpooled.wrappedBuffer(body));
        StompHeaders h = f.headers();
        h.set(StompHeaders.DESTINATION, StompDestination.ofMqttTopic(m.topic()));
        h.set(StompHeaders.MESSAGE_ID, messageId);
        if (subscription != null) {
            h.set(StompHeaders.SUBSCRIPTION, subscription);
        }
        if (ack != null) {
            h.set(StompHeaders.ACK, ack);
        }
        if (d.duplicate()) {
            h.set(REDELIVERED, "true");
        }
        if (d.retainFlag()) {
            h.set(RETAINED, "true");
        }
        MessageProperties p = m.properties();
        if (p.contentType() != null) {
            h.set(StompHeaders.CONTENT_TYPE, p.contentType());
        }
        if (p.responseTopic() != null) {
            h.set(REPLY_TO, StompDestination.ofMqttTopic(p.responseTopic()));
        }
        if (p.correlationData() != null) {
            h.set(CORRELATION_ID, new String(p.correlationData(), StandardCharsets.UTF_8));
        }
        for (Map.Entry<String, String> u : p.userProperties()) {
            if (!MESSAGE_HEADERS.contains(u.getKey()) && !u.getKey().isEmpty()) {
                h.add(u.getKey(), u.getValue());
            }
        }
        if (m.expiresAtMillis() != 0) {
            h.set(EXPIRES, Long.toString(m.expiresAtMillis()));
        }
        if (delta != null) {
            h.set(DeltaFormat.STOMP_HEADER, DeltaFormat.FOSSIL.token());
        }
        h.setInt(StompHeaders.CONTENT_LENGTH, body.length);
        return f;
    }
}
