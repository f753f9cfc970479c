package io.sluice.server.ops;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Mosquitto-style load: per-minute rates smoothed over 1, 5 and 15 minutes, on a hand-driven clock. */
class LoadAverageTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void aSteadyRateConvergesAndTheShortWindowLeads() {
        LoadAverage load = new LoadAverage();
        long count = 0;
        long now = 0;
        load.update(count, now);
        assertEquals(0.0, load.average(0));
        // 10 messages a second = 600 a minute, for 10 minutes in 10 s steps
        for (int i = 0; i < 60; i++) {
            count += 100;
            now += 10 * SECOND;
            load.update(count, now);
        }
        assertEquals(600.0, load.average(0), 1.0, "1 min window has converged");
        assertTrue(load.average(1) < load.average(0) && load.average(1) > 400, "5 min: " + load.average(1));
        assertTrue(load.average(2) < load.average(1), "15 min lags the 5 min: " + load.average(2));
        // silence: the 1 minute average falls fastest
        for (int i = 0; i < 6; i++) {
            now += 10 * SECOND;
            load.update(count, now);
        }
        assertTrue(load.average(0) < 250 && load.average(2) > load.average(0), "after a minute of silence");
    }
}
