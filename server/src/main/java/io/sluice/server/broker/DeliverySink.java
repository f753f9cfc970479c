package io.sluice.server.broker;

import java.util.concurrent.Executor;

/**
 * The connection side of an online session, implemented by each protocol adapter. The core calls every method
 * but {@link #executor()} on that executor (the connection's event loop), so an adapter needs no locking.
 */
public interface DeliverySink {
    /** The thread that owns the connection; deliveries are made on it. */
    Executor executor();

    /** Channel writability: while false, the core stops handing over deliveries and queues instead. */
    boolean isWritable();

    /** Write one delivery, without flushing. */
    void send(Delivery delivery);

    /** QoS 2: resend PUBREL for a delivery the client already acknowledged with PUBREC (on session resume). */
    void sendRelease(Delivery delivery);

    void flush();

    /** The core ends this connection: the session was taken over, the consumer is stuck, or the broker stops. */
    void close(CloseReason reason);
}
