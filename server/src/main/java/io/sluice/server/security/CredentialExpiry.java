package io.sluice.server.security;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Ends a connection when the credential it logged in with expires (a token's {@code exp}), for every protocol
 * alike: the protocol says how it ends ({@code onExpired}), this says when. The timer runs on the monotonic
 * clock, which can run a little ahead of the wall clock the expiry is read against, so a timer that fires before
 * the expiry waits out the rest rather than ending a credential that is still valid.
 */
public final class CredentialExpiry {
    private final ScheduledExecutorService executor;
    private final long atMillis;
    private final Runnable onExpired;
    private volatile ScheduledFuture<?> timer;
    private volatile boolean cancelled;

    private CredentialExpiry(ScheduledExecutorService executor, long atMillis, Runnable onExpired) {
        this.executor = executor;
        this.atMillis = atMillis;
        this.onExpired = onExpired;
    }

    /**
     * Run {@code onExpired} on {@code executor} (the connection's event loop) once the login's credential has
     * expired; null when it never does.
     */
    public static CredentialExpiry watch(ScheduledExecutorService executor, Login login, Runnable onExpired) {
        long at = login.expiresAtMillis();
        if (at <= 0) {
            return null;
        }
        CredentialExpiry expiry = new CredentialExpiry(executor, at, onExpired);
        expiry.arm();
        return expiry;
    }

    /** Stop watching: the connection closed, or a re-authentication brought a fresh credential. */
    public void cancel() {
        cancelled = true;
        ScheduledFuture<?> t = timer;
        if (t != null) {
            t.cancel(false);
        }
    }

    private void arm() {
        if (!cancelled) {
            timer = executor.schedule(this::due, Math.max(1, atMillis - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
        }
    }

    private void due() {
        if (cancelled) {
            return;
        }
        if (System.currentTimeMillis() < atMillis) {
            arm();
            return;
        }
        onExpired.run();
    }
}
