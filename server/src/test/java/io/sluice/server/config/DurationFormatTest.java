package io.sluice.server.config;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Durations in --help read back as the same value: a bare number is seconds, so 10000 ms must show as 10s. */
class DurationFormatTest {
    @Test
    void formattedDurationsParseBackToTheSameMillis() {
        for (long ms : new long[] {0, 1, 250, 1000, 1500, 10_000, 60_000, 90_000, 120_000, 3_600_000}) {
            assertEquals(ms, Settings.parseMillis(Settings.formatMillis(ms)), Settings.formatMillis(ms));
        }
        assertEquals("10s", Settings.formatMillis(10_000));
        assertEquals("1m", Settings.formatMillis(60_000));
        assertEquals("250ms", Settings.formatMillis(250));
    }

    @Test
    void helpShowsDurationDefaultsAsTheFlagTakesThem() {
        assertTrue(Settings.help().contains("--shutdown-drain"));
        assertTrue(Settings.help().lines().filter(l -> l.contains("--sys-interval")).allMatch(l -> l.endsWith("[default: 10s]")));
    }
}
