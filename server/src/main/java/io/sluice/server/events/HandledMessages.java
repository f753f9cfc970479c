package io.sluice.server.events;

import io.netty.util.concurrent.FastThreadLocal;

/**
 * How many messages this thread has handled: every message an inbound gate passed on (of every protocol) and every
 * delivery a subscriber queue wrote. An event loop's wake-ups read it ({@code transport/CoalescedWakeups}) to learn
 * how much work a nap gathered: a client in lockstep sends one message per round trip whatever the load, a stream
 * several per nap, and the difference is in messages, not in the sockets or hand-overs they came by.
 */
public final class HandledMessages {
    private static final FastThreadLocal<long[]> COUNT = new FastThreadLocal<>() {
        @Override
        protected long[] initialValue() {
            return new long[1];
        }
    };

    private HandledMessages() {
    }

    /** This thread handled {@code n} more messages. */
    public static void add(int n) {
        COUNT.get()[0] += n;
    }

    /** Messages this thread has handled so far. */
    public static long onThisThread() {
        return COUNT.get()[0];
    }
}
