package io.sluice.bench.admin;

import io.sluice.server.admin.ConnectionTable;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.Transport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * What one page of the admin API's connection list costs as the number of connections grows: the first page,
 * a page from the middle (by cursor) and, for contrast, a filter that matches one connection and so reads
 * them all. A page of 100 should cost the same at 1,000 and at 100,000 connections.
 *
 * <pre>java -jar benchmarks/target/benchmarks.jar ConnectionPage</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ConnectionPageBenchmark {
    private static final int PAGE = 100;

    @Param({"1000", "100000"})
    int connections;

    private ConnectionTable table;
    private long middle;

    @Setup
    public void fill() throws Exception {
        // the page walk needs no broker: sessions are looked up only for the connections a page shows
        table = new ConnectionTable(null);
        for (int i = 0; i < connections; i++) {
            InetAddress ip = InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8), (byte) i});
            table.connected("mqtt", new ConnectionInfo(Transport.TCP, null, new InetSocketAddress(ip, 40000), null),
                    "client-" + i);
        }
        middle = connections / 2;
    }

    @Benchmark
    public ConnectionTable.Page firstPage() {
        return table.page(0, PAGE, e -> true);
    }

    @Benchmark
    public ConnectionTable.Page middlePageByCursor() {
        return table.page(middle, PAGE, e -> true);
    }

    @Benchmark
    public ConnectionTable.Page filterMatchingOne() {
        String wanted = "client-" + (connections - 1);
        return table.page(0, PAGE, e -> e.clientId().equals(wanted));
    }
}
