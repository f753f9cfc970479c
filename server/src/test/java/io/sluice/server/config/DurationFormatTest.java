package io.sluice.server.config;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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

    /** A duration with a floor takes the floor and refuses a millisecond less, naming the flag. */
    @Test
    void aDurationWithAMinimumRefusesLessThanIt() {
        Setting<Long> ackWait = Settings.CLUSTER_ACK_WAIT;
        assertEquals(500L, ackWait.parse("500ms"));
        assertEquals(5_000L, ackWait.defaultValue());
        SettingsException e = assertThrows(SettingsException.class, () -> ackWait.parse("499ms"));
        assertTrue(e.getMessage().contains("--cluster-ack-wait"), e.getMessage());
        assertTrue(e.getMessage().contains("at least 500ms"), e.getMessage());
    }

    @Test
    void helpShowsDurationDefaultsAsTheFlagTakesThem() {
        assertTrue(Settings.help().contains("--shutdown-drain"));
        assertTrue(Settings.help().lines().filter(l -> l.contains("--sys-interval")).allMatch(l -> l.endsWith("[default: 10s]")));
    }
}
