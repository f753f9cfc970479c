package io.sluice.server.broker;

import io.sluice.protocol.topic.TopicFilter;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TopicTrieTest {
    private static final String[] WORDS = {"a", "b", "c", "sensors", "k1", "temp", "", "$SYS", "x"};

    private final BrokerStats stats = new BrokerStats();

    private Session session(String id) {
        return new Session(new SessionId("test", id), QueueLimits.DEFAULTS, stats);
    }

    private static Subscription sub(Session s, String filter) {
        return new Subscription(s, filter, null, SubscriptionOptions.ofQos(1), null);
    }

    @Test
    void matchesAgreeWithTheReferenceMatcherOnRandomFiltersAndTopics() {
        Random rnd = new Random(20261125L);
        TopicTrie trie = new TopicTrie(1024);
        List<Subscription> subs = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            Subscription s = sub(session("c" + i), randomFilter(rnd));
            subs.add(s);
            trie.add(s);
        }
        // remove a third, so matching also runs over pruned branches
        for (int i = 0; i < subs.size(); i += 3) {
            assertTrue(trie.remove(subs.get(i)));
        }
        List<Subscription> live = new ArrayList<>();
        for (int i = 0; i < subs.size(); i++) {
            if (i % 3 != 0) {
                live.add(subs.get(i));
            }
        }
        assertEquals(live.size(), trie.subscriptionCount());
        for (int i = 0; i < 4000; i++) {
            String topic = randomTopic(rnd);
            Set<Subscription> expected = new HashSet<>();
            for (Subscription s : live) {
                if (TopicFilter.matches(s.filter(), topic)) {
                    expected.add(s);
                }
            }
            // twice: the second answer comes from the front cache
            assertEquals(expected, new HashSet<>(trie.matchingSubscriptions(topic)), topic);
            assertEquals(expected, new HashSet<>(trie.matchingSubscriptions(topic)), topic + " (cached)");
        }
    }

    @Test
    void cachedResultsAreInvalidatedBySubscriptionChanges() {
        TopicTrie trie = new TopicTrie(16);
        Session s = session("one");
        assertTrue(trie.matchingSubscriptions("a/b").isEmpty());
        Subscription wildcard = sub(s, "a/+");
        trie.add(wildcard);
        assertEquals(List.of(wildcard), trie.matchingSubscriptions("a/b"));
        trie.remove(wildcard);
        assertTrue(trie.matchingSubscriptions("a/b").isEmpty());
    }

    @Test
    void filtersStartingWithWildcardsDoNotMatchDollarTopics() {
        // MQTT 5 section 4.7.2
        TopicTrie trie = new TopicTrie(16);
        Session s = session("one");
        trie.add(sub(s, "#"));
        trie.add(sub(s, "+/uptime"));
        Subscription sys = sub(session("two"), "$SYS/#");
        trie.add(sys);
        assertEquals(List.of(sys), trie.matchingSubscriptions("$SYS/uptime"));
    }

    @Test
    void oneSessionsOverlappingSubscriptionsFormOneTarget() {
        TopicTrie trie = new TopicTrie(16);
        Session s = session("one");
        trie.add(sub(s, "a/#"));
        trie.add(sub(s, "a/+"));
        trie.add(sub(s, "a/b"));
        MatchResult r = trie.match("a/b");
        assertEquals(1, r.targets.length);
        assertEquals(3, r.targets[0].subscriptions.length);
    }

    @Test
    void emptyBranchesArePrunedAfterRemoval() {
        TopicTrie trie = new TopicTrie(16);
        Subscription s = sub(session("one"), "deep/er/and/deeper");
        trie.add(s);
        trie.remove(s);
        assertNull(trie.group("deep/er/and/deeper", "g"));
        assertEquals(0, trie.subscriptionCount());
        assertTrue(trie.matchingSubscriptions("deep/er/and/deeper").isEmpty());
    }

    @Test
    void matchingStaysCorrectWhileOtherThreadsSubscribeAndUnsubscribe() throws Exception {
        TopicTrie trie = new TopicTrie(64);
        Subscription stable = sub(session("stable"), "metrics/+/cpu");
        trie.add(stable);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch churned = new CountDownLatch(1);
        Thread churn = new Thread(() -> {
            try {
                for (int i = 0; i < 20_000 && !stop.get(); i++) {
                    Subscription s = sub(session("churn" + (i % 50)), i % 2 == 0 ? "metrics/#" : "metrics/h" + i + "/cpu");
                    trie.add(s);
                    trie.remove(s);
                }
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                churned.countDown();
            }
        });
        churn.start();
        for (int i = 0; i < 20_000 && churned.getCount() > 0; i++) {
            List<Subscription> got = trie.matchingSubscriptions("metrics/h" + (i % 100) + "/cpu");
            assertTrue(got.contains(stable), "a stable subscription vanished during churn");
        }
        stop.set(true);
        churn.join(30_000);
        assertNull(failure.get());
        assertEquals(List.of(stable), trie.matchingSubscriptions("metrics/h1/cpu"));
    }

    private static String randomFilter(Random rnd) {
        int levels = 1 + rnd.nextInt(4);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < levels; i++) {
            if (i > 0) {
                sb.append('/');
            }
            int r = rnd.nextInt(10);
            if (r < 2) {
                sb.append('+');
            } else if (r == 2 && i == levels - 1) {
                sb.append('#');
            } else {
                sb.append(WORDS[rnd.nextInt(WORDS.length)]);
            }
        }
        return sb.toString();
    }

    private static String randomTopic(Random rnd) {
        int levels = 1 + rnd.nextInt(5);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < levels; i++) {
            if (i > 0) {
                sb.append('/');
            }
            sb.append(WORDS[rnd.nextInt(WORDS.length)]);
        }
        return sb.toString();
    }
}
