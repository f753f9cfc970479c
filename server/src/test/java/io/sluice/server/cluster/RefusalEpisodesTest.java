package io.sluice.server.cluster;

import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Refusals are told once per episode, on a clock the test moves: the first refusal starts one, refusals every few
 * hundred milliseconds continue it silently, a quiet time ends it with one line of counts, a long one is recalled
 * once a minute, and the next refusal after the end starts a new one.
 */
class RefusalEpisodesTest {
    private static long ms(long millis) {
        return TimeUnit.MILLISECONDS.toNanos(millis);
    }

    @Test
    void oneLineWhenAnEpisodeStartsAndOneWithItsCountsWhenItClears() {
        RefusalEpisodes e = new RefusalEpisodes();
        long t = ms(1_000);
        assertNull(e.check(t), "nothing to say before any refusal");
        assertTrue(e.retried("sluice.node.b", t), "the first refusal starts an episode");
        for (int i = 1; i <= 40; i++) { // a lane refused again every 250 ms for 10 s
            t += ms(250);
            assertFalse(e.retried("sluice.node.b", t), "a refusal within the episode starts nothing, at " + i);
            assertNull(e.check(t), "no line while refusals go on, at " + i);
        }
        assertFalse(e.refused("sluice.node.c", t), "a publisher refused counts in the same episode");
        t += RefusalEpisodes.QUIET_NANOS - ms(1);
        assertNull(e.check(t), "not clear before the quiet time");
        assertTrue(e.open());
        t += ms(1);
        String end = e.check(t);
        assertNotNull(end, "one line once quiet");
        assertTrue(end.contains("41 sends refused and tried again") && end.contains("1 refused to their publishers")
                && end.contains("sluice.node.b") && end.contains("sluice.node.c") && end.contains("10000 ms"), end);
        assertFalse(e.open());
        assertNull(e.check(t + ms(10_000)), "said once");
        assertTrue(e.retried("sluice.node.b", t + ms(20_000)), "the next refusal starts a new episode");
        String next = e.check(t + ms(20_000) + RefusalEpisodes.QUIET_NANOS);
        assertNotNull(next);
        assertTrue(next.contains(" 1 sends refused") && !next.contains("sluice.node.c"), "counts start again: " + next);
    }

    @Test
    void aLongEpisodeIsRecalledOnceAMinute() {
        RefusalEpisodes e = new RefusalEpisodes();
        long t = 0;
        assertTrue(e.retried("sluice.node.b", t));
        int reminders = 0;
        for (int s = 1; s <= 150; s++) { // refused every second for 150 s, checked every second
            t += ms(1_000);
            e.retried("sluice.node.b", t);
            String line = e.check(t);
            if (line != null) {
                reminders++;
                assertTrue(line.contains("still") && e.open(), line);
            }
        }
        assertEquals(2, reminders, "one reminder per minute");
    }
}
