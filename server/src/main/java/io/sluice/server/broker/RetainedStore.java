package io.sluice.server.broker;

import io.sluice.protocol.topic.TopicLevels;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The last retained message of each topic (MQTT 5 section 3.3.1.3), kept in a tree of topic levels so a
 * wildcard subscribe walks only the branches its filter can match.
 *
 * <p>A retained message with a Message Expiry Interval is left out of every answer once it expires, and
 * {@link #removeExpired} deletes it (from memory and the message store): the messages that can expire are
 * indexed by expiry, so a sweep costs what it removes, not what the store holds.
 */
public final class RetainedStore {
    private final Node root = new Node();
    private final AtomicInteger count = new AtomicInteger();
    /** Weight (payload and topic) of every retained message; under this store's lock, read freely. */
    private volatile long bytes;
    private final MessageStore store;
    private volatile int maxMessages;
    private volatile long maxBytes;
    /** Retained messages that expire, soonest first; under this store's lock, like the tree. */
    private final TreeSet<Expiry> expiries = new TreeSet<>();
    private long expirySeq;

    public RetainedStore() {
        this(MessageStore.NONE);
    }

    /** Retained messages also kept in {@code store}, written under this store's lock so they keep their order. */
    public RetainedStore(MessageStore store) {
        this.store = store;
    }

    /**
     * Store, replace, or (empty payload) clear the retained message of the message's topic. True when the change
     * went to the message store, so an acknowledgement must wait for it.
     */
    public boolean accept(Message m) {
        if (m.payload().length == 0) {
            return remove(m.topic());
        }
        put(m, true);
        return writes(m.topic());
    }

    /**
     * Whether the topic's retained message goes to the message store: not the broker's own {@code $SYS} figures,
     * which describe the running process (a restart starts them again) and would cost a write every interval.
     */
    private boolean writes(String topic) {
        return store.isDurable() && !topic.startsWith("$SYS/");
    }

    /**
     * Bound the store ({@code max-retained-messages}, {@code max-retained-bytes}; 0: unbounded). Messages already
     * kept stay; {@link #fits} says whether a new one may be.
     */
    public void bound(int maxMessages, long maxBytes) {
        this.maxMessages = maxMessages;
        this.maxBytes = maxBytes;
    }

    /**
     * Whether keeping {@code m} stays within the bounds: replacing a topic's message counts only the difference
     * in size, clearing one always fits. Checked before {@link #accept}, so concurrent publishes may pass a bound by
     * one message each.
     */
    public boolean fits(Message m) {
        if (m.payload().length == 0 || (maxMessages <= 0 && maxBytes <= 0)) {
            return true;
        }
        Message previous = get(m.topic());
        long newBytes = bytes + weight(m) - (previous == null ? 0 : weight(previous));
        int newCount = count.get() + (previous == null ? 1 : 0);
        return (maxMessages <= 0 || newCount <= maxMessages) && (maxBytes <= 0 || newBytes <= maxBytes);
    }

    private Message get(String topic) {
        Node node = root;
        for (String level : TopicLevels.split(topic)) {
            node = node.children.get(level);
            if (node == null) {
                return null;
            }
        }
        return node.message;
    }

    private static long weight(Message m) {
        return m.payload().length + m.topic().length();
    }

    /** Bytes kept: payloads and topics of every retained message. */
    public long bytes() {
        return bytes;
    }

    /** Recovery: a retained message read back from the store; false if it is not one to keep (see {@link #writes}). */
    boolean restore(Message m) {
        if (!writes(m.topic())) {
            return false;
        }
        put(m, false);
        return true;
    }

    private synchronized void put(Message m, boolean write) {
        Node node = root;
        for (String level : TopicLevels.split(m.topic())) {
            node = node.children.computeIfAbsent(level, k -> new Node());
        }
        Message previous = node.message;
        if (previous == null) {
            count.incrementAndGet();
        }
        bytes += weight(m) - (previous == null ? 0 : weight(previous));
        node.message = m;
        if (node.expiry != null) {
            expiries.remove(node.expiry);
            node.expiry = null;
        }
        if (m.expiresAtMillis() != 0) {
            node.expiry = new Expiry(m.expiresAtMillis(), ++expirySeq, m.topic());
            expiries.add(node.expiry);
        }
        if (write && writes(m.topic())) {
            store.putRetained(m, previous);
        }
    }

    private synchronized boolean remove(String topic) {
        String[] levels = TopicLevels.split(topic);
        Node[] path = new Node[levels.length + 1];
        path[0] = root;
        for (int i = 0; i < levels.length; i++) {
            path[i + 1] = path[i].children.get(levels[i]);
            if (path[i + 1] == null) {
                return false;
            }
        }
        Message previous = path[levels.length].message;
        if (path[levels.length].expiry != null) {
            expiries.remove(path[levels.length].expiry);
            path[levels.length].expiry = null;
        }
        if (previous != null) {
            path[levels.length].message = null;
            count.decrementAndGet();
            bytes -= weight(previous);
        }
        for (int i = levels.length; i > 0 && path[i].isEmpty(); i--) {
            path[i - 1].children.remove(levels[i - 1], path[i]);
        }
        if (previous != null && writes(topic)) {
            store.deleteRetained(topic, previous);
            return true;
        }
        return false;
    }

    public int size() {
        return count.get();
    }

    /**
     * Delete up to {@code max} retained messages expired at {@code nowMillis}, soonest first, from memory and the
     * message store; returns how many. Holds the lock for one batch only: the caller repeats while it gets
     * {@code max}.
     */
    public synchronized int removeExpired(long nowMillis, int max) {
        int removed = 0;
        Expiry first;
        while (removed < max && (first = expiries.isEmpty() ? null : expiries.first()) != null
                && first.atMillis() <= nowMillis) {
            remove(first.topic());
            expiries.remove(first);
            removed++;
        }
        return removed;
    }

    /** When the next retained message expires, {@link Long#MAX_VALUE} when none will. */
    public synchronized long nextExpiryMillis() {
        return expiries.isEmpty() ? Long.MAX_VALUE : expiries.first().atMillis();
    }

    private record Expiry(long atMillis, long seq, String topic) implements Comparable<Expiry> {
        @Override
        public int compareTo(Expiry o) {
            int c = Long.compare(atMillis, o.atMillis);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    /** Retained messages whose topic the filter matches, expired ones left out. */
    public List<Message> match(String filter) {
        List<Message> out = new ArrayList<>();
        collect(root, TopicLevels.split(filter), 0, out, System.currentTimeMillis());
        return out;
    }

    private static void collect(Node node, String[] f, int depth, List<Message> out, long now) {
        if (depth == f.length) {
            add(node, out, now);
            return;
        }
        String level = f[depth];
        if (level.equals("#")) {
            // '#' also matches the parent level itself ("a/#" matches "a")
            if (depth > 0) {
                add(node, out, now);
            }
            for (Map.Entry<String, Node> e : node.children.entrySet()) {
                if (depth == 0 && e.getKey().startsWith("$")) {
                    continue;
                }
                addSubtree(e.getValue(), out, now);
            }
        } else if (level.equals("+")) {
            for (Map.Entry<String, Node> e : node.children.entrySet()) {
                if (depth == 0 && e.getKey().startsWith("$")) {
                    continue;
                }
                collect(e.getValue(), f, depth + 1, out, now);
            }
        } else {
            Node next = node.children.get(level);
            if (next != null) {
                collect(next, f, depth + 1, out, now);
            }
        }
    }

    private static void addSubtree(Node node, List<Message> out, long now) {
        add(node, out, now);
        for (Node child : node.children.values()) {
            addSubtree(child, out, now);
        }
    }

    private static void add(Node node, List<Message> out, long now) {
        Message m = node.message;
        if (m != null && !m.isExpired(now)) {
            out.add(m);
        }
    }

    private static final class Node {
        final ConcurrentHashMap<String, Node> children = new ConcurrentHashMap<>(4);
        volatile Message message;
        /** This node's entry in the expiry index, null when its message never expires; under the store's lock. */
        Expiry expiry;

        boolean isEmpty() {
            return message == null && children.isEmpty();
        }
    }
}
