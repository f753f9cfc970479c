package io.sluice.server.security;

import io.sluice.server.transport.InboundGate;
import io.sluice.server.config.Settings;

import java.util.function.LongSupplier;

/**
 * One client's publish rate and bandwidth limits ({@code --max-publish-rate}, {@code --max-publish-bandwidth}),
 * answered by backpressure: two token buckets, each a second's worth deep, and a client that overdraws them has
 * what it sends next held by its connection's {@link InboundGate} for as long as the buckets need to refill (the
 * gate stops reading once it holds its bound, and TCP's flow control carries the pause to the client). Nothing is
 * dropped or refused. Only touched on the connection's event loop.
 */
public final class PublishRate {
    private final long messagesPerSecond;
    private final long bytesPerSecond;
    private final LongSupplier nanoClock;
    private double messages;
    private double bytes;
    private long last;
    private long pauses;

    PublishRate(long messagesPerSecond, long bytesPerSecond, LongSupplier nanoClock) {
        this.messagesPerSecond = messagesPerSecond;
        this.bytesPerSecond = bytesPerSecond;
        this.nanoClock = nanoClock;
        this.messages = messagesPerSecond;
        this.bytes = bytesPerSecond;
        this.last = nanoClock.getAsLong();
    }

    /** A limiter for one new connection, or null when no limit is configured. */
    public static PublishRate from(Settings settings) {
        long rate = settings.get(Settings.MAX_PUBLISH_RATE);
        long bandwidth = settings.get(Settings.MAX_PUBLISH_BANDWIDTH);
        return rate == 0 && bandwidth == 0 ? null : new PublishRate(rate, bandwidth, System::nanoTime);
    }

    /**
     * The client published one message of {@code payloadBytes}; when that overdraws a bucket, its connection's
     * inbound gate holds what follows for as long as the buckets need to refill.
     */
    public void published(InboundGate gate, int payloadBytes) {
        long wait = take(payloadBytes);
        if (wait > 0 && !gate.isThrottled()) {
            pauses++;
            gate.throttle(wait);
        }
    }

    /** Take one message of this size; the nanoseconds until both buckets are back to zero (0: no wait). */
    long take(int payloadBytes) {
        long now = nanoClock.getAsLong();
        double seconds = (now - last) / 1e9;
        last = now;
        long wait = 0;
        if (messagesPerSecond > 0) {
            messages = Math.min(messagesPerSecond, messages + seconds * messagesPerSecond) - 1;
            if (messages < 0) {
                wait = (long) (-messages / messagesPerSecond * 1e9);
            }
        }
        if (bytesPerSecond > 0) {
            bytes = Math.min(bytesPerSecond, bytes + seconds * bytesPerSecond) - payloadBytes;
            if (bytes < 0) {
                wait = Math.max(wait, (long) (-bytes / bytesPerSecond * 1e9));
            }
        }
        return wait;
    }

    /** How often this client's reads were paused. */
    public long pauses() {
        return pauses;
    }
}
