package io.sluice.bench.trie;

import io.sluice.server.broker.MatchResult;
import io.sluice.server.broker.Session;
import io.sluice.server.broker.Subscription;
import io.sluice.server.broker.SubscriptionOptions;
import io.sluice.server.broker.TopicTrie;
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
 * Many subscribers on one filter (a broadcast topic): the walk is short, building the per-session result is
 * the cost. Half the sessions subscribe with '+', half with '#', so grouping sees two kinds of node.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TopicTrieFanoutBenchmark {
    @Param({"10", "1000", "100000"})
    int subscribers;

    private TopicTrie trie;

    @Setup(Level.Trial)
    public void build() {
        trie = new TopicTrie(1024);
        Session[] sessions = TrieFixture.sessions(subscribers);
        for (int i = 0; i < subscribers; i++) {
            String filter = i % 2 == 0 ? "news/+/headline" : "news/#";
            trie.add(new Subscription(sessions[i], filter, null, SubscriptionOptions.ofQos(0), null));
        }
    }

    @Benchmark
    public MatchResult walk() {
        return trie.matchUncached("news/world/headline");
    }
}
