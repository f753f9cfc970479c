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
 * The trie walk without the front cache: what every cache miss and every publish after a subscription change
 * costs, at 10^3, 10^5 and 10^6 subscriptions, for exact filters and for '+' and '#' mixes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms3g", "-Xmx3g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TopicTrieMatchBenchmark {
    @Param({"1000", "100000", "1000000"})
    int subscriptions;

    @Param({"EXACT", "MIXED", "WILDCARD"})
    TrieFixture.Shape shape;

    private TrieFixture fixture;
    private int next;

    @Setup(Level.Trial)
    public void build() {
        fixture = new TrieFixture(subscriptions, shape, 1024, 1 << 16, 42);
    }

    @Benchmark
    public MatchResult walk() {
        String topic = fixture.topics[next++ & (fixture.topics.length - 1)];
        return fixture.trie.matchUncached(topic);
    }
}
