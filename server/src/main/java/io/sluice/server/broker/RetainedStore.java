package io.sluice.server.broker;

import io.sluice.protocol.topic.TopicLevels;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The last retained message of each topic (MQTT 5 section 3.3.1.3), kept in a tree of topic levels so a
 * wildcard subscribe walks only the branches its filter can match.
 */
public final class RetainedStore {
    private final Node root = new Node();
    private final AtomicInteger count = new AtomicInteger();
    private final MessageStore store;

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
        return store.isDurable();
    }

    /** Recovery: a retained message read back from the store. */
    void restore(Message m) {
        put(m, false);
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
        node.message = m;
        if (write && store.isDurable()) {
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
        if (previous != null) {
            path[levels.length].message = null;
            count.decrementAndGet();
        }
        for (int i = levels.length; i > 0 && path[i].isEmpty(); i--) {
            path[i - 1].children.remove(levels[i - 1], path[i]);
        }
        if (previous != null && store.isDurable()) {
            store.deleteRetained(topic, previous);
            return true;
        }
        return false;
    }

    public int size() {
        return count.get();
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

        boolean isEmpty() {
            return message == null && children.isEmpty();
        }
    }
}
