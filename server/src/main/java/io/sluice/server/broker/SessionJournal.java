package io.sluice.server.broker;

/**
 * What one session tells the {@link MessageStore}: its queue entries by position, their in-flight state, its
 * inbound QoS 2 ids. A session has one while it must survive the process (a persistent session), or while its
 * unacknowledged share of a STOMP queue must (see {@link Broker#keepSharesInStore}).
 *
 * <p>The queue calls it under its own lock, so the store records a session's changes in the order they happened:
 * an entry's removal never overtakes its insertion, nor a packet id's reuse its release.
 */
final class SessionJournal {
    private final MessageStore store;
    private final String sessionId;
    private long lastSeq;

    SessionJournal(MessageStore store, String sessionId) {
        this.store = store;
        this.sessionId = sessionId;
    }

    String sessionId() {
        return sessionId;
    }

    MessageStore store() {
        return store;
    }

    /** A delivery entered the queue: it takes the next position and is written with its payload. */
    void queued(Delivery d) {
        d.storeSeq(++lastSeq);
        store.putQueued(sessionId, d.storeSeq(), d);
    }

    /** A recovered delivery at its stored position; later ones go after it. */
    void restored(Delivery d, long seq) {
        d.storeSeq(seq);
        lastSeq = Math.max(lastSeq, seq);
    }

    /** The delivery holds a packet id in the window (or, QoS 2, its PUBREC came back). */
    void inflight(Delivery d) {
        if (d.storeSeq() != 0) {
            store.putInflight(sessionId, d.storeSeq(), d);
        }
    }

    /** The delivery is done here: acknowledged, expired, or handed to another session. */
    void done(Delivery d) {
        if (d.storeSeq() != 0) {
            store.deleteQueued(sessionId, d.storeSeq(), d);
            d.storeSeq(0);
        }
    }

    void afterWrites(MessageStore.WriteCallback callback) {
        store.afterWrites(callback);
    }
}
