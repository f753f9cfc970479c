package io.sluice.bench.trie;

import io.sluice.server.broker.BrokerStats;
import io.sluice.server.broker.QueueLimits;
import io.sluice.server.broker.Session;
import io.sluice.server.broker.SessionId;
import io.sluice.server.broker.Subscription;
import io.sluice.server.broker.SubscriptionOptions;
import io.sluice.server.broker.TopicTrie;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Builds a {@link TopicTrie} of a given size and shape for the benchmarks, and the topics to match against it.
 *
 * <p>Topics look like {@code site/S/dev/D/temp}: {@code S} a site among size/1000, {@code D} a device among
 * 1000 per site. The benchmarks time the trie through its public API: {@code match} (with the front cache) and
 * {@code matchUncached} (the walk alone), without the list copying of {@code matchingSubscriptions}.
 */
public final class TrieFixture {
    /** How the subscriptions are written; in every shape a topic matches exactly one subscription. */
    public enum Shape {
        /** Every filter an exact topic {@code site/S/dev/D/temp}: a match walks one path. */
        EXACT,
        /** 80% exact, 10% {@code site/S/+/D/temp}, 10% {@code site/S/dev/D/#}: a match probes '+' and '#' too. */
        MIXED,
        /** Half {@code site/S/+/D/temp}, half {@code site/S/dev/D/#}. */
        WILDCARD
    }

    static final int DEVICES_PER_SITE = 1000;
    static final int SESSIONS = 1000;

    final TopicTrie trie;
    final Session[] sessions;
    final String[] topics;
    final List<Subscription> subscriptions = new ArrayList<>();

    TrieFixture(int size, Shape shape, long cacheSize, int topicCount, long seed) {
        trie = new TopicTrie(cacheSize);
        sessions = sessions(SESSIONS);
        int sites = Math.max(1, size / DEVICES_PER_SITE);
        for (int i = 0; i < size; i++) {
            Subscription s = new Subscription(sessions[i % SESSIONS], filter(shape, i), null,
                    SubscriptionOptions.ofQos(1), null);
            trie.add(s);
            subscriptions.add(s);
        }
        SplittableRandom random = new SplittableRandom(seed);
        topics = new String[topicCount];
        for (int i = 0; i < topicCount; i++) {
            topics[i] = topic(random.nextInt(sites), random.nextInt(DEVICES_PER_SITE));
        }
    }

    /** The i-th filter of a shape; every one is distinct. */
    static String filter(Shape shape, int i) {
        int site = i / DEVICES_PER_SITE;
        int device = i % DEVICES_PER_SITE;
        int kind = switch (shape) {
            case EXACT -> 0;
            case MIXED -> device % 10 < 8 ? 0 : device % 10 - 7;
            case WILDCARD -> 1 + device % 2;
        };
        return switch (kind) {
            case 0 -> topic(site, device);
            case 1 -> "site/" + site + "/+/" + device + "/temp";
            default -> "site/" + site + "/dev/" + device + "/#";
        };
    }

    static String topic(int site, int device) {
        return "site/" + site + "/dev/" + device + "/temp";
    }

    static Session[] sessions(int n) {
        Session[] out = new Session[n];
        for (int i = 0; i < n; i++) {
            out[i] = Session.standalone(new SessionId("bench", "client-" + i), QueueLimits.DEFAULTS, new BrokerStats());
        }
        return out;
    }
}
