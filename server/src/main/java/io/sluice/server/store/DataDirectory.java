package io.sluice.server.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The data directory, created on first start and held by one broker process at a time: an exclusive lock on
 * {@code sluice.lock} (holding the owner's pid, for the message) that the operating system releases when the
 * process ends, however it ends, so a kill -9 never leaves a stale lock behind.
 */
final class DataDirectory implements AutoCloseable {
    static final String LOCK_FILE = "sluice.lock";

    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;

    private DataDirectory(Path dir, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
    }

    /** Create (if needed) and lock the directory; a clear {@link StoreException} says why it cannot be. */
    static DataDirectory open(Path dir) {
        Path absolute = dir.toAbsolutePath();
        try {
            Files.createDirectories(absolute);
        } catch (IOException e) {
            throw new StoreException("cannot create the data directory " + absolute + " (" + describe(e)
                    + "); choose a writable place with --data-dir, or --persistence none to keep nothing on disk");
        }
        Path lockFile = absolute.resolve(LOCK_FILE);
        FileChannel channel;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new StoreException("cannot open " + lockFile + " (" + describe(e) + "); the data directory must be "
                    + "writable by the broker: fix its permissions or choose another with --data-dir");
        }
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        } catch (IOException e) {
            close(channel);
            throw new StoreException("cannot lock " + lockFile + " (" + describe(e) + ")");
        }
        if (lock == null) {
            String owner = readOwner(channel);
            close(channel);
            throw new StoreException("the data directory " + absolute + " is in use by another Sluice process"
                    + (owner.isEmpty() ? "" : " (pid " + owner + ")")
                    + "; stop it first, or give this one its own --data-dir");
        }
        try {
            byte[] pid = Long.toString(ProcessHandle.current().pid()).getBytes(StandardCharsets.US_ASCII);
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(pid), 0);
            channel.force(false);
        } catch (IOException e) {
            // the lock is what counts; the pid is only for the message a second process prints
        }
        return new DataDirectory(absolute, channel, lock);
    }

    Path path() {
        return dir;
    }

    Path database() {
        return dir.resolve("db");
    }

    private static String readOwner(FileChannel channel) {
        try {
            ByteBuffer b = ByteBuffer.allocate(32);
            int n = channel.read(b, 0);
            return n <= 0 ? "" : new String(b.array(), 0, n, StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            return "";
        }
    }

    private static String describe(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    private static void close(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it as well
        }
        close(channel);
    }
}
