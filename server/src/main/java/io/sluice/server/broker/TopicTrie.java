package io.sluice.server.broker;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sluice.protocol.topic.TopicLevels;
import io.sluice.protocol.topic.TopicName;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one subscription trie both protocols share, after NATS server's sublist: a tree of topic levels with
 * '+' and '#' children, and a bounded front cache of match results.
 *
 * <p>Matching takes no lock: children are concurrent maps and each node's subscriptions a copy-on-write
 * array. Changes take this trie's write lock (never held while publishing) and bump a generation counter;
 * a cached result from an older generation is recomputed instead of being used.
 */
public final class TopicTrie {
    private final Node root = new Node();
    private final AtomicLong generation = new AtomicLong(1);
    private final Cache<String, MatchResult> cache;
    private final Object writeLock = new Object();
    private volatile int subscriptionCount;

    public TopicTrie(long cacheSize) {
        this.cache = Caffeine.newBuilder().maximumSize(cacheSize).build();
    }

    /** Add or replace (same session, same filter, same share group) a subscription. True when it is new. */
    public boolean add(Subscription s) {
        synchronized (writeLock) {
            Node node = root;
            for (String level : TopicLevels.split(s.filter())) {
                node = node.children.computeIfAbsent(level, k -> new Node());
            }
            boolean added;
            if (s.isShared()) {
                SharedGroup g = node.shared.computeIfAbsent(s.shareGroup(), name -> new SharedGroup(name, s.filter()));
                int before = g.members().length;
                g.put(s);
                added = g.members().length > before;
            } else {
                added = node.put(s);
            }
            if (added) {
                subscriptionCount++;
            }
            generation.incrementAndGet();
            return added;
        }
    }

    public boolean remove(Subscription s) {
        synchronized (writeLock) {
            String[] levels = TopicLevels.split(s.filter());
            Node[] path = new Node[levels.length + 1];
            path[0] = root;
            for (int i = 0; i < levels.length; i++) {
                Node next = path[i].children.get(levels[i]);
                if (next == null) {
                    return false;
                }
                path[i + 1] = next;
            }
            Node leaf = path[levels.length];
            boolean removed;
            if (s.isShared()) {
                SharedGroup g = leaf.shared.get(s.shareGroup());
                removed = g != null && g.remove(s.session());
                if (g != null && g.members().length == 0) {
                    leaf.shared.remove(s.shareGroup());
                }
            } else {
                removed = leaf.remove(s.session());
            }
            for (int i = levels.length; i > 0; i--) {
                if (!path[i].isEmpty()) {
                    break;
                }
                path[i - 1].children.remove(levels[i - 1], path[i]);
            }
            if (removed) {
                subscriptionCount--;
                generation.incrementAndGet();
            }
            return removed;
        }
    }

    public int subscriptionCount() {
        return subscriptionCount;
    }

    /** The shared group of that name and filter, or null. */
    public SharedGroup group(String filter, String name) {
        Node node = root;
        for (String level : TopicLevels.split(filter)) {
            node = node.children.get(level);
            if (node == null) {
                return null;
            }
        }
        return node.shared.get(name);
    }

    /** What a topic matches, from the front cache when its entry is still current, else by walking the trie. */
    public MatchResult match(String topic) {
        long gen = generation.get();
        MatchResult cached = cache.getIfPresent(topic);
        if (cached != null && cached.generation == gen) {
            return cached;
        }
        MatchResult fresh = matchUncached(topic, gen);
        cache.put(topic, fresh);
        return fresh;
    }

    /** The subscriptions a topic matches, in no particular order, computed by walking the trie. */
    public List<Subscription> matchingSubscriptions(String topic) {
        List<Subscription> out = new ArrayList<>();
        MatchResult r = match(topic);
        for (Target t : r.targets) {
            out.addAll(Arrays.asList(t.subscriptions));
        }
        for (SharedGroup g : r.groups) {
            out.addAll(Arrays.asList(g.members()));
        }
        return out;
    }

    /** What a topic matches by walking the trie, bypassing the cache: what every cache miss costs (benchmarks time it). */
    public MatchResult matchUncached(String topic) {
        return matchUncached(topic, generation.get());
    }

    MatchResult matchUncached(String topic, long gen) {
        String[] levels = TopicLevels.split(topic);
        List<Subscription[]> perNode = new ArrayList<>(4);
        List<SharedGroup> groups = new ArrayList<>(0);
        // MQTT 5 section 4.7.2: a filter starting with a wildcard does not match a '$' topic
        boolean system = TopicName.isSystemTopic(topic);
        collect(root, levels, 0, perNode, groups, system);
        if (perNode.isEmpty() && groups.isEmpty()) {
            return new MatchResult(MatchResult.EMPTY.targets, MatchResult.EMPTY.groups, gen);
        }
        return new MatchResult(targets(perNode), groups.toArray(new SharedGroup[0]), gen);
    }

    /**
     * One target per session. A node holds at most one subscription per session, so when a single filter
     * matched (the common case, and the one with many subscribers) no grouping is needed.
     */
    private static Target[] targets(List<Subscription[]> perNode) {
        if (perNode.size() == 1) {
            Subscription[] only = perNode.get(0);
            Target[] targets = new Target[only.length];
            for (int i = 0; i < only.length; i++) {
                targets[i] = new Target(only[i].session(), new Subscription[] {only[i]});
            }
            return targets;
        }
        Map<Session, List<Subscription>> perSession = new IdentityHashMap<>();
        for (Subscription[] node : perNode) {
            for (Subscription s : node) {
                perSession.computeIfAbsent(s.session(), k -> new ArrayList<>(1)).add(s);
            }
        }
        Target[] targets = new Target[perSession.size()];
        int i = 0;
        for (Map.Entry<Session, List<Subscription>> e : perSession.entrySet()) {
            targets[i++] = new Target(e.getKey(), e.getValue().toArray(new Subscription[0]));
        }
        return targets;
    }

    private static void collect(Node node, String[] levels, int depth, List<Subscription[]> subs,
                                List<SharedGroup> groups, boolean system) {
        boolean wildcardsAllowed = !(system && depth == 0);
        if (wildcardsAllowed) {
            Node hash = node.children.get("#");
            if (hash != null) {
                hash.addTo(subs, groups);
            }
        }
        if (depth == levels.length) {
            node.addTo(subs, groups);
            return;
        }
        Node exact = node.children.get(levels[depth]);
        if (exact != null) {
            collect(exact, levels, depth + 1, subs, groups, system);
        }
        if (wildcardsAllowed) {
            Node plus = node.children.get("+");
            if (plus != null) {
                collect(plus, levels, depth + 1, subs, groups, system);
            }
        }
    }

    private static final class Node {
        final ConcurrentHashMap<String, Node> children = new ConcurrentHashMap<>(4);
        final ConcurrentHashMap<String, SharedGroup> shared = new ConcurrentHashMap<>(1);
        volatile Subscription[] subscriptions = new Subscription[0];

        boolean put(Subscription s) {
            Subscription[] cur = subscriptions;
            for (int i = 0; i < cur.length; i++) {
                if (cur[i].session() == s.session()) {
                    Subscription[] next = cur.clone();
                    next[i] = s;
                    subscriptions = next;
                    return false;
                }
            }
            Subscription[] next = Arrays.copyOf(cur, cur.length + 1);
            next[cur.length] = s;
            subscriptions = next;
            return true;
        }

        boolean remove(Session session) {
            Subscription[] cur = subscriptions;
            for (int i = 0; i < cur.length; i++) {
                if (cur[i].session() == session) {
                    Subscription[] next = new Subscription[cur.length - 1];
                    System.arraycopy(cur, 0, next, 0, i);
                    System.arraycopy(cur, i + 1, next, i, cur.length - i - 1);
                    subscriptions = next;
                    return true;
                }
            }
            return false;
        }

        void addTo(List<Subscription[]> subs, List<SharedGroup> groups) {
            Subscription[] cur = subscriptions;
            if (cur.length > 0) {
                subs.add(cur);
            }
            if (!shared.isEmpty()) {
                groups.addAll(shared.values());
            }
        }

        boolean isEmpty() {
            return children.isEmpty() && shared.isEmpty() && subscriptions.length == 0;
        }
    }
}
