package io.sluice.server.store;

import io.sluice.server.broker.MessageStore.WriteCallback;
import io.sluice.server.events.Logs;
import io.sluice.server.transport.LoopHandoff;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.internal.PlatformDependent;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The store's one writer thread: whatever operations the event loops recorded since its last write become one
 * {@link WriteBatch} and one {@code db.write} (group commit: one write-ahead-log append, and with
 * {@code --fsync batch} one fsync, for the operations of many connections), then the callbacks that waited for
 * them run. No event loop ever touches the disk; they only enqueue (a lock-free queue: publishers on every event
 * loop add to it at once) and wake the writer when it sleeps.
 *
 * <p><b>Write elision.</b> Most of what a persistent session's queue records is short-lived: a message reaches a
 * connected subscriber, which acknowledges it within a millisecond, often before the group commit that would
 * write its entry. An {@link Elidable} write (a queue entry, a payload) is claimed by the writer only when it builds
 * the batch; a delete that comes first cancels it instead, and neither is written. What an acknowledgement waits
 * for is unchanged: every write made before its barrier is either in the write-ahead log or cancelled because the
 * message was already delivered and acknowledged. (HiveMQ and EMQX skip the disk the same way for a message a
 * connected subscriber takes at once.)
 *
 * <p><b>Linger.</b> While it is busy (its last batch was large: many connections publish at once), the writer lets
 * operations gather until {@code --store-linger} after it took the last batch before it takes the next one (a
 * write that took that long, an fsync, needs no more). The acknowledgements waiting for
 * that batch wait that much longer (they are pipelined: a publisher's window, not its rate, bounds what waits),
 * and in exchange most queue entries of connected subscribers are cancelled before they are claimed: per message, no
 * write at all instead of a payload, an entry and their two deletes. A lightly loaded writer takes each batch at once.
 *
 * <p>When a write fails (a full disk, a read-only or failing file system), the callbacks of that batch are told,
 * the store reports itself not writable so new publishes that need it are refused at once, one log line says
 * what to do, and every later batch tries again: the first that succeeds makes the store writable again.
 */
final class GroupCommitWriter implements AutoCloseable {
    private static final Logger log = Logs.get(GroupCommitWriter.class);
    /** Operations in one batch at most; a longer queue is written in several batches back to back. */
    static final int MAX_BATCH = 8192;
    /**
     * A batch of at least this many operations (a barrier counts: one per waiting acknowledgement) makes the writer
     * busy: it lingers before its next batch. A lightly loaded writer, a publisher waiting for each acknowledgement
     * in turn, never lingers: the linger would be all of its latency.
     */
    static final int BUSY_BATCH = 64;
    private static final long CLOCK_PERIOD_MILLIS = 1000;

    interface Op {
        void apply(Batch batch) throws RocksDBException;
    }

    /**
     * The {@link WriteBatch} being built, with the writer's two reused direct buffers: the frequent operations (queue
     * entries, payloads, history entries and their deletes) encode their key and value in place and hand them to
     * RocksDB without an array of their own or a copy on the way in.
     */
    static final class Batch implements AutoCloseable {
        private final WriteBatch batch = new WriteBatch();
        private final ByteBuf key = Unpooled.directBuffer(256);
        private final ByteBuf value = Unpooled.directBuffer(1024);

        /** The key buffer, emptied: write the key, then {@link #put()} or {@link #delete()}. */
        ByteBuf key() {
            return key.clear();
        }

        /** The value buffer, emptied. */
        ByteBuf value() {
            return value.clear();
        }

        /** Put what {@link #key()} and {@link #value()} hold. */
        void put() throws RocksDBException {
            batch.put(key.internalNioBuffer(key.readerIndex(), key.readableBytes()),
                    value.internalNioBuffer(value.readerIndex(), value.readableBytes()));
        }

        /** Delete the key {@link #key()} holds. */
        void delete() throws RocksDBException {
            batch.delete(key.internalNioBuffer(key.readerIndex(), key.readableBytes()));
        }

        void put(byte[] k, byte[] v) throws RocksDBException {
            batch.put(k, v);
        }

        void delete(byte[] k) throws RocksDBException {
            batch.delete(k);
        }

        void deleteRange(byte[] from, byte[] to) throws RocksDBException {
            batch.deleteRange(from, to);
        }

        int count() {
            return batch.count();
        }

        void clear() {
            batch.clear();
            if (key.capacity() > 64 << 10) {
                key.capacity(256); // one huge key or value does not keep its buffer for good
            }
            if (value.capacity() > 1 << 20) {
                value.capacity(1024);
            }
        }

        @Override
        public void close() {
            batch.close();
            key.release();
            value.release();
        }
    }

    /**
     * A put that a later delete may cancel while it waits for the writer. Its value is built only when the writer
     * claims it (so a cancelled one costs no encoding either), and may change until then ({@link #stillPending}).
     */
    abstract static class Elidable implements Op {
        private static final VarHandle STATE;
        private static final int PENDING = 0;
        private static final int CLAIMED = 1;
        private static final int CANCELLED = 2;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(Elidable.class, "state", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        @SuppressWarnings("unused") // through STATE
        private volatile int state;

        @Override
        public final void apply(Batch batch) throws RocksDBException {
            if (claim()) {
                write(batch);
            }
        }

        /** The writer takes the put for its batch: false when it was cancelled first. */
        boolean claim() {
            return STATE.compareAndSet(this, PENDING, CLAIMED);
        }

        /** Called once, by the writer, after it claimed the put: every change made before the claim is visible. */
        abstract void write(Batch batch) throws RocksDBException;

        /** True when the put will not be written: the caller skips the matching delete. */
        boolean cancel() {
            return STATE.compareAndSet(this, PENDING, CANCELLED);
        }

        /**
         * After changing what {@link #write} will write: true when the writer has not claimed the put yet, so it
         * writes the change (the change happened before the claim); false when the caller must write it itself.
         */
        boolean stillPending() {
            return state == PENDING;
        }
    }

    private record Barrier(WriteCallback callback) implements Op {
        @Override
        public void apply(Batch batch) {
        }
    }

    private final RocksDB db;
    private final WriteOptions options;
    private final StoreMetrics metrics;
    private final String where;
    private final Queue<Op> queue = PlatformDependent.newMpscQueue();
    private final Thread thread;
    /** Set by the writer before it parks on an empty queue; whoever adds an operation then wakes it. */
    private volatile boolean sleeping;
    private volatile boolean running = true;
    private volatile boolean writable = true;
    private long lastClock;
    private final long lingerNanos;
    /** The last batch held {@link #BUSY_BATCH} operations or more; the writer's own. */
    private boolean busy;
    /** When the writer took its last batch ({@link System#nanoTime}); the writer's own. */
    private long taken;

    GroupCommitWriter(RocksDB db, boolean fsync, long lingerNanos, StoreMetrics metrics, String where) {
        this.db = db;
        this.lingerNanos = lingerNanos;
        this.options = new WriteOptions().setSync(fsync);
        this.metrics = metrics;
        this.where = where;
        this.thread = new Thread(this::run, "sluice-store-writer");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    void submit(Op op) {
        queue.offer(op);
        if (sleeping) {
            sleeping = false;
            LockSupport.unpark(thread);
        }
    }

    void afterWrites(WriteCallback callback) {
        submit(new Barrier(callback));
    }

    boolean isWritable() {
        return writable;
    }

    int pending() {
        return queue.size();
    }

    private void run() {
        List<Op> ops = new ArrayList<>(1024);
        List<WriteCallback> callbacks = new ArrayList<>(256);
        long parkNanos = TimeUnit.MILLISECONDS.toNanos(CLOCK_PERIOD_MILLIS);
        try (Batch batch = new Batch()) {
            while (running || !queue.isEmpty()) {
                Op op;
                if (queue.isEmpty()) {
                    sleeping = true;
                    if (queue.isEmpty() && running) {
                        LockSupport.parkNanos(this, parkNanos);
                    }
                    sleeping = false;
                    if (queue.isEmpty()) {
                        write(ops, callbacks, batch); // the clock, once a second
                    }
                    continue; // and a busy writer lingers from the first operation that woke it
                }
                if (busy && lingerNanos > 0) {
                    linger();
                }
                while (ops.size() < MAX_BATCH && (op = queue.poll()) != null) {
                    ops.add(op);
                }
                taken = System.nanoTime();
                busy = ops.size() >= BUSY_BATCH;
                write(ops, callbacks, batch);
                ops.clear();
                callbacks.clear();
            }
        }
    }

    /**
     * Let operations gather until {@code --store-linger} after the last batch was taken (stopping early when a full
     * batch is there): a connected subscriber's acknowledgement that arrives meanwhile cancels its queue entry's put,
     * the batch is larger, and no one needs to wake the writer while it waits. Counted from the last take, not from
     * the end of its write: a write that took as long (an fsync) already let them gather.
     */
    private void linger() {
        long until = taken + lingerNanos;
        long left;
        while (running && queue.size() < MAX_BATCH && (left = until - System.nanoTime()) > 0) {
            LockSupport.parkNanos(this, left);
        }
    }

    private void write(List<Op> ops, List<WriteCallback> callbacks, Batch batch) {
        long start = System.nanoTime();
        boolean ok;
        int count = 0;
        int elided = 0;
        try {
            batch.clear();
            for (Op op : ops) {
                if (op instanceof Barrier b) {
                    callbacks.add(b.callback());
                } else if (op instanceof Elidable e) {
                    if (e.claim()) {
                        e.write(batch);
                        count++;
                    } else {
                        elided++;
                    }
                } else {
                    op.apply(batch);
                    count++;
                }
            }
            long now = System.currentTimeMillis();
            if (now - lastClock >= CLOCK_PERIOD_MILLIS || !writable) {
                // how long the broker was down is counted from the last clock a restart finds; and after a failure
                // a batch with nothing left to write (its puts cancelled) must still write to say the store writes again
                batch.put(KeyLayout.CLOCK_KEY, java.nio.ByteBuffer.allocate(8).putLong(now).array());
                lastClock = now;
            }
            if (batch.count() > 0) {
                db.write(options, batch.batch);
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
                        + "free disk space, make the data directory writable by the broker's user or fix the file "
                        + "system, then restart; nothing acknowledged is lost", where, reason(e));
            }
        }
        try {
            if (count > 0) {
                metrics.batchWritten(count, System.nanoTime() - start);
            }
            if (elided > 0) {
                metrics.elided(elided);
            }
        } catch (RuntimeException e) {
            // a meter must never stop the writer: every publish waiting on this batch would wait forever
            log.warn("store metrics could not record a group commit", e);
        }
        boolean written = ok;
        // what the callbacks hand to event loops (the acknowledgements they release) goes once they have all run: one
        // wake-up per loop and commit
        LoopHandoff.holding(() -> {
            for (WriteCallback c : callbacks) {
                try {
                    c.written(written);
                } catch (RuntimeException e) {
                    log.warn("a store write callback failed", e);
                }
            }
        });
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
        LockSupport.unpark(thread);
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        options.close();
    }
}
