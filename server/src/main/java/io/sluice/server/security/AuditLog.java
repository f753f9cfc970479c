package io.sluice.server.security;

import io.sluice.server.events.Logs;
import org.slf4j.Logger;

import java.net.SocketAddress;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * One line per refused login and per authorization denial, on the logger {@code audit}: what was refused, the
 * protocol, client id, user, remote address and topic; never a password or token. At most {@code perSecond}
 * lines a second, so a flood of bad logins cannot fill the disk: past that lines are counted, and the next
 * line that may be written says how many were left out.
 */
public final class AuditLog {
    private static final Logger log = Logs.get("audit");

    private final int perSecond;
    private final LongSupplier clock;
    private final LongAdder loginsRefused = new LongAdder();
    private final LongAdder denials = new LongAdder();
    private long second;
    private int written;
    private long suppressed;

    public AuditLog(int perSecond) {
        this(perSecond, System::nanoTime);
    }

    AuditLog(int perSecond, LongSupplier nanoClock) {
        this.perSecond = perSecond;
        this.clock = nanoClock;
    }

    /** A login refused: bad credentials, anonymous refused, expired or forged token. */
    public void loginRefused(Credentials c, String reason) {
        loginsRefused.increment();
        write("login refused", c.protocol(), c.clientId(), c.username(), c.remote(), null, reason);
    }

    /** A topic operation refused ({@code action}: publish, subscribe, an HTTP endpoint's name). */
    public void denied(String action, String protocol, String clientId, String user, SocketAddress remote, String topic) {
        denials.increment();
        write(action + " denied", protocol, clientId, user, remote, topic, null);
    }

    /** A connection closed because its credential expired. */
    public void expired(String protocol, String clientId, String user, SocketAddress remote) {
        write("credential expired", protocol, clientId, user, remote, null, "connection closed");
    }

    public long loginsRefused() {
        return loginsRefused.sum();
    }

    public long denials() {
        return denials.sum();
    }

    private void write(String what, String protocol, String clientId, String user, SocketAddress remote,
                       String topic, String reason) {
        long dropped;
        synchronized (this) {
            long now = clock.getAsLong() / 1_000_000_000L;
            if (now != second) {
                second = now;
                written = 0;
            }
            if (written >= perSecond) {
                suppressed++;
                return;
            }
            written++;
            dropped = suppressed;
            suppressed = 0;
        }
        StringBuilder line = new StringBuilder(what).append(": ").append(protocol)
                .append(" client '").append(clientId == null ? "" : clientId).append('\'')
                .append(" user '").append(user == null ? "" : user).append('\'')
                .append(" from ").append(remote);
        if (topic != null) {
            line.append(" topic '").append(topic).append('\'');
        }
        if (reason != null) {
            line.append(": ").append(reason);
        }
        if (dropped > 0) {
            line.append(" (").append(dropped).append(" audit lines left out before this one, over --audit-rate)");
        }
        log.warn(line.toString());
    }
}
