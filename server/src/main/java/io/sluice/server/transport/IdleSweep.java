package io.sluice.server.transport;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Read-idle deadlines of every connection on one event loop, checked by one timer of that loop every
 * {@link #TICK_MILLIS}. Netty's {@code IdleStateHandler} gives each connection a handler, a pipeline context and a
 * scheduled task of its own (about 260 bytes held for as long as the connection lives); here a connection holds one
 * small {@link Watch}, and an idle broker with a hundred thousand connections keeps one timer per I/O thread.
 *
 * <p>A read only sets a flag; each tick stamps the flagged connections with the tick's time, so a deadline is
 * never early and at most two ticks late. All of it runs on the event loop: {@link #watch} and {@link Watch#read}
 * must be called there.
 */
public final class IdleSweep {
    /** How often deadlines are checked; also the most a deadline can be late by, twice. */
    static final long TICK_MILLIS = 250;

    private static final FastThreadLocal<IdleSweep> PER_LOOP = new FastThreadLocal<>();

    private final EventLoop loop;
    private Watch[] watched = new Watch[16];
    private int size;
    private ScheduledFuture<?> timer;

    private IdleSweep(EventLoop loop) {
        this.loop = loop;
    }

    /**
     * Call {@code onIdle} each time {@code channel} has read nothing for {@code timeoutMillis} (again after each
     * further period of silence) until {@link Watch#stop}. On the channel's event loop.
     */
    public static Watch watch(Channel channel, long timeoutMillis, Runnable onIdle) {
        EventLoop loop = channel.eventLoop();
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("IdleSweep.watch must run on the channel's event loop");
        }
        IdleSweep sweep = PER_LOOP.get();
        if (sweep == null || sweep.loop != loop) { // a thread serves one loop, but a test's embedded channels each bring one
            sweep = new IdleSweep(loop);
            PER_LOOP.set(sweep);
        }
        Watch w = new Watch(sweep, TimeUnit.MILLISECONDS.toNanos(timeoutMillis), onIdle, System.nanoTime());
        sweep.add(w);
        return w;
    }

    private void add(Watch w) {
        if (size == watched.length) {
            watched = Arrays.copyOf(watched, size * 2);
        }
        w.slot = size;
        watched[size++] = w;
        if (timer == null) {
            timer = loop.scheduleAtFixedRate(this::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private void remove(Watch w) {
        int i = w.slot;
        if (i < 0) {
            return;
        }
        w.slot = -1;
        Watch last = watched[--size];
        watched[size] = null;
        if (last != w) {
            watched[i] = last;
            last.slot = i;
        }
        if (size == 0) {
            timer.cancel(false);
            timer = null;
            if (watched.length > 16) {
                watched = new Watch[16];
            }
        } else if (size < watched.length / 4 && watched.length > 16) {
            watched = Arrays.copyOf(watched, watched.length / 2); // a fleet that left gives its slots back
        }
    }

    /** Backwards, so a watch that stops itself in {@code onIdle} moves only one already checked into its slot. */
    private void tick() {
        long now = System.nanoTime();
        for (int i = size - 1; i >= 0; i--) {
            if (i >= size) {
                continue;
            }
            Watch w = watched[i];
            if (w.readSinceTick) {
                w.readSinceTick = false;
                w.lastReadNanos = now;
            } else if (now - w.lastReadNanos >= w.timeoutNanos) {
                w.lastReadNanos = now; // the next call, if the connection stays, after another whole period
                w.onIdle.run();
            }
        }
    }

    /** One connection's deadline. */
    public static final class Watch {
        private final IdleSweep sweep;
        private final long timeoutNanos;
        private final Runnable onIdle;
        private long lastReadNanos;
        private boolean readSinceTick;
        private int slot = -1;

        private Watch(IdleSweep sweep, long timeoutNanos, Runnable onIdle, long now) {
            this.sweep = sweep;
            this.timeoutNanos = timeoutNanos;
            this.onIdle = onIdle;
            this.lastReadNanos = now;
        }

        /** The connection read something: its deadline moves. */
        public void read() {
            readSinceTick = true;
        }

        /** No more calls; idempotent. On the event loop. */
        public void stop() {
            sweep.remove(this);
        }
    }
}
