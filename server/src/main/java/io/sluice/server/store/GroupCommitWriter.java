package io.sluice.server.store;

import io.sluice.server.broker.MessageStore.WriteCallback;
import io.sluice.server.events.Logs;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The store's one writer thread: whatever operations the event loops recorded since its last write become one
 * {@link WriteBatch} and one {@code db.write} (group commit: one write-ahead-log append, and with
 * {@code --fsync batch} one fsync, for the operations of many connections), then the callbacks that waited for
 * them run. No event loop ever touches the disk; they only enqueue.
 *
 * <p>When a write fails (a full disk, a read-only or failing file system), the callbacks of that batch are told,
 * the store reports itself not writable so new publishes that need it are refused at once, one log line says
 * what to do, and every later batch tries again: the first that succeeds makes the store writable again.
 */
final class GroupCommitWriter implements AutoCloseable {
    private static final Logger log = Logs.get(GroupCommitWriter.class);
    /** Operations in one batch at most; a longer queue is written in several batches back to back. */
    static final int MAX_BATCH = 8192;
    private static final long CLOCK_PERIOD_MILLIS = 1000;

    interface Op {
        void apply(WriteBatch batch) throws RocksDBException;
    }

    private record Barrier(WriteCallback callback) implements Op {
        @Override
        public void apply(WriteBatch batch) {
        }
    }

    private final RocksDB db;
    private final WriteOptions options;
    private final StoreMetrics metrics;
    private final String where;
    private final LinkedBlockingQueue<Op> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile boolean writable = true;
    private long lastClock;

    GroupCommitWriter(RocksDB db, boolean fsync, StoreMetrics metrics, String where) {
        this.db = db;
        this.options = new WriteOptions().setSync(fsync);
        this.metrics = metrics;
        this.where = where;
        this.thread = new Thread(this::run, "sluice-store-writer");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    void submit(Op op) {
        queue.add(op);
    }

    void afterWrites(WriteCallback callback) {
        queue.add(new Barrier(callback));
    }

    boolean isWritable() {
        return writable;
    }

    int pending() {
        return queue.size();
    }

    private void run() {
        List<Op> ops = new ArrayList<>(256);
        List<WriteCallback> callbacks = new ArrayList<>(64);
        while (running || !queue.isEmpty()) {
            Op first;
            try {
                first = queue.poll(CLOCK_PERIOD_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                continue;
            }
            if (first != null) {
                ops.add(first);
                queue.drainTo(ops, MAX_BATCH - 1);
            }
            write(ops, callbacks);
            ops.clear();
            callbacks.clear();
        }
    }

    private void write(List<Op> ops, List<WriteCallback> callbacks) {
        long start = System.nanoTime();
        boolean ok;
        int count = 0;
        try (WriteBatch batch = new WriteBatch()) {
            for (Op op : ops) {
                if (op instanceof Barrier b) {
                    callbacks.add(b.callback());
                } else {
                    op.apply(batch);
                    count++;
                }
            }
            long now = System.currentTimeMillis();
            if (now - lastClock >= CLOCK_PERIOD_MILLIS) {
                // how long the broker was down is counted from the last clock a restart finds
                batch.put(KeyLayout.CLOCK_KEY, java.nio.ByteBuffer.allocate(8).putLong(now).array());
                lastClock = now;
            }
            if (batch.count() > 0) {
                db.write(options, batch);
            }
            ok = true;
            if (!writable) {
                writable = true;
                log.info("message store in {} writes again; publishes are accepted", where);
            }
        } catch (RocksDBException | RuntimeException e) {
            ok = false;
            metrics.writeFailed();
            if (writable) {
                writable = false;
                log.error("message store in {} cannot write ({}); QoS 1/2 publishes are refused until it can: "
                        + "free disk space or fix the file system, nothing acknowledged is lost", where, reason(e));
            }
        }
        if (count > 0) {
            metrics.batchWritten(count, System.nanoTime() - start);
        }
        for (WriteCallback c : callbacks) {
            try {
                c.written(ok);
            } catch (RuntimeException e) {
                log.warn("a store write callback failed", e);
            }
        }
    }

    static String reason(Exception e) {
        if (e instanceof RocksDBException r && r.getStatus() != null) {
            String state = r.getStatus().getState();
            return r.getStatus().getCode() + (state == null || state.isEmpty() ? "" : ": " + state);
        }
        return String.valueOf(e.getMessage());
    }

    /** Write what is queued, then stop. */
    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        options.close();
    }
}
