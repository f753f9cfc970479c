package io.sluice.server.ops;

import java.util.function.LongSupplier;

/**
 * A token bucket: {@code ratePerSecond} tokens drip in continuously up to {@code capacity}; each admission
 * takes one. A burst up to the capacity passes at once, then admissions are paced at the rate, which is what
 * turns a reconnect storm into a steady stream. Synchronized: it is taken once per new connection, never on
 * the message path.
 */
final class TokenBucket {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final long capacity;
    private final long ratePerSecond;
    private final LongSupplier clock;
    /** Tokens scaled by NANOS_PER_SECOND, so whole nanoseconds of refill never round away. */
    private long scaledTokens;
    private long lastRefill;

    TokenBucket(long ratePerSecond, long capacity, LongSupplier nanoClock) {
        this.ratePerSecond = ratePerSecond;
        this.capacity = capacity;
        this.clock = nanoClock;
        this.scaledTokens = capacity * NANOS_PER_SECOND;
        this.lastRefill = nanoClock.getAsLong();
    }

    synchronized boolean tryTake() {
        long now = clock.getAsLong();
        long elapsed = now - lastRefill;
        if (elapsed > 0) {
            long max = capacity * NANOS_PER_SECOND;
            // elapsed * rate overflows only after ~292 years / rate; cap elapsed at what fills the bucket
            long fill = Math.min(elapsed, max / Math.max(1, ratePerSecond) + 1) * ratePerSecond;
            scaledTokens = Math.min(max, scaledTokens + fill);
            lastRefill = now;
        }
        if (scaledTokens >= NANOS_PER_SECOND) {
            scaledTokens -= NANOS_PER_SECOND;
            return true;
        }
        return false;
    }

    /** Nanoseconds until the next token, for a Retry-After hint. */
    synchronized long nanosUntilNextToken() {
        long missing = NANOS_PER_SECOND - scaledTokens;
        return missing <= 0 ? 0 : (missing + ratePerSecond - 1) / ratePerSecond;
    }
}
