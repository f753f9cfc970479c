package io.sluice.server.cluster;

import io.sluice.server.broker.BrokerStats;
import io.sluice.server.broker.MatchResult;
import io.sluice.server.broker.QueueLimits;
import io.sluice.server.broker.Session;
import io.sluice.server.broker.SessionId;
import io.sluice.server.broker.Subscription;
import io.sluice.server.broker.SubscriptionOptions;
import io.sluice.server.broker.TopicTrie;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The filters other nodes announced, which nodes hold each: the same {@link TopicTrie} (and match cache) as local
 * subscriptions, with one stand-in session per remote node, so a publish finds the nodes to send it to in memory,
 * each node once however many of its filters match.
 *
 * <p>A node that is down ({@link NodeLiveness}) has its filters <em>set aside</em>: out of the trie, so no publish
 * goes to it, but kept, so they are back the moment it is heard again. Changes are serialized (they are rare: a
 * filter's first or last subscription on a node); matching is not.
 */
final class RouteTable {
    private static final SubscriptionOptions ANY = SubscriptionOptions.ofQos(2);

    private final TopicTrie trie;
    private final ConcurrentHashMap<String, Session> nodes = new ConcurrentHashMap<>();
    /** Every filter each node announced, in the trie or set aside. */
    private final Map<String, Set<String>> filters = new HashMap<>();
    private final Set<String> aside = new HashSet<>();
    private final BrokerStats unused = new BrokerStats();

    RouteTable(long cacheSize) {
        this.trie = new TopicTrie(cacheSize);
    }

    /** {@code filter}: a filter, or {@code $share/<group>/<filter>}, the node being a member of the group. */
    synchronized void add(String node, String filter) {
        if (filters.computeIfAbsent(node, n -> new HashSet<>()).add(filter) && !aside.contains(node)) {
            trie.add(entry(node, filter));
        }
    }

    synchronized void remove(String node, String filter) {
        Set<String> of = filters.get(node);
        if (of != null && of.remove(filter) && !aside.contains(node)) {
            trie.remove(entry(node, filter));
        }
    }

    /** Take a node's filters out of matching, keeping them; returns how many. */
    synchronized int setAside(String node) {
        Set<String> of = filters.getOrDefault(node, Set.of());
        if (aside.add(node)) {
            for (String f : of) {
                trie.remove(entry(node, f));
            }
        }
        return of.size();
    }

    /** Drop every filter of a node (set aside or not); returns how many it had. */
    synchronized int forget(String node) {
        Set<String> of = filters.remove(node);
        if (of == null) {
            aside.remove(node);
            return 0;
        }
        if (!aside.remove(node)) {
            for (String f : of) {
                trie.remove(entry(node, f));
            }
        }
        return of.size();
    }

    /** Put a node's filters back into matching. */
    synchronized void restore(String node) {
        if (aside.remove(node)) {
            for (String f : filters.getOrDefault(node, Set.of())) {
                trie.add(entry(node, f));
            }
        }
    }

    private static final String SHARE = "$share/";

    private Subscription entry(String node, String filter) {
        Session s = nodes.computeIfAbsent(node, n -> Session.standalone(new SessionId("node", n), QueueLimits.DEFAULTS, unused));
        if (filter.startsWith(SHARE)) {
            int slash = filter.indexOf('/', SHARE.length());
            if (slash > 0) {
                return new Subscription(s, filter.substring(slash + 1), filter.substring(SHARE.length(), slash), ANY, null);
            }
        }
        return new Subscription(s, filter, null, ANY, null);
    }

    /** The nodes with a filter matching the topic: {@code result.session(i).clientId()} is a node's id. */
    MatchResult match(String topic) {
        return trie.match(topic);
    }

    /** Entries (filter, node) matched against, those of nodes set aside left out. */
    int size() {
        return trie.subscriptionCount();
    }

    /** The nodes with at least one filter announced. */
    synchronized Set<String> nodes() {
        Set<String> out = new HashSet<>();
        filters.forEach((n, f) -> {
            if (!f.isEmpty()) {
                out.add(n);
            }
        });
        return out;
    }
}
