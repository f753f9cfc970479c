package io.sluice.server.stomp;

/**
 * Bad input from a STOMP client: it is answered with an ERROR frame whose {@code message} header is
 * {@link #getMessage()} and whose body is {@link #detail()} (what was wrong and what to do instead), then the
 * connection closes.
 */
final class StompProtocolException extends RuntimeException {
    private final String detail;
    private final String receiptId;

    StompProtocolException(String message, String detail) {
        this(message, detail, null);
    }

    StompProtocolException(String message, String detail, String receiptId) {
        super(message, null, false, false);
        this.detail = detail;
        this.receiptId = receiptId;
    }

    String detail() {
        return detail;
    }

    /** The receipt the failed frame asked for, echoed as {@code receipt-id} on the ERROR frame; may be null. */
    String receiptId() {
        return receiptId;
    }
}
