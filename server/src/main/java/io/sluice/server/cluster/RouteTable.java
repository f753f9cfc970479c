package io.sluice.server.cluster;

import io.sluice.server.broker.BrokerStats;
import io.sluice.server.broker.MatchResult;
import io.sluice.server.broker.QueueLimits;
import io.sluice.server.broker.Session;
import io.sluice.server.broker.SessionId;
import io.sluice.server.broker.Subscription;
import io.sluice.server.broker.SubscriptionOptions;
import io.sluice.server.broker.TopicTrie;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The filters other nodes announced, which nodes hold each: the same {@link TopicTrie} (and match cache) as local
 * subscriptions, with one stand-in session per remote node, so a publish finds the nodes to send it to in memory,
 * each node once however many of its filters match.
 */
final class RouteTable {
    private static final SubscriptionOptions ANY = SubscriptionOptions.ofQos(2);

    private final TopicTrie trie;
    private final ConcurrentHashMap<String, Session> nodes = new ConcurrentHashMap<>();
    private final BrokerStats unused = new BrokerStats();

    RouteTable(long cacheSize) {
        this.trie = new TopicTrie(cacheSize);
    }

    void add(String node, String filter) {
        Session s = nodes.computeIfAbsent(node, n -> Session.standalone(new SessionId("node", n), QueueLimits.DEFAULTS, unused));
        trie.add(new Subscription(s, filter, null, ANY, null));
    }

    void remove(String node, String filter) {
        Session s = nodes.get(node);
        if (s != null) {
            trie.remove(new Subscription(s, filter, null, ANY, null));
        }
    }

    /** The nodes with a filter matching the topic: {@code result.session(i).clientId()} is a node's id. */
    MatchResult match(String topic) {
        return trie.match(topic);
    }

    /** Entries (filter, node) held. */
    int size() {
        return trie.subscriptionCount();
    }
}
