package io.sluice.server.testkit;

import io.sluice.server.events.Logs;
import org.slf4j.Logger;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes traces: one file of JSON lines per client ({@code DIR/<protocol>-<client id>.jsonl}, appended across
 * the client's connections), every packet or frame both ways. The event loops only hand a formatted line to a
 * bounded queue; one thread of its own does the file I/O, so a slow disk never holds a connection. When the
 * queue is full the line is dropped and counted (the count goes into each file when the tracer closes).
 */
public final class Tracer implements AutoCloseable {
    private static final Logger log = Logs.get(Tracer.class);
    private static final int QUEUE = 65_536;
    private static final Entry STOP = new Entry("", "", null);

    /** A line for a file, or (with {@code flushed}) a request to flush everything before it. */
    private record Entry(String file, String line, CountDownLatch flushed) {
    }

    private final Path dir;
    private final BlockingQueue<Entry> queue = new ArrayBlockingQueue<>(QUEUE);
    private final AtomicLong dropped = new AtomicLong();
    private final Thread writer;

    public Tracer(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create the trace directory " + dir + " (" + e.getMessage()
                    + "); choose another with --trace", e);
        }
        writer = new Thread(this::run, "sluice-trace");
        writer.setDaemon(true);
        writer.start();
    }

    public Path dir() {
        return dir;
    }

    /** The file a client's lines go to: its protocol and client id, made safe as a file name. */
    static String fileName(String protocol, String clientId) {
        return protocol + "-" + clientId.replaceAll("[^A-Za-z0-9._-]", "_") + ".jsonl";
    }

    /** Queue one line; never blocks. */
    void write(String file, String line) {
        if (!queue.offer(new Entry(file, line, null))) {
            dropped.incrementAndGet();
        }
    }

    /** Lines dropped because the writer fell behind. */
    public long dropped() {
        return dropped.get();
    }

    private void run() {
        Map<String, Writer> open = new HashMap<>();
        List<Entry> batch = new ArrayList<>();
        try {
            while (true) {
                Entry first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    flushAll(open);
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, 4096);
                for (Entry e : batch) {
                    if (e == STOP) {
                        closeAll(open);
                        return;
                    }
                    if (e.flushed() != null) {
                        flushAll(open);
                        e.flushed().countDown();
                        continue;
                    }
                    Writer w = open.computeIfAbsent(e.file(), this::openFile);
                    if (w != null) {
                        w.write(e.line());
                        w.write('\n');
                    }
                }
                batch.clear();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            log.warn("trace: writing to {} failed ({}); tracing stops, free disk space or choose another --trace",
                    dir, e.getMessage());
        }
        closeAll(open);
    }

    private Writer openFile(String name) {
        try {
            return Files.newBufferedWriter(dir.resolve(name), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            log.warn("trace: cannot open {} ({}); this client is not traced", dir.resolve(name), e.getMessage());
            return null;
        }
    }

    private static void flushAll(Map<String, Writer> open) throws IOException {
        for (Writer w : open.values()) {
            if (w != null) {
                w.flush();
            }
        }
    }

    private void closeAll(Map<String, Writer> open) {
        for (Writer w : open.values()) {
            try {
                if (w != null) {
                    if (dropped.get() > 0) {
                        w.write("{\"dropped\":" + dropped.get() + "}\n");
                    }
                    w.close();
                }
            } catch (IOException e) {
                log.warn("trace: closing a file in {} failed ({})", dir, e.getMessage());
            }
        }
        open.clear();
    }

    /** Write out what is queued, then stop; waits a bounded time. */
    @Override
    public void close() {
        try {
            if (writer.isAlive() && queue.offer(STOP, 5, TimeUnit.SECONDS)) {
                writer.join(5_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Wait until every line queued so far is on disk (tests, the extension's report); bounded to 5 s. */
    public void sync() {
        CountDownLatch flushed = new CountDownLatch(1);
        try {
            if (writer.isAlive() && queue.offer(new Entry("", "", flushed), 5, TimeUnit.SECONDS)) {
                flushed.await(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
