package io.sluice.server.store;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The store's keys, format version 5 (docs/persistence.md has the same table). Every key starts with one kind
 * byte, so one scan in key order meets messages first, then sessions and what they hold, then retained
 * messages: recovery reads the database once, front to back. Session ids and topics are length-prefixed, so
 * no id is a prefix of another's keys; numbers are big-endian, so queue entries sort in queue order.
 *
 * <pre>
 * 00 'v'                         format version (int)
 * 00 'c'                         clock: wall-clock millis the broker last wrote (long), for downtime
 * 00 'e'                         history epoch: chosen when the store was created (long)
 * 00 'g'                         history generation: starts so far, this one included (long)
 * 00 'f'                         history: positions up to this one may belong to a forgotten topic (long)
 * 00 'r'                         history read: a reader was given a position; every start writes the history (empty)
 * 10 id                          message: topic, payload, QoS, retain, properties, publisher, expiry
 * 20 sid                         persistent session: expiry interval, disconnected at
 * 21 sid key                     subscription: filter, share group, options
 * 22 sid seq                     queue entry: message id, QoS, flags, packet id, subscription ids, group
 *                                (format 4: flag 4, message id 0, then the message itself)
 * 23 sid packetId                inbound QoS 2 packet id received, not released (empty value)
 * 24 sid                         delayed will: publish at, message
 * 30 topic                       retained: message id
 * 40 topic position              history entry: appended at (millis), message (format 2: message id)
 * 41 topic                       history trimmed: nothing of the topic at or before this position is kept (long)
 * 42 topic                       history held QoS 0 messages (memory only) in the run that wrote it (empty value)
 * </pre>
 * {@code sid} and {@code topic} are a 2-byte length and UTF-8; {@code id}, {@code seq}, {@code position} 8 bytes;
 * {@code packetId} 2 bytes; {@code key} UTF-8 to the end.
 */
final class KeyLayout {
    /**
     * 2 added {@code 42}: a version 1 reader would not know that such a topic's history has gaps. 3 holds the message
     * inline in a history entry instead of its id (a start rewrites format 2 entries; a version 2 reader would take
     * every inline entry for one whose payload is missing). 4 lets a queue entry hold its message inline (flag 4)
     * instead of a message id: a format 3 store is a format 4 store as it is, but a version 3 reader would drop every
     * inline entry as one whose payload is missing. 5 writes the history only from the first reader of the store's life
     * on ({@code 00 'r'}): a version 4 reader would write it from its start but hand out positions without the mark,
     * and a later version 5 start would then leave readers of them a silent gap; a format 4 store is marked read
     * (it wrote its history from its first start, readers may hold its positions).
     */
    static final int FORMAT_VERSION = 5;

    static final byte META = 0x00;
    static final byte MESSAGE = 0x10;
    static final byte SESSION = 0x20;
    static final byte SUBSCRIPTION = 0x21;
    static final byte QUEUED = 0x22;
    static final byte INBOUND_QOS2 = 0x23;
    static final byte WILL = 0x24;
    static final byte RETAINED = 0x30;
    static final byte HISTORY = 0x40;
    static final byte HISTORY_TRIMMED = 0x41;
    static final byte HISTORY_IN_MEMORY = 0x42;

    static final byte[] VERSION_KEY = {META, 'v'};
    static final byte[] CLOCK_KEY = {META, 'c'};
    static final byte[] HISTORY_EPOCH_KEY = {META, 'e'};
    static final byte[] HISTORY_GENERATION_KEY = {META, 'g'};
    static final byte[] HISTORY_FORGOTTEN_KEY = {META, 'f'};
    static final byte[] HISTORY_READ_KEY = {META, 'r'};

    private KeyLayout() {
    }

    static byte[] message(long id) {
        return ByteBuffer.allocate(9).put(MESSAGE).putLong(id).array();
    }

    static byte[] session(String sid) {
        return prefixed(SESSION, sid, 0).array();
    }

    static byte[] subscription(String sid, String key) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        return prefixed(SUBSCRIPTION, sid, k.length).put(k).array();
    }

    static byte[] queued(String sid, long seq) {
        return prefixed(QUEUED, sid, 8).putLong(seq).array();
    }

    static byte[] inboundQos2(String sid, int packetId) {
        return prefixed(INBOUND_QOS2, sid, 2).putShort((short) packetId).array();
    }

    static byte[] will(String sid) {
        return prefixed(WILL, sid, 0).array();
    }

    static byte[] retained(String topic) {
        return prefixed(RETAINED, topic, 0).array();
    }

    static byte[] history(String topic, long position) {
        return prefixed(HISTORY, topic, 8).putLong(position).array();
    }

    static byte[] historyTrimmed(String topic) {
        return prefixed(HISTORY_TRIMMED, topic, 0).array();
    }

    static byte[] historyInMemory(String topic) {
        return prefixed(HISTORY_IN_MEMORY, topic, 0).array();
    }

    // ---- the same keys written into the writer's reused buffer

    static void message(ByteBuf out, long id) {
        out.writeByte(MESSAGE).writeLong(id);
    }

    static void queued(ByteBuf out, String sid, long seq) {
        prefixed(out, QUEUED, sid).writeLong(seq);
    }

    static void history(ByteBuf out, String topic, long position) {
        prefixed(out, HISTORY, topic).writeLong(position);
    }

    /** The first key of a kind for one session or topic: {@code kind sid}. */
    static byte[] start(byte kind, String sidOrTopic) {
        return prefixed(kind, sidOrTopic, 0).array();
    }

    /** The key just past every key starting with {@code kind sid}. */
    static byte[] end(byte kind, String sidOrTopic) {
        return increment(start(kind, sidOrTopic));
    }

    /** The smallest key greater than every key that starts with {@code prefix}. */
    static byte[] increment(byte[] prefix) {
        byte[] out = prefix.clone();
        for (int i = out.length - 1; i >= 0; i--) {
            if (out[i] != (byte) 0xFF) {
                out[i]++;
                return java.util.Arrays.copyOf(out, i + 1);
            }
        }
        throw new IllegalArgumentException("no key follows an all-0xFF prefix");
    }

    // ---- reading keys back

    static String idAt(byte[] key) {
        int len = ((key[1] & 0xFF) << 8) | (key[2] & 0xFF);
        return new String(key, 3, len, StandardCharsets.UTF_8);
    }

    /** Offset of what follows {@code kind sid} in a key. */
    static int afterId(byte[] key) {
        return 3 + (((key[1] & 0xFF) << 8) | (key[2] & 0xFF));
    }

    static long longAt(byte[] key, int offset) {
        return ByteBuffer.wrap(key, offset, 8).getLong();
    }

    static int shortAt(byte[] key, int offset) {
        return ByteBuffer.wrap(key, offset, 2).getShort() & 0xFFFF;
    }

    static String restAt(byte[] key, int offset) {
        return new String(key, offset, key.length - offset, StandardCharsets.UTF_8);
    }

    private static ByteBuf prefixed(ByteBuf out, byte kind, String id) {
        int len = ByteBufUtil.utf8Bytes(id);
        if (len > 0xFFFF) {
            throw new IllegalArgumentException("id longer than 65535 bytes");
        }
        out.writeByte(kind).writeShort(len);
        ByteBufUtil.writeUtf8(out, id);
        return out;
    }

    private static ByteBuffer prefixed(byte kind, String id, int extra) {
        byte[] b = id.getBytes(StandardCharsets.UTF_8);
        if (b.length > 0xFFFF) {
            throw new IllegalArgumentException("id longer than 65535 bytes");
        }
        return ByteBuffer.allocate(3 + b.length + extra).put(kind).putShort((short) b.length).put(b);
    }
}
