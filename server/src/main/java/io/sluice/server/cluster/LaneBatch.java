package io.sluice.server.cluster;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Several messages of one lane packed into one JetStream message ({@link SendLanes}): JetStream stores, replicates,
 * hands over and is acknowledged for the batch once, instead of once per message. The header
 * {@value #HEADER} gives the number of messages; the body holds each in lane order as
 * {@code <groups length u16><groups UTF-8><message length u32><encoded message>} (groups: the shared groups the
 * receiving node serves for that message, as the {@link SendLanes#GROUPS_HEADER} of a message sent alone; empty for
 * none).
 */
final class LaneBatch {
    static final String HEADER = "Sluice-Batch";

    /** One message of a batch: its shared groups (null: none) and its encoded body. */
    record Entry(String groups, byte[] body) {
    }

    private LaneBatch() {
    }

    /** The bytes a message takes in a batch beyond its body. */
    static int overhead(String groups) {
        return 6 + (groups == null ? 0 : groups.length() * 3);
    }

    static byte[] pack(List<Entry> entries) {
        int size = 0;
        byte[][] groups = new byte[entries.size()][];
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            groups[i] = e.groups() == null ? new byte[0] : e.groups().getBytes(StandardCharsets.UTF_8);
            size += 6 + groups[i].length + e.body().length;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        for (int i = 0; i < entries.size(); i++) {
            b.putShort((short) groups[i].length).put(groups[i]).putInt(entries.get(i).body().length)
                    .put(entries.get(i).body());
        }
        return b.array();
    }

    /** The {@code count} messages of a batch; throws IllegalArgumentException when the body does not hold them. */
    static List<Entry> unpack(byte[] data, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("a batch of " + count + " messages");
        }
        ByteBuffer b = ByteBuffer.wrap(data);
        List<Entry> out = new ArrayList<>(count);
        try {
            for (int i = 0; i < count; i++) {
                byte[] groups = new byte[Short.toUnsignedInt(b.getShort())];
                b.get(groups);
                int length = b.getInt();
                if (length < 0) {
                    throw new IllegalArgumentException("negative message length in a batch");
                }
                byte[] body = new byte[length];
                b.get(body);
                out.add(new Entry(groups.length == 0 ? null : new String(groups, StandardCharsets.UTF_8), body));
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new IllegalArgumentException("a batch shorter than its " + count + " messages", e);
        }
        if (b.hasRemaining()) {
            throw new IllegalArgumentException("a batch longer than its " + count + " messages");
        }
        return out;
    }
}
