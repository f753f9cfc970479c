package io.sluice.server.cluster;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HandedSequencesTest {

    @Test
    void aMarkedSequenceIsHandedAndOthersAreNot() {
        HandedSequences h = new HandedSequences(128);
        h.mark(5);
        h.mark(7);
        assertTrue(h.contains(5));
        assertTrue(h.contains(7));
        assertFalse(h.contains(6), "a sequence between two handed ones (another node's message)");
        assertFalse(h.contains(8), "a sequence above the highest");
        assertFalse(h.contains(0));
    }

    @Test
    void marksOutOfOrderWithinTheWindowAreKept() {
        HandedSequences h = new HandedSequences(128);
        h.mark(100);
        h.mark(60);
        assertTrue(h.contains(60));
        assertTrue(h.contains(100));
        assertFalse(h.contains(61));
    }

    @Test
    void aSequenceThatLeftTheWindowReadsAsNotHandedAndItsBitServesANewOne() {
        HandedSequences h = new HandedSequences(128);
        h.mark(3);
        h.mark(3 + 127);
        assertTrue(h.contains(3), "still inside the window of 128");
        h.mark(3 + 128); // the same bit in the ring as 3
        assertFalse(h.contains(3), "out of the window");
        assertTrue(h.contains(131));
        h.mark(2); // too old to record
        assertFalse(h.contains(2));
    }

    @Test
    void bitsReusedByALaterSequenceAreClearedForEveryWidthOfJump() {
        for (int jump = 1; jump <= 300; jump++) {
            HandedSequences h = new HandedSequences(128);
            for (long s = 1; s <= 128; s++) {
                h.mark(s); // every bit set
            }
            long next = 128 + jump;
            h.mark(next);
            for (long s = Math.max(1, next - 127); s < next; s++) {
                assertTrue(s <= 128 == h.contains(s), "jump " + jump + ", sequence " + s);
            }
            assertTrue(h.contains(next));
        }
    }

    @Test
    void theWindowIsAPowerOfTwoOfAtLeast64() {
        assertThrows(IllegalArgumentException.class, () -> new HandedSequences(100));
        assertThrows(IllegalArgumentException.class, () -> new HandedSequences(32));
    }
}
