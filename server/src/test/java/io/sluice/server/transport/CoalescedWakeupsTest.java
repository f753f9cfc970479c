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
    private long handled;
    private long heldMarked;
    private boolean holding;
    private final CoalescedWakeups strategy = new CoalescedWakeups(COALESCE, nanos -> {
        assertEquals(COALESCE, nanos);
        naps++;
    }, () -> tasks, () -> handled, () -> heldMarked, () -> holding);

    /** One decision with nothing queued; the sockets a nap would find ready: {@code ready}. */
    private int decide(int ready) throws Exception {
        return strategy.calculateStrategy(() -> ready, false);
    }

    /**
     * One decision that naps and finds {@code ready} sockets (served at once), then the loop handling what they and
     * any hand-overs brought: {@code messages}.
     */
    private void napGathers(int ready, int messages) throws Exception {
        int napsBefore = naps;
        assertEquals(ready == 0 ? SelectStrategy.SELECT : ready, decide(ready));
        assertEquals(napsBefore + 1, naps, "the loop napped");
        handled += messages;
    }

    /** One decision that does not nap: the loop waits in epoll_wait, then handles {@code messages}. */
    private void waits(int messages) throws Exception {
        int napsBefore = naps;
        assertEquals(SelectStrategy.SELECT, decide(9));
        assertEquals(napsBefore, naps, "the loop waited in epoll_wait");
        handled += messages;
    }

    /** A loop that slept: its first wake-up is not early, the next one (right after it went to wait) is. */
    private void sleptOnce() throws Exception {
        waits(1);
    }

    @Test
    void naps_go_on_while_each_gathers_several_messages() throws Exception {
        sleptOnce();
        for (int i = 1; i <= 100; i++) {
            napGathers(2, worth());
        }
        assertEquals(100, naps);
    }

    @Test
    void one_publishers_stream_is_worth_napping_on_its_socket_and_on_its_subscribers_loop() throws Exception {
        sleptOnce();
        for (int i = 0; i < 100; i++) {
            napGathers(1, worth()); // the publisher's loop: one socket, several publishes in it
        }
        tasks = true;
        for (int i = 0; i < 100; i++) {
            napGathers(0, worth()); // a subscribers' loop: no socket, one hand-over of several deliveries
        }
        assertEquals(200, naps);
    }

    @Test
    void a_nap_that_gathers_a_lockstep_clients_messages_ends_the_napping_until_a_probe() throws Exception {
        sleptOnce();
        napGathers(2, worth() - 1); // a publish and its delivery, or a delivery and its acknowledgement
        // early wake-ups now wait in epoll_wait, as without naps, until every PROBE_EVERY-th
        for (int i = 1; i < CoalescedWakeups.PROBE_EVERY; i++) {
            waits(1);
        }
        napGathers(2, worth() - 1); // the probe gathers as little
        for (int i = 1; i < CoalescedWakeups.PROBE_EVERY; i++) {
            waits(worth());
        }
        napGathers(2, worth()); // this probe gathers a stream's worth
        napGathers(2, worth()); // so the loop naps again at once
        assertEquals(4, naps);
    }

    @Test
    void a_nap_that_finds_nothing_goes_back_to_epoll_wait_and_changes_no_count() throws Exception {
        sleptOnce();
        napGathers(2, worth());
        napGathers(0, 0); // nothing came: the loop waits in epoll_wait
        napGathers(2, worth()); // woken early after that wait, it naps again
        napGathers(2, worth() - 1);
        for (int i = 1; i < CoalescedWakeups.PROBE_EVERY; i++) {
            waits(1);
        }
        napGathers(0, 0); // a probe that finds nothing at all says nothing of how the work comes
        for (int i = 1; i < CoalescedWakeups.PROBE_EVERY; i++) {
            waits(1); // still in lockstep until a probe gathers a stream's worth
        }
        assertEquals(5, naps);
    }

    @Test
    void work_held_until_something_arrives_keeps_its_loop_from_napping() throws Exception {
        sleptOnce();
        napGathers(2, worth());
        heldMarked = System.nanoTime(); // a drain stopped at a full window with deliveries queued
        waits(worth()); // the acknowledgement is read as soon as it comes
        waits(worth()); // and the next, while the mark is fresh
        heldMarked = System.nanoTime() - 2 * COALESCE; // marked longer than a nap ago: no longer held
        napGathers(2, worth());
        assertEquals(2, naps);
    }

    @Test
    void a_paused_publisher_keeps_its_loop_from_napping_while_it_is_paused() throws Exception {
        sleptOnce();
        holding = true;
        for (int i = 0; i < 3; i++) {
            waits(worth()); // the task that resumes it wakes the loop at once
        }
        holding = false;
        napGathers(2, worth());
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
