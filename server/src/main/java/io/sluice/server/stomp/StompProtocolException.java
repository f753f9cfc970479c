package io.sluice.server.stomp;

import io.sluice.server.events.DisconnectReason;
import io.sluice.server.events.Limit;

/**
 * Bad input from a STOMP client: it is answered with an ERROR frame whose {@code message} header is
 * {@link #getMessage()} and whose body is {@link #detail()} (what was wrong and what to do instead), then the
 * connection closes.
 */
final class StompProtocolException extends RuntimeException {
    private final String detail;
    private final String receiptId;
    private final DisconnectReason reason;
    private final Limit limit;

    StompProtocolException(String message, String detail) {
        this(message, detail, null);
    }

    StompProtocolException(String message, String detail, String receiptId) {
        this(message, detail, receiptId, DisconnectReason.PROTOCOL_ERROR, null);
    }

    /** Input within the protocol but past a limit of this server: {@code limit} names it when it has a name. */
    static StompProtocolException limit(String message, String detail, String receiptId, Limit limit) {
        return new StompProtocolException(message, detail, receiptId, DisconnectReason.LIMIT_EXCEEDED, limit);
    }

    /** A SEND or SUBSCRIBE to a destination the client may not use. */
    static StompProtocolException denied(String message, String detail, String receiptId) {
        return new StompProtocolException(message, detail, receiptId, DisconnectReason.NOT_AUTHORIZED, null);
    }

    private StompProtocolException(String message, String detail, String receiptId, DisconnectReason reason, Limit limit) {
        super(message, null, false, false);
        this.detail = detail;
        this.receiptId = receiptId;
        this.reason = reason;
        this.limit = limit;
    }

    DisconnectReason reason() {
        return reason;
    }

    /** The named limit exceeded, or null. */
    Limit limit() {
        return limit;
    }

    String detail() {
        return detail;
    }

    /** The receipt the failed frame asked for, echoed as {@code receipt-id} on the ERROR frame; may be null. */
    String receiptId() {
        return receiptId;
    }
}
