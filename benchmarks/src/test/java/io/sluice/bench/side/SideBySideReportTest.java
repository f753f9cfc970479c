package io.sluice.bench.side;

import io.sluice.bench.load.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The published figures from a run's results (no brokers started): medians of the rounds, ratios against the
 * best peer whichever it is, CPU per message against Mosquitto's at the same rate, memory from RSS, and a
 * verdict for each target that says "not met" when it is not.
 */
class SideBySideReportTest {
    @TempDir
    Path dir;

    private final List<String> lines = new ArrayList<>();

    private void run(String phase, String load, String broker, int round, Object... fields) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("label", broker);
        r.put("phase", phase);
        r.put("load", load);
        r.put("round", round);
        r.put("case", phase + ":" + load);
        r.put("ok", true);
        r.put("lost", 0);
        for (int i = 0; i < fields.length; i += 2) {
            r.put((String) fields[i], fields[i + 1]);
        }
        lines.add(Json.write(r));
    }

    private String report() throws Exception {
        Path results = dir.resolve("results.jsonl");
        Files.write(results, lines);
        Path out = dir.resolve("benchmarks.md");
        Files.writeString(out, "# Benchmarks\n\n## Throughput (delivered messages per second, medians)\n\nold figures\n\n"
                + "## Embedded start-up\n\nanother tool's section\n");
        SideBySide.main(new String[]{"--from-results", results.toString(), "--out", out.toString(),
                "--analysis", dir.resolve("none.md").toString(), "--work", dir.resolve("work").toString()});
        return Files.readString(out);
    }

    /** The idle count follows the open-files limit: the goal's 100,000 where it can, else what fits. */
    @Test
    void idleCountIsTheGoalsWhereTheFileLimitAllowsItElseWhatFits() {
        assertEquals(100_000, SideBySide.autoIdleConnections(1_048_576));
        assertEquals(100_000, SideBySide.autoIdleConnections(101_000));
        assertEquals(19_000, SideBySide.autoIdleConnections(20_000));
        assertEquals(512, SideBySide.autoIdleConnections(1_024));
        assertEquals(5_000, SideBySide.autoIdleConnections(-1));
    }

    @Test
    void ratiosAreMediansOfTheRoundsAgainstTheBestPeerAndSayNotMet() throws Exception {
        // Sluice's rounds: 100k, 300k (an outlier) and 120k -> median 120k; HiveMQ's median 90k beats Mosquitto's 60k
        double[][] rates = {{100_000, 300_000, 120_000}, {60_000, 50_000, 70_000}, {90_000, 80_000, 95_000}};
        String[] brokers = {SideBySide.SLUICE, SideBySide.MOSQUITTO, SideBySide.HIVEMQ};
        for (int b = 0; b < 3; b++) {
            for (int round = 0; round < 3; round++) {
                run("peak", "fanin-ws-qos0", brokers[b], round, "msgs_per_s", rates[b][round], "delivered", 1_000_000,
                        "broker_cpu_s", 2.0, "broker_peak_rss_kb", 300 * 1024 + round);
            }
        }
        String md = report();
        assertTrue(md.contains("| 120,000 | 60,000 | 90,000 | HiveMQ CE | 1.33x |"), md);
        assertTrue(md.contains("- peak fanin-ws-qos0: Sluice 1.33x HiveMQ CE (target >= 1.5x: **not met**)"), md);
        // the one-subscriber-connection figure is against Mosquitto: 120k / 60k
        assertTrue(md.contains("- one subscriber connection, fanin-ws-qos0: Sluice 2.00x Mosquitto (target >= 1.5x: met)"), md);
        // 300 MiB of RSS is over 256 MB
        assertTrue(md.contains("- peak RSS under the loads: Sluice 300 MiB (target <= 256 MB: **not met**)"), md);
        // another tool's section survives; the old generated one does not
        assertTrue(md.contains("## Embedded start-up\n\nanother tool's section"), md);
        assertFalse(md.contains("old figures"), md);
    }

    /** A ratio far under 1 keeps two significant digits instead of reading "0.00x". */
    @Test
    void aSmallRatioKeepsTwoSignificantDigits() {
        assertEquals("0.0014x", SideBySide.ratio(3.0, 2218.0));
        assertEquals("0.05x", SideBySide.ratio(1.0, 20.0));
        assertEquals("0.86x", SideBySide.ratio(1.9, 2.2));
        assertEquals("2.00x", SideBySide.ratio(4.0, 2.0));
        assertEquals("0.00x", SideBySide.ratio(0.0, 2.0));
        assertEquals("-", SideBySide.ratio(1.0, 0.0));
    }

    @Test
    void aFanOutPublisherIsPacedAtTheDeliveredRateOverItsSubscribers() {
        SideBySide.Load fanout = SideBySide.allLoads().stream().filter(l -> l.id().equals("fanout-ws-qos1")).findFirst().orElseThrow();
        SideBySide.Load p2p = SideBySide.allLoads().stream().filter(l -> l.id().equals("p2p-ws-qos1")).findFirst().orElseThrow();
        assertEquals("7000", SideBySide.publishRate(fanout, 70_000));
        assertEquals("70000", SideBySide.publishRate(p2p, 70_000));
    }

    @Test
    void fixedRateComparesLatencyWithThePeerWhosePeakItHalvesAndCpuWithMosquitto() throws Exception {
        for (int round = 0; round < 3; round++) {
            run("fixed", "p2p-ws-qos1", SideBySide.SLUICE, round, "fixed_rate_delivered", 40_000.0, "fixed_rate_peer", SideBySide.HIVEMQ,
                    "msgs_per_s", 40_000.0, "latency_p99_us", 5_000 + round, "delivered", 1_000_000, "broker_cpu_s", 3.0);
            run("fixed", "p2p-ws-qos1", SideBySide.MOSQUITTO, round, "fixed_rate_delivered", 40_000.0, "fixed_rate_peer", SideBySide.HIVEMQ,
                    "msgs_per_s", 40_000.0, "latency_p99_us", 2_000, "delivered", 1_000_000, "broker_cpu_s", 5.0);
            run("fixed", "p2p-ws-qos1", SideBySide.HIVEMQ, round, "fixed_rate_delivered", 40_000.0, "fixed_rate_peer", SideBySide.HIVEMQ,
                    "msgs_per_s", 40_000.0, "latency_p99_us", 10_000, "delivered", 1_000_000, "broker_cpu_s", 9.0);
        }
        run("first-minute", "p2p-ws-qos1", SideBySide.SLUICE, 0, "rate_cap", 40_000.0, "msgs_per_s", 40_000.0,
                "latency_p99_us", 600_000, "delivered", 2_400_000, "broker_cpu_s", 9.0,
                "latency_p99_by_5s_us", "600000 1500 -");
        run("first-minute", "p2p-ws-qos1", SideBySide.HIVEMQ, 0, "rate_cap", 40_000.0, "msgs_per_s", 40_000.0,
                "latency_p99_us", 20_000, "delivered", 2_400_000, "broker_cpu_s", 20.0,
                "latency_p99_by_5s_us", "20000 3000 2000");
        // an older result has the slices in whole ms only
        run("first-minute", "p2p-ws-qos1", SideBySide.MOSQUITTO, 0, "rate_cap", 40_000.0, "msgs_per_s", 40_000.0,
                "latency_p99_us", 5_000, "delivered", 2_400_000, "broker_cpu_s", 5.0, "latency_p99_by_5s_ms", "5 1 1");
        run("idle", "idle-ws", SideBySide.SLUICE, 0, "connected", 5000, "rss_bytes_per_conn", 20_240, "heap_bytes_per_conn", 4_800,
                "rss_bytes_per_conn_marginal", 6_500, "rss_projected_kb", 900 * 1024, "broker_rss_before_kb", 100 * 1024,
                "broker_rss_after_kb", 200 * 1024, "still_open", 5000);
        String md = report();
        assertTrue(md.contains("| p2p-ws-qos1 (10 pairs) | 40,000 (HiveMQ CE) | - / 5.0 / - | - / 2.0 / - | - / 10.0 / - | 0.50x | 3.0 / 5.0 / 9.0 | 0.60x |"), md);
        // p99 5.0 ms against HiveMQ's 10 ms (the peer whose peak was halved), CPU 3.0 us against Mosquitto's 5.0 us
        assertTrue(md.contains("- fixed rate p2p-ws-qos1: Sluice p99 0.50x HiveMQ CE's (target <= 1.00x: met); "
                + "CPU per message 0.60x Mosquitto's (target <= 0.67x: met)"), md);
        assertTrue(md.contains("- first minute p2p-ws-qos1: Sluice p99 30.00x HiveMQ CE's (target <= 1.00x: **not met**)"), md);
        // each 5 s slice on its own against the same peer; a slice with no receipts is not counted either way
        assertTrue(md.contains("| 0-5 | 600.0 | 5.0 | 20.0 | 30.00x |"), md);
        assertTrue(md.contains("| 5-10 | 1.5 | 1.0 | 3.0 | 0.50x |"), md);
        assertTrue(md.contains("| 10-15 | - | 1.0 | 2.0 | - |"), md);
        assertTrue(md.contains("- first minute p2p-ws-qos1 by 5 s slice: Sluice p99 <= HiveMQ CE's in 1 of 2 slices, worst 30.00x (0-5 s) "
                + "(target <= 1.00x in every slice: **not met**)"), md);
        // memory per connection is RSS, never heap
        assertTrue(md.contains("| Sluice | 5,000 | 100 | 200 | 20,240 | 6,500 | 900 (projected) | 4,800 | 5,000 |"), md);
        // the target is the cost of one more connection and the RSS at 100,000: 900 MiB fits, 6,500 B does not
        assertTrue(md.contains("- idle WebSocket connection: Sluice 20,240 B of RSS each over 5,000 connections, 6,500 B each "
                + "for the second half; 100,000 projected at 900 MiB (target <= 6,000 B, under 1 GiB: **not met**, by projection)"), md);
    }
}
