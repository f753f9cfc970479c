package io.sluice.server.transport;

import io.netty.channel.SelectStrategy;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * When a loop naps and when it waits: the decisions of {@link CoalescedWakeups} for the work each nap finds. The
 * nap is recorded instead of slept, and the nap is long (10 s) so every wake-up in a test counts as early and no
 * loop counts as saturated; what the loops do with real sockets is {@code MqttCrossLoopDeliveryTest}'s.
 */
class CoalescedWakeupsTest {
    private static final long COALESCE = TimeUnit.SECONDS.toNanos(10);

    private int naps;
    private boolean tasks;
    private long heldMarked;
    private boolean holding;
    private final CoalescedWakeups strategy = new CoalescedWakeups(COALESCE, nanos -> {
        assertEquals(COALESCE, nanos);
        naps++;
    }, () -> tasks, () -> heldMarked, () -> holding);

    /** One decision with nothing queued; the sockets a nap would find ready: {@code ready}. */
    private int decide(int ready) throws Exception {
        return strategy.calculateStrategy(() -> ready, false);
    }

    /** A loop that slept: its first wake-up is not early, the next one (right after it went to wait) is. */
    private void sleptOnce() throws Exception {
        assertEquals(SelectStrategy.SELECT, decide(9));
        assertEquals(0, naps, "a loop that was not woken early waits in epoll_wait");
    }

    @Test
    void naps_go_on_while_each_gathers_several_sockets() throws Exception {
        sleptOnce();
        for (int i = 1; i <= 100; i++) {
            assertEquals(worth(), decide(worth()));
            assertEquals(i, naps);
        }
    }

    @Test
    void a_nap_that_finds_a_lockstep_clients_sockets_ends_the_napping_until_a_probe() throws Exception {
        sleptOnce();
        assertEquals(2, decide(2), "what the nap found is served");
        assertEquals(1, naps);
        // early wake-ups now wait in epoll_wait, as without naps, until every PROBE_EVERY-th
        for (int i = 1; i < CoalescedWakeups.PROBE_EVERY; i++) {
            assertEquals(SelectStrategy.SELECT, decide(2));
        }
        assertEquals(1, naps);
        assertEquals(2, decide(2), "the probe naps");
        assertEquals(2, naps);
        // the probe found as little: another PROBE_EVERY early wake-ups without a nap
        for (int i = 1; i < CoalescedWakeups.PROBE_EVERY; i++) {
            assertEquals(SelectStrategy.SELECT, decide(worth()));
        }
        assertEquals(2, naps);
        assertEquals(worth(), decide(worth()), "this probe finds many sockets ready");
        assertEquals(3, naps);
        assertEquals(worth(), decide(worth()), "so the loop naps again at once");
        assertEquals(4, naps);
    }

    @Test
    void other_loops_hand_overs_count_as_one_source() throws Exception {
        sleptOnce();
        tasks = true;
        assertEquals(worth() - 1, decide(worth() - 1));
        assertEquals(worth() - 1, decide(worth() - 1), "sockets and the hand-overs together are worth a nap");
        assertEquals(2, naps);
        assertEquals(worth() - 2, decide(worth() - 2), "one socket fewer is not");
        assertEquals(3, naps);
        assertEquals(SelectStrategy.SELECT, decide(worth()));
        assertEquals(3, naps);
    }

    @Test
    void a_nap_that_finds_nothing_goes_back_to_epoll_wait() throws Exception {
        sleptOnce();
        assertEquals(worth(), decide(worth()));
        assertEquals(SelectStrategy.SELECT, decide(0));
        assertEquals(2, naps);
        assertEquals(worth(), decide(worth()), "woken early again after that wait: the next nap");
        assertEquals(3, naps);
    }

    @Test
    void work_held_until_something_arrives_keeps_its_loop_from_napping() throws Exception {
        sleptOnce();
        assertEquals(worth(), decide(worth()));
        assertEquals(1, naps);
        heldMarked = System.nanoTime(); // a drain stopped at a full window with deliveries queued
        assertEquals(SelectStrategy.SELECT, decide(worth()), "the acknowledgement is read as soon as it comes");
        assertEquals(SelectStrategy.SELECT, decide(worth()), "and the next, while the mark is fresh");
        assertEquals(1, naps);
        heldMarked = System.nanoTime() - 2 * COALESCE; // marked longer than a nap ago: no longer held
        assertEquals(worth(), decide(worth()));
        assertEquals(2, naps);
    }

    @Test
    void a_paused_publisher_keeps_its_loop_from_napping_while_it_is_paused() throws Exception {
        sleptOnce();
        holding = true;
        for (int i = 0; i < 3; i++) {
            assertEquals(SelectStrategy.SELECT, decide(worth()), "the task that resumes it wakes the loop at once");
        }
        assertEquals(0, naps);
        holding = false;
        assertEquals(worth(), decide(worth()));
        assertEquals(1, naps);
    }

    @Test
    void a_loop_with_tasks_queued_never_naps() throws Exception {
        sleptOnce();
        assertEquals(7, strategy.calculateStrategy(() -> 7, true));
        assertEquals(0, naps);
    }

    private static int worth() {
        return CoalescedWakeups.WORTH_NAPPING;
    }
}
