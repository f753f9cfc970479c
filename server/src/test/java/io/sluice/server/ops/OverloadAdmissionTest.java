package io.sluice.server.ops;

import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import io.netty.channel.Channel;
import io.netty.channel.DefaultEventLoopGroup;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Adaptive admission: new connections are shed at accept while the I/O threads run later than
 * {@code overload-lag}, and admitted again once they catch up; with no fixed rate (the default) nothing else
 * refuses them.
 */
class OverloadAdmissionTest {

    @Test
    void overloadedJustPastTheLagLimitAndNotAtIt() {
        AtomicLong lag = new AtomicLong();
        long limit = TimeUnit.MILLISECONDS.toNanos(500);
        Admission a = new Admission(100, 0, 0, 1, System::nanoTime, lag::get, limit);
        lag.set(limit);
        assertFalse(a.overloaded(), "at the limit");
        lag.set(limit + 1);
        assertTrue(a.overloaded(), "past the limit");
        assertNull(a.admit(null), "with no fixed rate, nothing but the gate at accept refuses for load");
        Admission never = new Admission(100, 0, 0, 1, System::nanoTime, lag::get, 0);
        lag.set(Long.MAX_VALUE);
        assertFalse(never.overloaded(), "overload-lag 0: never");
    }

    /** A loop held busy past the window counts as late at once; free again, as soon as a probe runs on time. */
    @Test
    void theLagOfABusyLoopShowsWhileItIsBusyAndGoesWhenItIsFree() throws Exception {
        DefaultEventLoopGroup loops = new DefaultEventLoopGroup(2);
        try (EventLoopLag lag = new EventLoopLag(loops, 20, 200)) {
            CountDownLatch release = new CountDownLatch(1);
            loops.next().execute(() -> {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            awaitLag(lag, true, TimeUnit.MILLISECONDS.toNanos(300));
            release.countDown();
            awaitLag(lag, false, TimeUnit.MILLISECONDS.toNanos(300));
        } finally {
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private static void awaitLag(EventLoopLag lag, boolean above, long threshold) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while ((lag.nanos() > threshold) != above) {
            assertTrue(System.nanoTime() < deadline, "lag " + lag.nanos() / 1_000_000 + " ms never went "
                    + (above ? "above " : "below ") + threshold / 1_000_000 + " ms");
            Thread.sleep(10);
        }
    }

    /**
     * A real broker with one I/O thread, held busy: new sockets are closed as they are accepted (no CONNACK: the
     * busy thread never sees them) and counted; once the thread catches up, clients are admitted again.
     */
    @Test
    void anOverloadedBrokerClosesNewSocketsAtAcceptAndAdmitsAgainOnceItCatchesUp() throws Exception {
        try (OpsTestServer server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.IO_THREADS, 1).with(Settings.OVERLOAD_LAG, 200L))) {
            Mqtt5BlockingClient first = Mqtt5Client.builder().identifier("first").serverHost("127.0.0.1")
                    .serverPort(server.mqttPort()).buildBlocking();
            first.connect();
            Channel busy = server.server.connections().iterator().next();
            CountDownLatch release = new CountDownLatch(1);
            // the one I/O thread is held as a storm would hold it (a test may do what the broker must not)
            busy.eventLoop().execute(() -> {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            try {
                // held past the lag window, the thread counts as late: the next socket is shed at accept
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (true) {
                    Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("shed").serverHost("127.0.0.1")
                            .serverPort(server.mqttPort()).buildBlocking();
                    Throwable refused = null;
                    try {
                        java.util.concurrent.CompletableFuture<?> f = c.toAsync().connect();
                        f.get(3, TimeUnit.SECONDS);
                    } catch (java.util.concurrent.ExecutionException e) {
                        refused = e.getCause();
                    } catch (java.util.concurrent.TimeoutException e) {
                        refused = null; // accepted onto the held thread: not shed yet
                    }
                    if (refused != null) {
                        assertFalse(refused instanceof Mqtt5ConnAckException, "shed before any CONNACK: " + refused);
                        break;
                    }
                    assertTrue(System.nanoTime() < deadline, "never shed while the I/O thread was held");
                }
            } finally {
                release.countDown();
            }

            // caught up: admitted again (polled: the lag falls as soon as a probe runs on time)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (true) {
                try {
                    Mqtt5Client.builder().identifier("after").serverHost("127.0.0.1").serverPort(server.mqttPort())
                            .buildBlocking().connect();
                    break;
                } catch (RuntimeException e) {
                    assertTrue(System.nanoTime() < deadline, "never admitted again: " + e);
                    Thread.sleep(50);
                }
            }
            // scraped once caught up: while overloaded, the HTTP port sheds its new sockets too
            assertTrue(Scrape.of(server.httpPort()).value("sluice_connections_refused_total", "reason", "overloaded") >= 1);
        }
    }
}
