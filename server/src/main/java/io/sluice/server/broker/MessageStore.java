package io.sluice.server.broker;

/**
 * Where the broker keeps what must outlive the process: retained messages, persistent sessions (their
 * subscriptions, queued and in-flight QoS 1/2 deliveries, inbound QoS 2 packet ids), delayed wills, and
 * per-topic history for the HTTP fallback transports. The core owns this interface; the RocksDB
 * implementation lives in {@code io.sluice.server.store}, {@link #NONE} keeps everything in memory.
 *
 * <p><b>Order and durability.</b> Every call only records an operation and returns at once, from any thread:
 * no caller ever waits for the disk. Operations are applied in the order they were made (callers that need an
 * order between two operations make them under the same lock, as a session's queue does). A caller that must
 * not answer before its operations are safe (a PUBACK, a PUBREC, a STOMP RECEIPT, a QoS 2 resend) asks
 * {@link #afterWrites}: its callback runs, on the store's writer thread, once every operation made before it
 * is written (to the write-ahead log, and fsynced with {@code --fsync batch}), or has failed.
 *
 * <p><b>Payloads once.</b> A message is not written once per queue that holds it: queue entries and retained
 * entries refer to it by the id the store keeps on the {@link Message} (a store may let one entry carry it
 * instead), and the store deletes it when the last reference goes. Fan-out to 1,000 persistent sessions writes
 * the payload once or twice and 1,000 small references.
 */
public interface MessageStore extends AutoCloseable {

    /** False when nothing is kept ({@code --persistence none}): the core then skips all store work. */
    boolean isDurable();

    // ---- sessions

    /**
     * A persistent session exists (or changed): {@code expiryIntervalSeconds} as the client set it
     * ({@link Long#MAX_VALUE} never), {@code disconnectedAtMillis} wall-clock time it went offline, 0 online.
     */
    void putSession(String sessionId, long expiryIntervalSeconds, long disconnectedAtMillis);

    /** The session ended (clean start, expiry, no longer persistent): it and everything it holds go. */
    void deleteSession(String sessionId);

    void putSubscription(String sessionId, String filter, String shareGroup, SubscriptionOptions options);

    void deleteSubscription(String sessionId, String key);

    /** A QoS 1/2 delivery entered the session's queue at position {@code seq} (increasing per session). */
    void putQueued(String sessionId, long seq, Delivery delivery);

    /**
     * The delivery at {@code seq} changed state: it holds a packet id in the in-flight window, and for QoS 2,
     * whether the client's PUBREC came back (so a resume resends PUBREL, not the PUBLISH).
     */
    void putInflight(String sessionId, long seq, Delivery delivery);

    /**
     * The delivery at {@code seq} is done (acknowledged, expired, handed on): its entry goes, and its reference to
     * the payload. A store may cancel an entry (and a payload) it has not written yet instead of writing and
     * deleting it: the delivery is done either way.
     */
    void deleteQueued(String sessionId, long seq, Delivery delivery);

    /** An inbound QoS 2 packet id received and not yet released (MQTT 5 section 4.3.3). */
    void putInboundQos2(String sessionId, int packetId);

    void deleteInboundQos2(String sessionId, int packetId);

    /** A will waiting for its delay (or the session's expiry) after the connection ended. */
    void putWill(String sessionId, Message will, long publishAtMillis);

    void deleteWill(String sessionId);

    // ---- retained messages

    /** The retained message of its topic; replaces the previous one, whose reference goes. */
    void putRetained(Message message, Message previous);

    void deleteRetained(String topic, Message previous);

    // ---- per-topic history (the HTTP fallback's replay by position)

    /**
     * Where this run's history positions begin: {@code epoch} names the store's positions for its whole life,
     * {@code firstPosition} is above every position an earlier run could have given out (written or not), so a
     * position from before a restart is never given to another message. {@code read}: a reader was given a position
     * of this store's history in some earlier run (it may come back with it), so this run writes its history through
     * from its first message; otherwise nobody holds a position to resume from, and the history is written only once
     * a reader is given one ({@link #historyRead}). Null without a durable store.
     */
    HistoryOrigin historyOrigin();

    record HistoryOrigin(long epoch, long firstPosition, boolean read) {
    }

    /**
     * A reader is about to be given a position of the history: the history is written through from now on (the
     * caller calls {@link #appendHistory} for every later message), in this run and every later one. Recorded
     * before any later operation, so once a later history entry is durable, so is this.
     */
    void historyRead();

    /**
     * A QoS 1 or 2 message entered a topic's history at {@code position} (increasing, chosen by the caller). The entry
     * carries the message itself (a history is one per topic, so at most one more copy of a payload a queue also
     * holds, and usually the only one: a connected subscriber's queue entry rarely reaches the disk). QoS 0 messages
     * stay in memory ({@link #historyInMemory}).
     */
    void appendHistory(String topic, long position, long appendedAtMillis, Message message);

    /**
     * A topic's history holds, in this run, a message kept in memory only (QoS 0: the store keeps only what it must,
     * messages published with QoS 1 or 2). Said once per topic and run: after a restart, everything of the topic
     * from before it is a gap, since what was only in memory is gone.
     */
    void historyInMemory(String topic);

    /**
     * A topic's history lost its entries from {@code fromPosition} through {@code throughPosition} (by count or age;
     * the ones before {@code fromPosition} went with an earlier trim): they go, and the topic remembers that nothing
     * at or before {@code throughPosition} is complete. A caller may tell it for many
     * entries at once, and later than it dropped them from memory: entries the store still holds past what memory
     * holds come back at the next start, where the history's bounds drop them again.
     */
    void trimHistory(String topic, long fromPosition, long throughPosition);

    /**
     * A topic's whole history up to {@code throughPosition} was forgotten (too many topics); positions up to
     * {@code forgottenUpTo} (over all topics) may have belonged to a forgotten topic.
     */
    void forgetHistory(String topic, long throughPosition, long forgottenUpTo);

    /** The history {@link #recover} hands back (through {@link Recovery#history}), in no particular order. */
    interface HistoryRecovery {
        void entry(String topic, long position, long appendedAtMillis, Message message);

        /** Nothing of {@code topic} at or before {@code throughPosition} is kept any more. */
        void trimmed(String topic, long throughPosition);

        /** Positions up to this one may have belonged to a forgotten topic. */
        void forgotten(long throughPosition);
    }

    // ---- durability and recovery

    /**
     * Run {@code callback} once every operation made before this call is durable ({@code true}), or could not be
     * written ({@code false}: the disk is full, read-only or failing). Without a durable store it runs at once,
     * on the calling thread. Callers hop back to their own thread; the callback must not block.
     */
    void afterWrites(WriteCallback callback);

    @FunctionalInterface
    interface WriteCallback {
        void written(boolean ok);
    }

    /** False while writes fail: publishes that need the store are refused at once instead of queued. */
    boolean isWritable();

    /** Read everything back at start-up, in the order {@link Recovery} documents. */
    void recover(Recovery into);

    /** What {@link #recover} hands back. Sessions come before their subscriptions, queue entries and wills. */
    interface Recovery {
        /** False: the broker does not keep it (the $SYS figures an older version wrote), and the store drops it. */
        boolean retained(Message message);

        /**
         * {@code onlineAtStop}: the session had a connection when the broker stopped (then
         * {@code disconnectedAtMillis} is the last time the broker was seen alive).
         */
        void session(String sessionId, long expiryIntervalSeconds, long disconnectedAtMillis, boolean onlineAtStop);

        void subscription(String sessionId, String filter, String shareGroup, SubscriptionOptions options);

        /**
         * One queue entry, in queue order; {@code packetId} 0 when it was not in flight. {@code groupKey}
         * is the shared subscription ($share/GROUP/filter) that chose the session, null for its own ones.
         */
        void queued(String sessionId, long seq, Message message, int qos, boolean retainFlag, int[] subscriptionIds,
                    int packetId, boolean released, String groupKey);

        void inboundQos2(String sessionId, int packetId);

        void will(String sessionId, Message will, long publishAtMillis);

        /** Where the history goes; null when nothing keeps it (its entries are then deleted). */
        default HistoryRecovery history() {
            return null;
        }
    }

    @Override
    void close();

    /** {@code --persistence none}: nothing is kept, every barrier passes at once. */
    MessageStore NONE = new MessageStore() {
        @Override
        public boolean isDurable() {
            return false;
        }

        @Override
        public void putSession(String sessionId, long expiryIntervalSeconds, long disconnectedAtMillis) {
        }

        @Override
        public void deleteSession(String sessionId) {
        }

        @Override
        public void putSubscription(String sessionId, String filter, String shareGroup, SubscriptionOptions options) {
        }

        @Override
        public void deleteSubscription(String sessionId, String key) {
        }

        @Override
        public void putQueued(String sessionId, long seq, Delivery delivery) {
        }

        @Override
        public void putInflight(String sessionId, long seq, Delivery delivery) {
        }

        @Override
        public void deleteQueued(String sessionId, long seq, Delivery delivery) {
        }

        @Override
        public void putInboundQos2(String sessionId, int packetId) {
        }

        @Override
        public void deleteInboundQos2(String sessionId, int packetId) {
        }

        @Override
        public void putWill(String sessionId, Message will, long publishAtMillis) {
        }

        @Override
        public void deleteWill(String sessionId) {
        }

        @Override
        public void putRetained(Message message, Message previous) {
        }

        @Override
        public void deleteRetained(String topic, Message previous) {
        }

        @Override
        public HistoryOrigin historyOrigin() {
            return null;
        }

        @Override
        public void historyRead() {
        }

        @Override
        public void appendHistory(String topic, long position, long appendedAtMillis, Message message) {
        }

        @Override
        public void historyInMemory(String topic) {
        }

        @Override
        public void trimHistory(String topic, long fromPosition, long throughPosition) {
        }

        @Override
        public void forgetHistory(String topic, long throughPosition, long forgottenUpTo) {
        }

        @Override
        public void afterWrites(WriteCallback callback) {
            callback.written(true);
        }

        @Override
        public boolean isWritable() {
            return true;
        }

        @Override
        public void recover(Recovery into) {
        }

        @Override
        public void close() {
        }

        @Override
        public String toString() {
            return "none";
        }
    };
}
