package io.sluice.server.store;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The store's meters: size on disk, operations per group commit, write latency, pending operations, failed
 * writes and the last recovery's duration. Counted from the start; registered once the server has its
 * registry (the store opens, and recovers, before the server's metrics exist).
 */
final class StoreMetrics {
    private volatile DistributionSummary batchSize;
    private volatile Timer writeLatency;
    private volatile Counter writeFailures;
    private volatile Counter elided;
    /** Puts cancelled before they were written, each with the delete it spared (also before metrics exist). */
    private final java.util.concurrent.atomic.LongAdder elidedTotal = new java.util.concurrent.atomic.LongAdder();
    private volatile long recoveryMillis;
    private volatile long recoveredMessages;

    void bind(MeterRegistry registry, RocksMessageStore store) {
        batchSize = DistributionSummary.builder("sluice.store.write.batch")
                .description("operations written by one group commit").baseUnit("operations")
                .publishPercentileHistogram().register(registry);
        writeLatency = Timer.builder("sluice.store.write.latency")
                .description("time of one group commit: building the batch and writing it (with its fsync under --fsync batch)")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofNanos(10_000))
                .maximumExpectedValue(Duration.ofSeconds(5)).register(registry);
        writeFailures = Counter.builder("sluice.store.write.failures")
                .description("group commits that could not be written (full disk, read-only or failing file system)")
                .register(registry);
        elided = Counter.builder("sluice.store.elided.writes")
                .description("queue entries and payloads never written: deleted (acknowledged) before the group commit reached them")
                .register(registry);
        Gauge.builder("sluice.store.size", store, RocksMessageStore::sizeOnDisk).baseUnit("bytes")
                .description("bytes the message store holds on disk (live SST files and write-ahead log)")
                .register(registry);
        Gauge.builder("sluice.store.pending", store, RocksMessageStore::pendingOperations)
                .description("operations recorded and not yet written").register(registry);
        Gauge.builder("sluice.store.recovery.seconds", this, m -> m.recoveryMillis / 1000.0)
                .description("how long the last start-up took to read the store back").register(registry);
        Gauge.builder("sluice.store.recovered.messages", this, m -> m.recoveredMessages)
                .description("queued and retained messages the last start-up read back").register(registry);
    }

    void batchWritten(int operations, long nanos) {
        // bind() runs on another thread while the writer already writes: each meter may still be missing
        DistributionSummary b = batchSize;
        Timer t = writeLatency;
        if (b != null) {
            b.record(operations);
        }
        if (t != null) {
            t.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    void elided(int puts) {
        elidedTotal.add(puts);
        Counter c = elided;
        if (c != null) {
            c.increment(puts);
        }
    }

    long elidedTotal() {
        return elidedTotal.sum();
    }

    void writeFailed() {
        Counter c = writeFailures;
        if (c != null) {
            c.increment();
        }
    }

    void recovered(long millis, long messages) {
        this.recoveryMillis = millis;
        this.recoveredMessages = messages;
    }
}
