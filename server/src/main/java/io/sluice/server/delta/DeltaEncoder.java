package io.sluice.server.delta;

import io.sluice.protocol.delta.FossilDelta;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One connection's delta state: per topic, the payload last written to it, so the next one can go as a Fossil
 * delta against it. Lives on the connection's event loop, and dies with the connection, so a delta only ever
 * refers to a message written earlier on the same connection, which the client read before it (TCP keeps
 * order): a resumed session, a resend or a new connection starts again from a full message. A message that
 * never reached the connection (dropped, conflated, too large) never became a base, so gaps in what the queue
 * delivered cannot break the chain.
 *
 * <p>A message goes in full when its topic has no base, every {@code fullEvery} messages (so a reader that lost
 * its state recovers without reconnecting), and whenever the delta would not be smaller. The bases hold the
 * broker's own payload arrays (no copy) up to {@code maxBytes} per connection; past it the least recently used
 * topics are forgotten, and their next message goes in full.
 */
public final class DeltaEncoder {
    private final int fullEvery;
    private final long maxBytes;
    private final LinkedHashMap<String, Base> bases = new LinkedHashMap<>(16, 0.75f, true);
    private final FossilDelta.Encoder fossil = new FossilDelta.Encoder();
    private long bytes;

    /**
     * The deltas this thread made last. Bases and targets are the broker's own payload arrays, shared by every
     * subscriber of a message, so subscribers in step ask for the same (base, target) pair: on one event loop the
     * fan-out computes each delta once, not once per subscriber.
     */
    private static final ThreadLocal<Recent> RECENT = ThreadLocal.withInitial(Recent::new);

    /** A small direct-mapped cache keyed by the identity of both arrays: cheap to compare, and never confuses two payloads. At most 64 entries per thread are pinned. */
    private static final class Recent {
        private static final int SLOTS = 64;
        private final byte[][] bases = new byte[SLOTS][];
        private final byte[][] targets = new byte[SLOTS][];
        private final byte[][] deltas = new byte[SLOTS][];

        byte[] delta(byte[] base, byte[] target, FossilDelta.Encoder encoder) {
            int slot = (System.identityHashCode(base) * 31 + System.identityHashCode(target)) & (SLOTS - 1);
            if (bases[slot] == base && targets[slot] == target) {
                return deltas[slot];
            }
            byte[] d = encoder.create(base, target);
            bases[slot] = base;
            targets[slot] = target;
            deltas[slot] = d;
            return d;
        }
    }

    private static final class Base {
        byte[] payload;
        int sinceFull;
    }

    public DeltaEncoder(DeltaConfig config) {
        this.fullEvery = config.fullEvery();
        this.maxBytes = config.maxBytesPerConnection();
    }

    /**
     * What to write for {@code payload} on {@code topic}, now: a delta against the previous payload written on
     * the topic, or null to write the payload in full. Either way the payload becomes the topic's base, so call
     * this only for a message that is about to be written.
     */
    public byte[] encode(String topic, byte[] payload) {
        Base base = bases.get(topic);
        byte[] delta = null;
        if (base != null && base.sinceFull + 1 < fullEvery) {
            byte[] d = RECENT.get().delta(base.payload, payload, fossil);
            if (d.length < payload.length) {
                delta = d;
            }
        }
        if (base == null) {
            base = new Base();
            bases.put(topic, base);
        } else {
            bytes -= base.payload.length;
        }
        base.payload = payload;
        base.sinceFull = delta == null ? 0 : base.sinceFull + 1;
        bytes += payload.length;
        trim();
        return delta;
    }

    /** A message on the topic goes out without this encoder (not asked for, or a resend): no base for it now. */
    public void forget(String topic) {
        Base base = bases.remove(topic);
        if (base != null) {
            bytes -= base.payload.length;
        }
    }

    /** Bytes of payload held as bases. */
    public long bytes() {
        return bytes;
    }

    private void trim() {
        Iterator<Map.Entry<String, Base>> it = bases.entrySet().iterator();
        while (bytes > maxBytes && it.hasNext()) {
            bytes -= it.next().getValue().payload.length;
            it.remove();
        }
    }
}
