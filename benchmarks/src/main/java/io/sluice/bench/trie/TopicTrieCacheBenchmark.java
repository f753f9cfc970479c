package io.sluice.bench.trie;

import io.sluice.server.broker.MatchResult;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
 * The front cache of match results on a trie of 10^5 MIXED subscriptions. {@code hit}: 1,024 hot topics, all
 * cached. {@code miss}: 65,536 topics through a 1,024-entry cache, so nearly every lookup walks the trie and
 * then pays Caffeine's insert and eviction on top: the miss path's overhead is miss minus the plain walk of
 * {@link TopicTrieMatchBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TopicTrieCacheBenchmark {
    @Param({"100000"})
    int subscriptions;

    private TrieFixture hot;
    private TrieFixture cold;
    private int next;

    @Setup(Level.Trial)
    public void build() {
        hot = new TrieFixture(subscriptions, TrieFixture.Shape.MIXED, 65_536, 1 << 10, 7);
        for (String t : hot.topics) {
            hot.trie.match(t);
        }
        cold = new TrieFixture(subscriptions, TrieFixture.Shape.MIXED, 1024, 1 << 16, 7);
    }

    @Benchmark
    public MatchResult hit() {
        return hot.trie.match(hot.topics[next++ & (hot.topics.length - 1)]);
    }

    @Benchmark
    public MatchResult miss() {
        return cold.trie.match(cold.topics[next++ & (cold.topics.length - 1)]);
    }
}
