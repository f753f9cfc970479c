package io.sluice.bench.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What /proc says about the broker process: CPU seconds (user + system) and resident memory; for a JVM broker
 * also its heap in use after a full GC, through jcmd (the JDK's own tool), which RSS cannot tell apart from
 * heap the JVM merely reserved.
 */
final class ProcessStats {
    private static final double TICKS_PER_SECOND = 100.0; // USER_HZ on Linux
    /**
     * A heap space's line of GC.heap_info: one for G1 ("garbage-first heap total ..K, used ..K"), one per
     * generation for the serial and parallel collectors (young, then old), all of which count.
     */
    private static final Pattern HEAP_USED = Pattern.compile("total \\d+K, used (\\d+)K");

    private final long pid;
    private volatile long peakRssKb;

    ProcessStats(long pid) {
        this.pid = pid;
    }

    boolean enabled() {
        return pid > 0 && Files.exists(Path.of("/proc/" + pid));
    }

    /** User + system CPU seconds the process has used so far, -1 when unknown. */
    double cpuSeconds() {
        if (pid <= 0) {
            return -1;
        }
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS_PER_SECOND;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Bytes the process caused to be written to storage so far ({@code /proc/PID/io} write_bytes), -1 when unknown. */
    long writeBytes() {
        if (pid <= 0) {
            return -1;
        }
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/io"))) {
                if (l.startsWith("write_bytes:")) {
                    return Long.parseLong(l.substring(12).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return -1;
    }

    long rssKb() {
        return status("VmRSS:");
    }

    /** Sample RSS; call periodically so {@link #peakRssKb()} is the peak over the run. */
    void sample() {
        long rss = rssKb();
        if (rss > peakRssKb) {
            peakRssKb = rss;
        }
    }

    long peakRssKb() {
        return peakRssKb;
    }

    /** The process's resident high-water mark since it started (VmHWM), -1 when unknown. */
    long hwmKb() {
        return status("VmHWM:");
    }

    private long status(String key) {
        if (pid <= 0) {
            return -1;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** The process's limit on open files (its soft RLIMIT_NOFILE), -1 when unknown. */
    long openFilesLimit() {
        return pid <= 0 ? -1 : openFilesLimit(Path.of("/proc/" + pid + "/limits"));
    }

    /** This process's own limit on open files (a JVM raises its soft limit to the hard one at start). */
    static long ownOpenFilesLimit() {
        return openFilesLimit(Path.of("/proc/self/limits"));
    }

    private static long openFilesLimit(Path limits) {
        try {
            for (String line : Files.readAllLines(limits)) {
                if (line.startsWith("Max open files")) {
                    String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                    return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** Heap in use (KiB) after a full GC when the broker is a JVM that jcmd can reach, else -1. Blocks: not on an event loop. */
    long heapUsedAfterGcKb() {
        if (pid <= 0 || !isJvm()) {
            return -1;
        }
        if (run("GC.run") == null) {
            return -1;
        }
        String info = run("GC.heap_info");
        if (info == null) {
            return -1;
        }
        Matcher m = HEAP_USED.matcher(info);
        long used = -1;
        while (m.find()) {
            used = Math.max(used, 0) + Long.parseLong(m.group(1));
        }
        return used;
    }

    /** jcmd attaches by sending SIGQUIT, which ends a process that is not a JVM: ask only a JVM. */
    private boolean isJvm() {
        try {
            Path exe = Files.readSymbolicLink(Path.of("/proc/" + pid + "/exe"));
            return exe.getFileName().toString().equals("java");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private String run(String command) {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        if (!Files.isExecutable(jcmd)) {
            return null;
        }
        try {
            Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return null;
            }
            String s = new String(out);
            return s.contains("Exception") || s.contains("not found") ? null : s;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
