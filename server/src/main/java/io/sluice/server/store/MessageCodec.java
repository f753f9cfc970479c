package io.sluice.server.store;

import io.sluice.server.broker.Message;

/**
 * A {@link Message} as bytes, in the store's record format (docs/persistence.md): topic, payload, QoS, retain,
 * expiry, publisher and MQTT 5 properties. The one encoding of a message outside memory, also used to carry it
 * between the nodes of a cluster.
 */
public final class MessageCodec {
    private MessageCodec() {
    }

    public static byte[] encode(Message m) {
        return Records.message(m);
    }

    /** A message read from {@link #encode}'s bytes; a malformed value throws a runtime exception. */
    public static Message decode(byte[] value) {
        return Records.message(value);
    }
}
