package io.sluice.server.ops;

import io.sluice.server.broker.Broker;
import io.sluice.server.broker.CloseReason;
import io.sluice.server.broker.Session;
import io.sluice.server.events.Logs;
import org.slf4j.Logger;

import java.util.concurrent.TimeUnit;

/**
 * Shutting down without losing an acknowledged message:
 * <ol>
 *   <li>not ready any more ({@code /readyz} 503) and every new connection refused as shutting down;</li>
 *   <li>the core holds new publishes unanswered ({@link Broker#holdPublishes}): their publishers keep them and
 *       resend elsewhere; wills are held the same way, so a clean shutdown sends none;</li>
 *   <li>drain: connections stay open until every online session's queue and in-flight window are empty
 *       (subscribers acknowledge what they were sent), or {@code shutdown-drain} passes;</li>
 *   <li>{@link Broker#closeAll} with {@link CloseReason#SERVER_SHUTTING_DOWN}: MQTT 5 clients get DISCONNECT
 *       0x8B, STOMP clients an ERROR frame, WebSocket close 1001; then the listeners close.</li>
 * </ol>
 */
public final class GracefulShutdown {
    private static final Logger log = Logs.get(GracefulShutdown.class);
    private static final long POLL_MILLIS = 20;
    /** How long closed connections get to write their goodbye before the event loops stop. */
    private static final long CLOSE_WAIT_MILLIS = 3_000;

    private final Broker broker;
    private final Admission admission;
    private final Readiness readiness;
    private final long drainMillis;

    public GracefulShutdown(Broker broker, Admission admission, Readiness readiness, long drainMillis) {
        this.broker = broker;
        this.admission = admission;
        this.readiness = readiness;
        this.drainMillis = drainMillis;
    }

    /**
     * Steps 1 to 4; blocks the calling thread (never an event loop) for at most the drain period plus a few
     * seconds. {@code farewell} runs right after {@link Broker#closeAll}: it tells the connections the core
     * does not know of (see {@link ShutdownEvent}).
     */
    public void run(Runnable farewell) {
        long start = System.nanoTime();
        readiness.draining();
        admission.shutDown();
        broker.holdPublishes();
        log.info("shutting down: refusing new connections, holding new publishes, draining in-flight messages "
                + "for up to {} ms", drainMillis);
        boolean drained = waitUntil(this::drained, drainMillis);
        long left = pending();
        broker.closeAll(CloseReason.SERVER_SHUTTING_DOWN);
        farewell.run();
        waitUntil(this::allOffline, CLOSE_WAIT_MILLIS);
        readiness.stopped();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        if (drained) {
            log.info("shutdown: drained in {} ms, connections closed", ms);
        } else {
            log.warn("shutdown: drain period of {} ms ended with {} messages queued or unacknowledged on online "
                    + "sessions; raise --shutdown-drain to give slow consumers longer", drainMillis, left);
        }
    }

    /** No online session holds a queued or unacknowledged QoS 1/2 message. */
    boolean drained() {
        return pending() == 0;
    }

    private long pending() {
        long n = 0;
        for (Session s : broker.sessions()) {
            if (s.isOnline()) {
                n += s.queue().queuedReliable() + s.queue().inflightCount();
            }
        }
        return n;
    }

    private boolean allOffline() {
        for (Session s : broker.sessions()) {
            if (s.isOnline()) {
                return false;
            }
        }
        return true;
    }

    private static boolean waitUntil(java.util.function.BooleanSupplier done, long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }
}
