package io.sluice.server.broker;

import java.util.Objects;

/**
 * One application message as the core sees it, whatever protocol carried it: immutable and shared by every
 * queue it fans out to.
 *
 * <p>The payload is copied once, exactly sized, when the message enters the broker. Holding a retained slice
 * of the inbound buffer instead would pin a whole pooled read chunk for as long as the slowest subscriber
 * keeps the message queued; one copy per publish (never per delivery) keeps queued memory equal to queued
 * bytes. Adapters wrap it without copying on the way out.
 */
public final class Message {
    private final String topic;
    private final byte[] payload;
    private final int qos;
    private final boolean retain;
    private final MessageProperties properties;
    private final String publisherId;
    private final long receivedNanos;
    private final long expiresAtMillis;
    // the message store's handle, guarded by this message's monitor (see MessageStore: payloads once)
    private long storeId;
    private int storeRefs;
    private Object storeHandle;
    /**
     * Its place in the {@link MessageHistory}, 0 when its topic keeps none. Written once by {@link Broker#publish}
     * before the message reaches any queue (so every reader sees it through the queue's lock), never after.
     */
    private long position;

    private Message(Builder b) {
        this.topic = Objects.requireNonNull(b.topic, "topic");
        this.payload = b.payload == null ? new byte[0] : b.payload;
        this.qos = b.qos;
        this.retain = b.retain;
        this.properties = b.properties == null ? MessageProperties.NONE : b.properties;
        this.publisherId = b.publisherId;
        this.receivedNanos = b.receivedNanos == 0 ? System.nanoTime() : b.receivedNanos;
        this.expiresAtMillis = b.expiresAtMillis;
    }

    public static Builder builder(String topic) {
        return new Builder(topic);
    }

    public String topic() {
        return topic;
    }

    /** Shared, do not modify. */
    public byte[] payload() {
        return payload;
    }

    public int qos() {
        return qos;
    }

    public boolean retain() {
        return retain;
    }

    public MessageProperties properties() {
        return properties;
    }

    /**
     * The {@link SessionId#key() key} of the session that published it (namespace and client id), for MQTT 5 No
     * Local; null for messages the broker makes.
     */
    public String publisherId() {
        return publisherId;
    }

    /** {@link System#nanoTime()} when it arrived, for publish-to-deliver latency. */
    public long receivedNanos() {
        return receivedNanos;
    }

    /** Wall-clock expiry (MQTT 5 Message Expiry Interval), 0 when it never expires. */
    public long expiresAtMillis() {
        return expiresAtMillis;
    }

    public boolean isExpired(long nowMillis) {
        return expiresAtMillis != 0 && nowMillis >= expiresAtMillis;
    }

    /** Remaining expiry interval in whole seconds to forward (MQTT 5 section 3.3.2.3.3), -1 when none. */
    public long remainingExpirySeconds(long nowMillis) {
        if (expiresAtMillis == 0) {
            return -1;
        }
        return Math.max(0, (expiresAtMillis - nowMillis + 999) / 1000);
    }

    /**
     * For {@link MessageStore} implementations, under this message's monitor: the id of its stored payload
     * record, 0 when none holds it.
     */
    public long storeId() {
        return storeId;
    }

    public void storeId(long id) {
        this.storeId = id;
    }

    /** For {@link MessageStore} implementations, under this message's monitor: stored references to it. */
    public int storeRefs() {
        return storeRefs;
    }

    public void storeRefs(int refs) {
        this.storeRefs = refs;
    }

    /**
     * For {@link MessageStore} implementations, under this message's monitor: what the store keeps about its
     * payload record, e.g. a write it has not made yet.
     */
    public Object storeHandle() {
        return storeHandle;
    }

    public void storeHandle(Object handle) {
        this.storeHandle = handle;
    }

    /** Its position in the message history (resume by position, SSE ids), 0 when its topic keeps no history. */
    public long position() {
        return position;
    }

    void position(long position) {
        this.position = position;
    }

    /** The size counted against queue byte limits. */
    public int weight() {
        return payload.length + topic.length() + 64;
    }

    public Builder toBuilder() {
        Builder b = new Builder(topic);
        b.payload = payload;
        b.qos = qos;
        b.retain = retain;
        b.properties = properties;
        b.publisherId = publisherId;
        b.receivedNanos = receivedNanos;
        b.expiresAtMillis = expiresAtMillis;
        return b;
    }

    @Override
    public String toString() {
        return "Message[" + topic + ", qos=" + qos + (retain ? ", retained" : "") + ", " + payload.length + " bytes]";
    }

    public static final class Builder {
        private final String topic;
        private byte[] payload;
        private int qos;
        private boolean retain;
        private MessageProperties properties;
        private String publisherId;
        private long receivedNanos;
        private long expiresAtMillis;

        private Builder(String topic) {
            this.topic = topic;
        }

        /** The publishing session, for No Local. */
        public Builder publisher(SessionId id) {
            this.publisherId = id == null ? null : id.key();
            return this;
        }

        public Builder payload(byte[] payload) {
            this.payload = payload;
            return this;
        }

        public Builder qos(int qos) {
            if (qos < 0 || qos > 2) {
                throw new IllegalArgumentException("qos " + qos);
            }
            this.qos = qos;
            return this;
        }

        public Builder retain(boolean retain) {
            this.retain = retain;
            return this;
        }

        public Builder properties(MessageProperties properties) {
            this.properties = properties;
            return this;
        }

        /** As {@link #publisher}, from a stored key. */
        public Builder publisherId(String publisherId) {
            this.publisherId = publisherId;
            return this;
        }

        public Builder receivedNanos(long receivedNanos) {
            this.receivedNanos = receivedNanos;
            return this;
        }

        /** Seconds from now, as in the MQTT 5 Message Expiry Interval; negative for none. */
        public Builder expiryIntervalSeconds(long seconds) {
            this.expiresAtMillis = seconds < 0 ? 0 : System.currentTimeMillis() + seconds * 1000;
            return this;
        }

        public Builder expiresAtMillis(long expiresAtMillis) {
            this.expiresAtMillis = expiresAtMillis;
            return this;
        }

        public Message build() {
            return new Message(this);
        }
    }
}
