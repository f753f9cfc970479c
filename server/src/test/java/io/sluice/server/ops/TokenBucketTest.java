package io.sluice.server.ops;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The token bucket on a hand-driven clock: the burst at its edge, then the steady rate. */
class TokenBucketTest {
    @Test
    void burstThenSteadyRate() {
        AtomicLong now = new AtomicLong(1_000);
        TokenBucket bucket = new TokenBucket(10, 5, now::get);
        for (int i = 0; i < 5; i++) {
            assertTrue(bucket.tryTake(), "token " + i + " of the burst");
        }
        assertFalse(bucket.tryTake(), "past the burst");
        now.addAndGet(99_000_000); // 99 ms: 0.99 of a token at 10/s
        assertFalse(bucket.tryTake());
        now.addAndGet(1_000_000); // 100 ms: one token
        assertTrue(bucket.tryTake());
        assertFalse(bucket.tryTake());
        now.addAndGet(10_000_000_000L); // long idle: refills to the capacity, not beyond
        for (int i = 0; i < 5; i++) {
            assertTrue(bucket.tryTake());
        }
        assertFalse(bucket.tryTake());
    }

    @Test
    void stormIsAdmittedAtTheRate() {
        AtomicLong now = new AtomicLong();
        TokenBucket bucket = new TokenBucket(100, 10, now::get);
        int admitted = 0;
        // 10 000 attempts spread over 5 simulated seconds
        for (int i = 0; i < 10_000; i++) {
            now.addAndGet(500_000);
            if (bucket.tryTake()) {
                admitted++;
            }
        }
        // the burst plus 100 per second for 5 s, give or take the last partial token
        assertTrue(admitted >= 509 && admitted <= 510, "admitted " + admitted);
    }
}
