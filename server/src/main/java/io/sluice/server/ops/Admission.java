package io.sluice.server.ops;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import io.sluice.server.config.Settings;
import io.sluice.server.events.Logs;
import io.sluice.server.events.Refusal;
import org.slf4j.Logger;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Who may open a connection: at most {@code max-connections} open at once, at most
 * {@code max-connections-per-address} from one IP address, none while the broker shuts down, and new ones only
 * while the broker keeps up with the ones it has.
 *
 * <p>Keeping up is adaptive by default: a new connection is shed only while the I/O threads run late by
 * more than {@code overload-lag} ({@link EventLoopLag}), that is while the broker is really overloaded and
 * every connection it already serves waits for it ({@link AcceptGate} refuses it as it is accepted, off the I/O
 * threads); otherwise it is admitted, as fast as the broker answers handshakes ({@link HandshakeBudget}: a storm
 * waits in the listen backlog rather than crowding the I/O threads). A fixed pace, the {@code connect-rate}
 * token bucket, is an option for those who want one (it refuses past its rate even when the broker has room).
 *
 * <p>How it plugs in: {@link AdmissionHandler} sits at the front of every listener's pipeline and asks
 * {@link #admit} when a socket opens. An admitted socket holds its place until it closes. A refused one is not
 * closed at once: it is marked (see {@link #refusal(Channel)}) so whoever reads its first request answers in
 * its own protocol, the HTTP upgrade with 429/503, MQTT with CONNACK 0x9F/0x97 (3.1.1: 0x03), STOMP with an
 * ERROR frame, and then closes; {@link AdmissionHandler} closes it anyway after a short grace period.
 */
public final class Admission {
    private static final Logger log = Logs.get(Admission.class);
    static final AttributeKey<Refusal> REFUSAL = AttributeKey.valueOf("sluice.refusal");

    private final int maxConnections;
    private final int maxPerAddress;
    private final TokenBucket bucket;
    private final LongSupplier lagNanos;
    private final long overloadLagNanos;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, AtomicInteger> perAddress = new ConcurrentHashMap<>();
    private volatile boolean shuttingDown;
    private volatile boolean starting;
    /** The current overload episode, for its two log lines (see {@link #shedding()}). */
    private boolean shedding;
    private long shedSince;
    private long shed;

    /**
     * @param maxPerAddress    0 for no per-address limit
     * @param ratePerSecond    0 for no fixed rate
     * @param lagNanos         how late the I/O threads run now ({@link EventLoopLag#nanos()})
     * @param overloadLagNanos the lag past which new connections are refused, 0 for never
     */
    public Admission(int maxConnections, int maxPerAddress, int ratePerSecond, int burst, LongSupplier nanoClock,
                     LongSupplier lagNanos, long overloadLagNanos) {
        this.maxConnections = maxConnections;
        this.maxPerAddress = maxPerAddress;
        this.bucket = ratePerSecond <= 0 ? null : new TokenBucket(ratePerSecond, burst, nanoClock);
        this.lagNanos = lagNanos;
        this.overloadLagNanos = overloadLagNanos;
    }

    public Admission(int maxConnections, int maxPerAddress, int ratePerSecond, int burst, LongSupplier nanoClock) {
        this(maxConnections, maxPerAddress, ratePerSecond, burst, nanoClock, () -> 0L, 0);
    }

    public static Admission from(Settings s, LongSupplier lagNanos) {
        int max = s.get(Settings.MAX_CONNECTIONS);
        if (max == 0) {
            long files = openFilesLimit();
            max = connectionsWithin(files);
            if (files < 0) {
                log.info("connections: the open-files limit cannot be read here; at most {} (--max-connections)", max);
            } else if (max < FEW_CONNECTIONS) {
                log.warn("connections: at most {}, the open-files limit ({}) less {} for the broker's own files; raise "
                        + "the limit for more (ulimit -Hn, or LimitNOFILE= for a service) or set --max-connections",
                        max, files, OWN_FILES);
            } else {
                log.info("connections: at most {}, the open-files limit ({}) less {} for the broker's own files "
                        + "(--max-connections)", max, files, OWN_FILES);
            }
        }
        return new Admission(max, s.get(Settings.MAX_CONNECTIONS_PER_ADDRESS),
                s.get(Settings.CONNECT_RATE), s.get(Settings.CONNECT_BURST), System::nanoTime, lagNanos,
                TimeUnit.MILLISECONDS.toNanos(s.get(Settings.OVERLOAD_LAG)));
    }

    /**
     * File descriptors kept for the broker's own files when {@code --max-connections} follows the open-files limit:
     * the JVM's jars, its event loops' selectors, the store's files, the cluster's connection, log files.
     */
    public static final int OWN_FILES = 512;
    /** Fewer connections than this from the open-files limit is worth a warning: a limit left at a shell's default. */
    private static final int FEW_CONNECTIONS = 10_000;
    /** The bound when the open-files limit cannot be read. */
    private static final int UNKNOWN_LIMIT_CONNECTIONS = 1_000_000;

    /**
     * The default connection bound under an open-files limit of {@code files} (-1: unknown). Past the limit a socket
     * cannot even be accepted: it waits in the listen backlog, its client gets no answer, and the acceptor pauses.
     * Under the bound it is accepted and refused in its own protocol.
     */
    static int connectionsWithin(long files) {
        if (files < 0) {
            return UNKNOWN_LIMIT_CONNECTIONS;
        }
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, files - OWN_FILES));
    }

    /** The process's open-files limit as the JVM has it (which raises its soft limit to the hard one), -1 unknown. */
    private static long openFilesLimit() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            return unix.getMaxFileDescriptorCount();
        }
        return -1;
    }

    /**
     * Take a place for a new connection from {@code remote}: null when admitted (call {@link #release} when it
     * closes), else why not. Limits are checked before the rate, so a refused connection spends no token.
     */
    public Refusal admit(SocketAddress remote) {
        if (shuttingDown) {
            return Refusal.SHUTTING_DOWN;
        }
        if (starting) {
            return Refusal.STARTING;
        }
        if (open.incrementAndGet() > maxConnections) {
            open.decrementAndGet();
            return Refusal.CONNECTION_LIMIT;
        }
        InetAddress address = maxPerAddress > 0 ? addressOf(remote) : null;
        if (address != null) {
            AtomicInteger n = perAddress.computeIfAbsent(address, a -> new AtomicInteger());
            if (n.incrementAndGet() > maxPerAddress) {
                decrement(address);
                open.decrementAndGet();
                return Refusal.ADDRESS_LIMIT;
            }
        }
        if (bucket != null && !bucket.tryTake()) {
            if (address != null) {
                decrement(address);
            }
            open.decrementAndGet();
            return Refusal.RATE_LIMIT;
        }
        return null;
    }

    /**
     * Whether the I/O threads run later than {@code overload-lag} now: {@link AcceptGate} then refuses new
     * sockets as they are accepted.
     */
    public boolean overloaded() {
        return overloadLagNanos > 0 && lagNanos.getAsLong() > overloadLagNanos;
    }

    /**
     * {@link #overloaded()}, asked for a socket just accepted, which is shed (or marked) when true: the log gets one
     * line when shedding starts and one when it ends, with how many sockets it shed, not one per socket.
     */
    synchronized boolean shedding() {
        boolean now = overloaded();
        long t = System.nanoTime();
        if (now && !shedding) {
            shedding = true;
            shedSince = t;
            shed = 0;
            log.warn("overloaded: the I/O threads run {} ms late (--overload-lag {} ms); new connections are refused "
                    + "until they catch up (MQTT CONNACK server busy, STOMP ERROR, WebSocket upgrade 503; health and "
                    + "metrics still answer)", lagNanos.getAsLong() / 1_000_000, overloadLagNanos / 1_000_000);
        } else if (!now && shedding) {
            shedding = false;
            log.info("caught up: admitting new connections again after {} ms overloaded, {} refused meanwhile",
                    (t - shedSince) / 1_000_000, shed);
        }
        if (now) {
            shed++;
        }
        return now;
    }

    /** Sockets shed or marked since the current overload began (0 when none), as the log's closing line counts them. */
    synchronized long shedThisEpisode() {
        return shedding ? shed : 0;
    }

    /** An admitted connection closed. */
    public void release(SocketAddress remote) {
        open.decrementAndGet();
        InetAddress address = maxPerAddress > 0 ? addressOf(remote) : null;
        if (address != null) {
            decrement(address);
        }
    }

    private void decrement(InetAddress address) {
        perAddress.computeIfPresent(address, (a, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    private static InetAddress addressOf(SocketAddress remote) {
        return remote instanceof InetSocketAddress inet ? inet.getAddress() : null;
    }

    /**
     * While true, every new connection is refused with {@link Refusal#STARTING}: the listeners are up (so
     * {@code /readyz} answers 503) but the store is still being read back.
     */
    public void starting(boolean starting) {
        this.starting = starting;
    }

    /** From now on every new connection is refused with {@link Refusal#SHUTTING_DOWN}. */
    public void shutDown() {
        shuttingDown = true;
    }

    public boolean isShuttingDown() {
        return shuttingDown;
    }

    /** Admitted connections open now. */
    public int open() {
        return open.get();
    }

    /** Seconds a refused client should wait, for HTTP Retry-After: at least 1. */
    public long retryAfterSeconds(Refusal refusal) {
        if (refusal == Refusal.RATE_LIMIT && bucket != null) {
            return Math.max(1, (bucket.nanosUntilNextToken() + 999_999_999L) / 1_000_000_000L);
        }
        return refusal == Refusal.SHUTTING_DOWN ? 30 : 5;
    }

    /**
     * The hook for protocol adapters: the connection's handshake is over (CONNACK, CONNECTED written), so it no
     * longer counts against {@code max-pending-handshakes} ({@link HandshakeBudget}). Idempotent; a connection
     * that never held a place (WebSocket, embedded) is left alone.
     */
    public static void established(Channel channel) {
        Channel c = channel;
        while (c != null) {
            HandshakeBudget.Place place = c.hasAttr(HandshakeBudget.PLACE) ? c.attr(HandshakeBudget.PLACE).get() : null;
            if (place != null) {
                place.owner.give(c);
                return;
            }
            c = c.parent() instanceof io.netty.channel.ServerChannel ? null : c.parent();
        }
    }

    /**
     * The hook for protocol adapters: why this connection was refused, or null when it was admitted. An
     * adapter asks on the connection's first request (MQTT CONNECT, STOMP CONNECT) and, when refused, answers
     * in its protocol and closes.
     */
    public static Refusal refusal(Channel channel) {
        Channel c = channel;
        // a WebSocket child stream or an embedded channel may sit on the socket's channel
        while (c != null) {
            Refusal r = c.hasAttr(REFUSAL) ? c.attr(REFUSAL).get() : null;
            if (r != null) {
                return r;
            }
            c = c.parent() instanceof io.netty.channel.ServerChannel ? null : c.parent();
        }
        return null;
    }
}
