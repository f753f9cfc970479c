package io.sluice.server.cluster;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The receiving side's rules for putting one sending lane's messages back in order: by place, holding what arrives
 * ahead of a gap, never waiting below the oldest place not yet taken, within a count and a time.
 */
class LaneOrderTest {
    private static final long HOLD = 1_000;
    private final List<Integer> delivered = new ArrayList<>();

    /** Arrival of place {@code place} (its item is the place) with the oldest place not yet taken {@code oldest}. */
    private void arrive(LaneOrder<Integer> order, String lane, int place, int oldest, long now) {
        order.arrived(lane + " " + place + " " + oldest, place, now, delivered::add);
    }

    /** A lane "a" whose place 1 arrived and place 3 overtook place 2 (refused), holding at most {@code bound}. */
    private LaneOrder<Integer> gapAtTwo(int bound) {
        LaneOrder<Integer> order = new LaneOrder<>(HOLD, bound);
        arrive(order, "a", 1, 1, 0);
        arrive(order, "a", 3, 2, 0); // 2 was refused; 3 was stored before it
        return order;
    }

    @Test
    void inPlaceOrderEachIsDeliveredAtOnce() {
        LaneOrder<Integer> order = new LaneOrder<>(HOLD, 10);
        for (int p = 1; p <= 5; p++) {
            arrive(order, "a", p, 1, 0);
        }
        assertEquals(List.of(1, 2, 3, 4, 5), delivered);
        assertEquals(0, order.held());
    }

    @Test
    void whatOvertookAGapIsHeldUntilTheGapArrives() {
        LaneOrder<Integer> order = gapAtTwo(10);
        arrive(order, "a", 4, 2, 0);
        assertEquals(List.of(1), delivered);
        assertEquals(2, order.held());
        arrive(order, "a", 2, 2, 0); // 2 sent again and stored
        assertEquals(List.of(1, 2, 3, 4), delivered);
        assertEquals(0, order.held());
    }

    @Test
    void placesBelowTheOldestNotYetTakenAreNotWaitedFor() {
        LaneOrder<Integer> order = gapAtTwo(10); // 3 held for 2
        arrive(order, "a", 5, 4, 0); // sent once 2 and 3 were taken or given up: 2 is not coming (given up)
        assertEquals(List.of(1, 3), delivered);
        assertEquals(1, order.held()); // 5 waits for 4, which was not taken yet when 5 went out
        arrive(order, "a", 4, 4, 0);
        assertEquals(List.of(1, 3, 4, 5), delivered);
    }

    @Test
    void lanesAreIndependent() {
        LaneOrder<Integer> order = gapAtTwo(10);
        arrive(order, "b", 1, 1, 0);
        arrive(order, "b", 2, 1, 0);
        assertEquals(List.of(1, 1, 2), delivered);
        assertEquals(1, order.held());
    }

    @Test
    void aGapIsGivenUpAfterTheHold() {
        LaneOrder<Integer> order = new LaneOrder<>(HOLD, 10);
        arrive(order, "a", 1, 1, 0);
        arrive(order, "a", 3, 2, 10);
        arrive(order, "a", 4, 2, 20);
        order.expire(10 + HOLD - 1, delivered::add);
        assertEquals(List.of(1), delivered);
        order.expire(10 + HOLD, delivered::add);
        assertEquals(List.of(1, 3, 4), delivered);
        assertEquals(1, order.gapsGivenUp());
        arrive(order, "a", 2, 2, 2_000); // late: delivered at once, out of order
        assertEquals(List.of(1, 3, 4, 2), delivered);
    }

    @Test
    void neverHoldsMoreThanItsBound() {
        LaneOrder<Integer> order = gapAtTwo(2);
        arrive(order, "a", 4, 2, 0);
        assertEquals(2, order.held());
        arrive(order, "a", 5, 2, 0); // a third would be one too many: the gap is given up
        assertEquals(List.of(1, 3, 4, 5), delivered);
        assertEquals(0, order.held());
        assertEquals(1, order.gapsGivenUp());
    }

    @Test
    void aLaneMetAtItsStartIsFollowedFromPlaceOneAndOneMetMidWayFromItsFirstMessage() {
        LaneOrder<Integer> order = new LaneOrder<>(HOLD, 10);
        arrive(order, "new", 2, 1, 0); // 1 refused, 2 stored first
        assertEquals(List.of(), delivered);
        arrive(order, "new", 1, 1, 0);
        assertEquals(List.of(1, 2), delivered);
        delivered.clear();
        arrive(order, "old", 40, 35, 0); // this node started again in the middle of a lane
        arrive(order, "old", 41, 35, 0);
        assertEquals(List.of(40, 41), delivered);
    }

    @Test
    void aMessageWithoutAPlaceIsDeliveredAtOnce() {
        LaneOrder<Integer> order = new LaneOrder<>(HOLD, 10);
        order.arrived(null, 7, 0, delivered::add);
        order.arrived("garbled", 8, 0, delivered::add);
        order.arrived("a x y", 9, 0, delivered::add);
        assertEquals(List.of(7, 8, 9), delivered);
    }

    /** A batch covering places {@code first..last} (its item is its first place). */
    private void arriveBatch(LaneOrder<Integer> order, String lane, int first, int oldest, int last) {
        order.arrived(lane + " " + first + " " + oldest + " " + last, first, 0, delivered::add);
    }

    @Test
    void aBatchCoversItsRangeOfPlacesAndCountsAsOneHeld() {
        LaneOrder<Integer> order = new LaneOrder<>(HOLD, 1);
        arriveBatch(order, "a", 1, 1, 3);
        arriveBatch(order, "a", 7, 4, 9); // 4..6 refused and sent again later: 7..9 stored first
        assertEquals(List.of(1), delivered);
        assertEquals(1, order.held(), "a batch is one held message, as it is one for JetStream");
        arriveBatch(order, "a", 4, 4, 6);
        assertEquals(List.of(1, 4, 7), delivered, "the gap's batch, then what it overtook");
        arrive(order, "a", 10, 10, 0);
        assertEquals(List.of(1, 4, 7, 10), delivered, "the place after the last batch's last is next");
        arriveBatch(order, "a", 4, 4, 6); // past the duplicate window: a repeat, delivered (at least once)
        assertEquals(List.of(1, 4, 7, 10, 4), delivered);
        assertEquals(0, order.held());
    }

    @Test
    void aBatchBelowTheOldestNotYetTakenReleasesWhatWaitsBehindIt() {
        LaneOrder<Integer> order = new LaneOrder<>(HOLD, 10);
        arriveBatch(order, "a", 1, 1, 2);
        arriveBatch(order, "a", 6, 3, 8); // waits for 3..5
        arriveBatch(order, "a", 9, 6, 10); // 3..5 were given up: not waited for
        assertEquals(List.of(1, 6, 9), delivered);
        assertEquals(0, order.held());
    }
}
