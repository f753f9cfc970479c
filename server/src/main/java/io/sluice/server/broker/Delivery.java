package io.sluice.server.broker;

/**
 * A message on its way to one session: the effective QoS (the lower of publish and subscription QoS), the
 * retain flag as it goes out, the matching subscription identifiers, and the adapter's subscription tag.
 *
 * <p>The packet id and DUP flag are set by the session's {@link SubscriberQueue} when the delivery enters
 * the in-flight window, on the session's executor; adapters only read them.
 */
public final class Delivery {
    private final Message message;
    private final int qos;
    private final boolean retainFlag;
    private final int[] subscriptionIds;
    private final Object tag;
    private int packetId;
    private long sendSequence;
    private boolean duplicate;
    private boolean released;
    private SharedGroup group;
    private long storeSeq;
    /** Runs once the delivery is done with (acknowledged or expired): a message kept in the cluster is let go then. */
    private Runnable settled;
    private Object storeHandle;
    /** Runs once its client acknowledges it (PUBACK, PUBCOMP, STOMP ACK): a publisher may wait for that. */
    private Runnable acknowledged;

    public Delivery(Message message, int qos, boolean retainFlag, int[] subscriptionIds, Object tag) {
        this.message = message;
        this.qos = qos;
        this.retainFlag = retainFlag;
        this.subscriptionIds = subscriptionIds == null ? NO_IDS : subscriptionIds;
        this.tag = tag;
    }

    static final int[] NO_IDS = new int[0];

    public Message message() {
        return message;
    }

    public int qos() {
        return qos;
    }

    public boolean retainFlag() {
        return retainFlag;
    }

    public int[] subscriptionIds() {
        return subscriptionIds;
    }

    public Object tag() {
        return tag;
    }

    /** 0 for QoS 0; for QoS 1 and 2, the id this delivery holds in the in-flight window. */
    public int packetId() {
        return packetId;
    }

    /** True when this is a resend after the session resumed (MQTT DUP, STOMP redelivered). */
    public boolean duplicate() {
        return duplicate;
    }

    /** QoS 2 only: PUBREC came back and PUBREL was (or is to be) sent; on resume, PUBREL is resent. */
    public boolean released() {
        return released;
    }

    /** The key of the shared subscription that chose this session ($share/GROUP/filter), null for its own. */
    public String groupKey() {
        return group == null ? null : "$share/" + group.name() + "/" + group.filter();
    }

    /** The shared group that chose this session, so a leaving member's unacknowledged share can move on. */
    SharedGroup group() {
        return group;
    }

    Delivery viaGroup(SharedGroup group) {
        this.group = group;
        return this;
    }

    /** Run {@code r} once this delivery is acknowledged by its client, or expires. */
    void whenSettled(Runnable r) {
        this.settled = r;
    }

    /** Acknowledged or expired: what waits for that (a cluster's copy of the message) may let it go. */
    void settle() {
        Runnable r = settled;
        if (r != null) {
            settled = null;
            r.run();
        }
    }

    /** Run {@code r} once this delivery's client acknowledges it; set before it is offered to a queue. */
    void whenAcknowledged(Runnable r) {
        this.acknowledged = r;
    }

    /** Its client acknowledged it: what waits for that (a publisher's acknowledgement) may go on. */
    void acknowledgedByClient() {
        Runnable r = acknowledged;
        if (r != null) {
            acknowledged = null;
            r.run();
        }
    }

    /** Its position in a journaled session's stored queue, 0 when not stored. */
    long storeSeq() {
        return storeSeq;
    }

    void storeSeq(long seq) {
        this.storeSeq = seq;
    }

    /**
     * For {@link MessageStore} implementations, under the session queue's lock (where every store call about this
     * delivery is made): what the store keeps about its entry, e.g. a write it has not made yet.
     */
    public Object storeHandle() {
        return storeHandle;
    }

    public void storeHandle(Object handle) {
        this.storeHandle = handle;
    }

    void assign(int packetId, long sendSequence) {
        this.packetId = packetId;
        this.sendSequence = sendSequence;
    }

    long sendSequence() {
        return sendSequence;
    }

    void markDuplicate() {
        this.duplicate = true;
    }

    void markReleased() {
        this.released = true;
    }

    int weight() {
        return message.weight();
    }

    @Override
    public String toString() {
        return "Delivery[" + message.topic() + ", qos=" + qos + ", id=" + packetId + (duplicate ? ", dup" : "") + "]";
    }
}
