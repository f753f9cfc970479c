package io.sluice.server.store;

import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageProperties;
import io.sluice.server.broker.SubscriptionOptions;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The store's values, format version 1: {@link DataOutputStream}'s big-endian fields in a fixed order
 * (docs/persistence.md), written straight into a {@link ByteBuf} (the writer thread's reused buffer).
 * A field added later goes at the end of its record with a new format version; readers of version 1 never see
 * it. Strings are modified UTF-8 with a presence byte where they may be absent.
 */
final class Records {
    private Records() {
    }

    // ---- message: topic, payload, qos, retain, expiresAtMillis, publisherId?, properties
    static byte[] message(Message m) {
        return bytes(out -> writeMessage(out, m), 40 + m.topic().length() + m.payload().length);
    }

    static void writeMessage(ByteBuf out, Message m) {
        writeUtf(out, m.topic());
        out.writeInt(m.payload().length);
        out.writeBytes(m.payload());
        out.writeByte(m.qos());
        out.writeBoolean(m.retain());
        out.writeLong(m.expiresAtMillis());
        writeOptional(out, m.publisherId());
        MessageProperties p = m.properties();
        writeOptional(out, p.contentType());
        out.writeByte(p.payloadFormatUtf8() == null ? 2 : p.payloadFormatUtf8() ? 1 : 0);
        writeOptional(out, p.responseTopic());
        out.writeInt(p.correlationData() == null ? -1 : p.correlationData().length);
        if (p.correlationData() != null) {
            out.writeBytes(p.correlationData());
        }
        out.writeInt(p.userProperties().size());
        for (Map.Entry<String, String> e : p.userProperties()) {
            writeUtf(out, e.getKey());
            writeUtf(out, e.getValue());
        }
    }

    static Message message(byte[] value) {
        return readMessage(ByteBuffer.wrap(value));
    }

    /** The same record as {@link #readMessage(DataInputStream)}, without a stream: recovery reads millions. */
    static Message readMessage(ByteBuffer in) {
        String topic = utf(in);
        byte[] payload = new byte[in.getInt()];
        in.get(payload);
        int qos = in.get();
        boolean retain = in.get() != 0;
        long expiresAt = in.getLong();
        String publisher = optional(in);
        String contentType = optional(in);
        int format = in.get();
        String responseTopic = optional(in);
        int correlationLength = in.getInt();
        byte[] correlation = null;
        if (correlationLength >= 0) {
            correlation = new byte[correlationLength];
            in.get(correlation);
        }
        int users = in.getInt();
        MessageProperties props = MessageProperties.NONE;
        if (contentType != null || format != 2 || responseTopic != null || correlation != null || users > 0) {
            List<Map.Entry<String, String>> userProperties = new ArrayList<>(users);
            for (int i = 0; i < users; i++) {
                userProperties.add(new AbstractMap.SimpleImmutableEntry<>(utf(in), utf(in)));
            }
            props = new MessageProperties(contentType, format == 2 ? null : format == 1, responseTopic, correlation,
                    userProperties);
        }
        return Message.builder(topic).payload(payload).qos(qos).retain(retain).expiresAtMillis(expiresAt)
                .publisherId(publisher).properties(props).build();
    }

    /** A {@code writeUTF} string: ASCII (the usual case) straight from the bytes, anything else through Java's reader. */
    private static String utf(ByteBuffer in) {
        int len = in.getShort() & 0xFFFF;
        int start = in.position();
        byte[] a = in.array();
        int off = in.arrayOffset() + start;
        boolean ascii = true;
        for (int i = 0; i < len; i++) {
            if (a[off + i] <= 0) {
                ascii = false;
                break;
            }
        }
        in.position(start + len);
        if (ascii) {
            return new String(a, off, len, java.nio.charset.StandardCharsets.ISO_8859_1);
        }
        byte[] framed = new byte[len + 2];
        framed[0] = (byte) (len >> 8);
        framed[1] = (byte) len;
        System.arraycopy(a, off, framed, 2, len);
        return read(framed, stream -> stream.readUTF());
    }

    private static String optional(ByteBuffer in) {
        return in.get() != 0 ? utf(in) : null;
    }

    static Message readMessage(DataInputStream in) throws IOException {
        String topic = in.readUTF();
        byte[] payload = new byte[in.readInt()];
        in.readFully(payload);
        int qos = in.readByte();
        boolean retain = in.readBoolean();
        long expiresAt = in.readLong();
        String publisher = readOptional(in);
        String contentType = readOptional(in);
        int format = in.readByte();
        String responseTopic = readOptional(in);
        int correlationLength = in.readInt();
        byte[] correlation = null;
        if (correlationLength >= 0) {
            correlation = new byte[correlationLength];
            in.readFully(correlation);
        }
        int users = in.readInt();
        List<Map.Entry<String, String>> userProperties = new ArrayList<>(users);
        for (int i = 0; i < users; i++) {
            userProperties.add(new AbstractMap.SimpleImmutableEntry<>(in.readUTF(), in.readUTF()));
        }
        MessageProperties props = new MessageProperties(contentType, format == 2 ? null : format == 1,
                responseTopic, correlation, userProperties);
        return Message.builder(topic).payload(payload).qos(qos).retain(retain).expiresAtMillis(expiresAt)
                .publisherId(publisher).properties(props.isEmpty() ? MessageProperties.NONE : props).build();
    }

    // ---- session: expiryIntervalSeconds, disconnectedAtMillis
    static byte[] session(long expiryIntervalSeconds, long disconnectedAtMillis) {
        return java.nio.ByteBuffer.allocate(16).putLong(expiryIntervalSeconds).putLong(disconnectedAtMillis).array();
    }

    // ---- subscription: filter, shareGroup?, qos, noLocal, retainAsPublished, retainHandling, subscriptionId
    record StoredSubscription(String filter, String shareGroup, SubscriptionOptions options) {
    }

    static byte[] subscription(String filter, String shareGroup, SubscriptionOptions o) {
        return bytes(out -> {
            writeUtf(out, filter);
            writeOptional(out, shareGroup);
            out.writeByte(o.qos());
            out.writeBoolean(o.noLocal());
            out.writeBoolean(o.retainAsPublished());
            out.writeByte(o.retainHandling());
            out.writeInt(o.subscriptionId());
        });
    }

    static StoredSubscription subscription(byte[] value) {
        return read(value, in -> new StoredSubscription(in.readUTF(), readOptional(in),
                new SubscriptionOptions(in.readByte(), in.readBoolean(), in.readBoolean(), in.readByte(), in.readInt())));
    }

    // ---- queue entry: messageId, qos, flags (1 retain, 2 released, 4 message inline), packetId, subscription ids,
    // groupKey?, and (format 4, flag 4) the message itself, messageId then 0
    private static final int RETAIN = 1;
    private static final int RELEASED = 2;
    private static final int INLINE = 4;

    /** {@code message} is the entry's own copy of the message (flag 4), null when it refers to {@code messageId}. */
    record StoredEntry(long messageId, int qos, boolean retainFlag, boolean released, int packetId,
                       int[] subscriptionIds, String groupKey, Message message) {
    }

    static byte[] entry(long messageId, int qos, boolean retainFlag, boolean released, int packetId,
                        int[] subscriptionIds, String groupKey) {
        return bytes(out -> writeEntry(out, messageId, qos, retainFlag, released, packetId, subscriptionIds, groupKey,
                null));
    }

    static byte[] inlineEntry(Message m, int qos, boolean retainFlag, boolean released, int packetId,
                              int[] subscriptionIds, String groupKey) {
        return bytes(out -> writeEntry(out, 0, qos, retainFlag, released, packetId, subscriptionIds, groupKey, m));
    }

    /** A queue entry referring to payload record {@code messageId}, or, when {@code inline} is given, carrying it. */
    static void writeEntry(ByteBuf out, long messageId, int qos, boolean retainFlag, boolean released, int packetId,
                           int[] subscriptionIds, String groupKey, Message inline) {
        out.writeLong(inline == null ? messageId : 0);
        out.writeByte(qos);
        out.writeByte((retainFlag ? RETAIN : 0) | (released ? RELEASED : 0) | (inline != null ? INLINE : 0));
        out.writeShort(packetId);
        out.writeShort(subscriptionIds.length);
        for (int id : subscriptionIds) {
            out.writeInt(id);
        }
        writeOptional(out, groupKey);
        if (inline != null) {
            writeMessage(out, inline);
        }
    }

    private static final int[] NO_IDS = new int[0];

    static StoredEntry entry(byte[] value) {
        ByteBuffer in = ByteBuffer.wrap(value);
        long id = in.getLong();
        int qos = in.get();
        int flags = in.get();
        int packetId = in.getShort() & 0xFFFF;
        int n = in.getShort();
        int[] ids = n == 0 ? NO_IDS : new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = in.getInt();
        }
        String groupKey = optional(in);
        return new StoredEntry(id, qos, (flags & RETAIN) != 0, (flags & RELEASED) != 0, packetId, ids, groupKey,
                (flags & INLINE) != 0 ? readMessage(in) : null);
    }

    // ---- will: publishAtMillis, message
    static byte[] will(Message m, long publishAtMillis) {
        return bytes(out -> {
            out.writeLong(publishAtMillis);
            writeMessage(out, m);
        });
    }

    record StoredWill(long publishAtMillis, Message message) {
    }

    static StoredWill will(byte[] value) {
        ByteBuffer in = ByteBuffer.wrap(value);
        return new StoredWill(in.getLong(), readMessage(in));
    }

    // ---- history entry (format 3): appendedAtMillis, message. Format 2 held appendedAtMillis and a message id

    /** The length of a format 2 history entry; a format 3 one is always longer (a message record is 28 bytes or more). */
    static final int HISTORY_REFERENCE_LENGTH = 16;

    static byte[] historyEntry(long appendedAtMillis, Message m) {
        return bytes(out -> writeHistoryEntry(out, appendedAtMillis, m), 48 + m.topic().length() + m.payload().length);
    }

    static void writeHistoryEntry(ByteBuf out, long appendedAtMillis, Message m) {
        out.writeLong(appendedAtMillis);
        writeMessage(out, m);
    }

    static Message historyMessage(byte[] value) {
        return readMessage(ByteBuffer.wrap(value, 8, value.length - 8));
    }

    // ---- plumbing

    interface Reader<T> {
        T read(DataInputStream in) throws IOException;
    }

    /** A record as its own array (tests, the cluster's codec, what is written rarely); the writer encodes in place. */
    static byte[] bytes(Consumer<ByteBuf> w) {
        return bytes(w, 64);
    }

    static byte[] bytes(Consumer<ByteBuf> w, int sizeHint) {
        ByteBuf out = Unpooled.buffer(sizeHint);
        w.accept(out);
        return ByteBufUtil.getBytes(out);
    }

    static <T> T read(byte[] value, Reader<T> r) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(value))) {
            return r.read(in);
        } catch (IOException e) {
            throw new IllegalStateException("unreadable record in the message store: " + e.getMessage(), e);
        }
    }

    /**
     * {@link DataOutputStream#writeUTF}'s encoding (a 2-byte length, modified UTF-8), which the records have used
     * from the start: ASCII without NUL, nearly every topic and id, is its own bytes; anything else goes through
     * the JDK's encoder.
     */
    static void writeUtf(ByteBuf out, String s) {
        int len = s.length();
        if (len <= 0xFFFF && plainAscii(s)) {
            out.writeShort(len);
            ByteBufUtil.writeAscii(out, s);
            return;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(len * 3 + 2);
        try (DataOutputStream data = new DataOutputStream(bytes)) {
            data.writeUTF(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.writeBytes(bytes.toByteArray());
    }

    private static boolean plainAscii(String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (c == 0 || c > 0x7F) {
                return false;
            }
        }
        return true;
    }

    private static void writeOptional(ByteBuf out, String s) {
        out.writeBoolean(s != null);
        if (s != null) {
            writeUtf(out, s);
        }
    }

    private static String readOptional(DataInputStream in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }
}
