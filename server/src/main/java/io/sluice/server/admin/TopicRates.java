package io.sluice.server.admin;

import io.sluice.server.broker.Message;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Messages published per topic, and once a second the rate of each subtree of the topic tree. The publish path
 * pays one map lookup and one counter add (no allocation once a topic is known); the tree is built by
 * {@link #sample} on the admin thread. At most {@code maxTopics} topics are counted one by one, the rest
 * together as "other topics", so a client inventing topics cannot grow this without bound; a topic idle for
 * {@code idleMillis} makes room again.
 */
public final class TopicRates {
    private final int maxTopics;
    private final long idleMillis;
    private final ConcurrentHashMap<String, Counter> topics = new ConcurrentHashMap<>();
    private final Counter others = new Counter();
    private volatile Node tree = new Node("", "");

    public TopicRates(int maxTopics, long idleMillis) {
        this.maxTopics = maxTopics;
        this.idleMillis = idleMillis;
    }

    private static final class Counter {
        final LongAdder count = new LongAdder();
        long previous;
        long lastActiveMillis = System.currentTimeMillis();
    }

    /** One level of the tree as of the last sample: messages since start and per second, its whole subtree. */
    public static final class Node {
        public final String name;
        public final String path;
        public long messages;
        public double perSecond;
        /** A message was published to exactly this topic (not only below it). */
        public boolean topic;
        final TreeMap<String, Node> children = new TreeMap<>();

        Node(String name, String path) {
            this.name = name;
            this.path = path;
        }

        public List<Node> children() {
            return new ArrayList<>(children.values());
        }

        public Node child(String name) {
            return children.get(name);
        }
    }

    /** Called on the publisher's thread for every accepted publish. */
    public void published(Message m) {
        Counter c = topics.get(m.topic());
        if (c == null) {
            if (topics.size() >= maxTopics) {
                others.count.increment();
                return;
            }
            c = topics.computeIfAbsent(m.topic(), t -> new Counter());
        }
        c.count.increment();
    }

    /**
     * Take a sample {@code elapsedMillis} after the previous one: rates over that interval, the tree rebuilt.
     * Only one thread samples (the admin timer).
     */
    public void sample(long elapsedMillis, long nowMillis) {
        double seconds = Math.max(1, elapsedMillis) / 1000.0;
        Node root = new Node("", "");
        for (Iterator<Map.Entry<String, Counter>> it = topics.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Counter> e = it.next();
            Counter c = e.getValue();
            long total = c.count.sum();
            long delta = total - c.previous;
            c.previous = total;
            if (delta > 0) {
                c.lastActiveMillis = nowMillis;
            } else if (nowMillis - c.lastActiveMillis > idleMillis) {
                it.remove();
                continue;
            }
            add(root, e.getKey(), total, delta / seconds);
        }
        long otherTotal = others.count.sum();
        if (otherTotal > 0) {
            root.messages += otherTotal;
            root.perSecond += (otherTotal - others.previous) / seconds;
            others.previous = otherTotal;
        }
        tree = root;
    }

    private static void add(Node root, String topic, long total, double perSecond) {
        Node node = root;
        node.messages += total;
        node.perSecond += perSecond;
        int start = 0;
        while (true) {
            int slash = topic.indexOf('/', start);
            String level = slash < 0 ? topic.substring(start) : topic.substring(start, slash);
            String path = slash < 0 ? topic : topic.substring(0, slash);
            Node parent = node;
            node = parent.children.computeIfAbsent(level, l -> new Node(l, path));
            node.messages += total;
            node.perSecond += perSecond;
            if (slash < 0) {
                node.topic = true;
                return;
            }
            start = slash + 1;
        }
    }

    /** The node at {@code path} ("" for the root) in the last sample, null when nothing was published there. */
    public Node node(String path) {
        Node node = tree;
        if (path.isEmpty()) {
            return node;
        }
        for (String level : path.split("/", -1)) {
            node = node.child(level);
            if (node == null) {
                return null;
            }
        }
        return node;
    }

    /** Publishes to topics beyond {@code maxTopics}, counted together. */
    public long otherTopicMessages() {
        return others.count.sum();
    }
}
