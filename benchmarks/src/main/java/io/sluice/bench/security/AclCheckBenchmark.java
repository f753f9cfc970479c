package io.sluice.bench.security;

import io.sluice.server.broker.TopicAccess;
import io.sluice.server.security.AclFile;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the ACL costs a publish: the publisher's write check plus one subscriber's read check, with a 1,000-rule
 * ACL file (the matching rule last), against no ACL. {@code cached}: the steady state, topics seen before;
 * {@code firstSight}: a topic never seen, the walk over every rule (then cached).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class AclCheckBenchmark {
    private TopicAccess none;
    private TopicAccess acl;
    private String[] topics;
    private int next;
    private long fresh;

    @Setup
    public void setup() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 998; i++) {
            lines.add("topic readwrite fleet/" + i + "/#");
        }
        lines.add("pattern readwrite devices/%c/#");
        lines.add("topic readwrite bench/#");
        Path file = Files.createTempFile("acl", ".txt");
        Files.write(file, lines);
        acl = AclFile.read(file).access("bench-client", null);
        Files.delete(file);
        none = TopicAccess.ALL;
        topics = new String[100];
        for (int i = 0; i < topics.length; i++) {
            topics[i] = "bench/run/p2p/" + i;
        }
    }

    private String topic() {
        next = (next + 1) % topics.length;
        return topics[next];
    }

    @Benchmark
    public boolean noAcl() {
        String t = topic();
        return none.mayPublish(t) & none.mayRead(t);
    }

    @Benchmark
    public boolean cached() {
        String t = topic();
        return acl.mayPublish(t) & acl.mayRead(t);
    }

    @Benchmark
    public boolean firstSight() {
        String t = "bench/new/" + fresh++;
        return acl.mayPublish(t) & acl.mayRead(t);
    }
}
