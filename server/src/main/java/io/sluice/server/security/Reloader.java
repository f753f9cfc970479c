package io.sluice.server.security;

import io.sluice.server.events.Logs;
import org.slf4j.Logger;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Reloads security files (password file, ACL file, JWT keys, TLS certificates) when they change, off the event
 * loops: one thread compares each file's modification time and size every interval and reloads a changed file
 * once it has stayed the same for one interval (an editor's truncate-then-write is not read half way), and
 * {@link #reloadNow()} (SIGHUP) reloads all at once. A file that no longer parses is reported and the previous content stays in
 * force, so a half-written edit never locks everyone out.
 */
public final class Reloader implements AutoCloseable {
    private static final Logger log = Logs.get("security");

    private final ScheduledExecutorService thread;
    private final List<Watched> watched = new CopyOnWriteArrayList<>();

    /** {@code intervalMillis}: how often files are compared; 0 watches none (SIGHUP still reloads). */
    public Reloader(long intervalMillis) {
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sluice-security-reload");
            t.setDaemon(true);
            return t;
        });
        if (intervalMillis > 0) {
            thread.scheduleWithFixedDelay(this::check, intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Run {@code load} whenever one of {@code files} changes; {@code what} names it in the log. The caller has
     * already loaded the files once (a bad file at start-up stops the server instead).
     */
    public void watch(String what, List<Path> files, Consumer<List<Path>> load) {
        watched.add(new Watched(what, List.copyOf(files), load, stamp(files)));
    }

    /** Reload every file now, changed or not (SIGHUP); returns once done. */
    public void reloadNow() {
        try {
            thread.submit(() -> watched.forEach(w -> w.reload(stamp(w.files)))).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("reload did not complete: {}", e.toString());
        }
    }

    private void check() {
        for (Watched w : watched) {
            String now = stamp(w.files);
            if (Objects.equals(now, w.stamp)) {
                w.changing = null;
            } else if (Objects.equals(now, w.changing)) {
                w.reload(now);
            } else {
                w.changing = now;
            }
        }
    }

    private static String stamp(List<Path> files) {
        StringBuilder sb = new StringBuilder();
        for (Path p : files) {
            try {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                sb.append(a.lastModifiedTime().toMillis()).append('/').append(a.size()).append(';');
            } catch (IOException e) {
                sb.append("missing;");
            }
        }
        return sb.toString();
    }

    private static final class Watched {
        final String what;
        final List<Path> files;
        final Consumer<List<Path>> load;
        volatile String stamp;
        /** A new stamp seen at the last check, reloaded if the next check sees it again. */
        String changing;

        Watched(String what, List<Path> files, Consumer<List<Path>> load, String stamp) {
            this.what = what;
            this.files = files;
            this.load = load;
            this.stamp = stamp;
        }

        void reload(String now) {
            stamp = now;
            changing = null;
            try {
                load.accept(files);
                log.info("reloaded {} from {}", what, files);
            } catch (RuntimeException e) {
                log.warn("{} not reloaded, the previous one stays in force: {}", what, e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
