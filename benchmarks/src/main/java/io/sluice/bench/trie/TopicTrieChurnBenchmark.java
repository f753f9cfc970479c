package io.sluice.bench.trie;

import io.sluice.server.broker.MatchResult;
import io.sluice.server.broker.Subscription;
import io.sluice.server.broker.SubscriptionOptions;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Subscribe/unsubscribe churn on one thread while another publishes (matches through the cache), on a trie of
 * MIXED subscriptions. Each change bumps the generation, so the matcher's cached results go stale: the
 * matcher's figure here against {@link TopicTrieCacheBenchmark#hit} is what churn costs publishers.
 */
@State(Scope.Group)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TopicTrieChurnBenchmark {
    @Param({"1000", "100000"})
    int subscriptions;

    private TrieFixture fixture;
    private Subscription[] churn;

    @Setup(Level.Trial)
    public void build() {
        fixture = new TrieFixture(subscriptions, TrieFixture.Shape.MIXED, 65_536, 1 << 10, 11);
        churn = new Subscription[1 << 12];
        for (int i = 0; i < churn.length; i++) {
            String filter = (i % 3 == 0) ? "site/" + (i % 7) + "/+/" + i + "/humidity"
                    : "site/" + (i % 7) + "/dev/" + i + "/humidity";
            churn[i] = new Subscription(fixture.sessions[i % fixture.sessions.length], filter, null,
                    SubscriptionOptions.ofQos(1), null);
        }
    }

    @State(Scope.Thread)
    public static class Cursor {
        int next;
    }

    @Benchmark
    @Group("churn")
    @GroupThreads(1)
    public boolean subscribeUnsubscribe(Cursor c) {
        Subscription s = churn[c.next++ & (churn.length - 1)];
        fixture.trie.add(s);
        return fixture.trie.remove(s);
    }

    @Benchmark
    @Group("churn")
    @GroupThreads(1)
    public MatchResult publishMatch(Cursor c) {
        return fixture.trie.match(fixture.topics[c.next++ & (fixture.topics.length - 1)]);
    }
}
