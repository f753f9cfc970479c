package io.sluice.server.ops;

/**
 * Mosquitto's {@code $SYS/broker/load/...} numbers: a per-minute rate of a counter, smoothed by an
 * exponentially weighted moving average over 1, 5 and 15 minutes (as the Unix load average is). Updated by
 * one thread, the $SYS timer.
 */
final class LoadAverage {
    private static final double[] WINDOW_SECONDS = {60, 300, 900};

    private final double[] averages = new double[WINDOW_SECONDS.length];
    private long lastCount = -1;
    private long lastNanos;

    /** Feed the counter's current total; the first call only sets the starting point. */
    void update(long count, long nowNanos) {
        if (lastCount >= 0) {
            double seconds = (nowNanos - lastNanos) / 1e9;
            if (seconds > 0) {
                double perMinute = (count - lastCount) * 60.0 / seconds;
                for (int i = 0; i < averages.length; i++) {
                    double decay = Math.exp(-seconds / WINDOW_SECONDS[i]);
                    averages[i] = averages[i] * decay + perMinute * (1 - decay);
                }
            }
        }
        lastCount = count;
        lastNanos = nowNanos;
    }

    /** 0: 1 minute, 1: 5 minutes, 2: 15 minutes. */
    double average(int window) {
        return averages[window];
    }
}
