package io.sluice.server.testkit;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The faults armed for one client id; they stay armed across its reconnections until changed or cleared.
 * Set from any thread ({@link Faults}), read on the connection's event loop.
 */
final class ClientFaults {
    /** For a connection that has not named its client yet. */
    static final ClientFaults NONE = new ClientFaults();

    /** Inbound packets still to pass before the connection is dropped; 0 or less: not armed. */
    final AtomicInteger dropAfter = new AtomicInteger(-1);
    volatile long delayMillis;
    volatile boolean duplicate;
    volatile boolean withholdAcks;

    /** Count one inbound packet; true for the last one before the drop (then the fault is spent). */
    boolean countdownToDrop() {
        int n;
        do {
            n = dropAfter.get();
            if (n <= 0) {
                return false;
            }
        } while (!dropAfter.compareAndSet(n, n - 1));
        return n == 1;
    }

    void clear() {
        dropAfter.set(-1);
        delayMillis = 0;
        duplicate = false;
        withholdAcks = false;
    }
}
