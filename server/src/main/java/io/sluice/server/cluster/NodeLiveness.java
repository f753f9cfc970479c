package io.sluice.server.cluster;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which other nodes are alive (docs/cluster.md, "Node liveness"). Every node says so on core NATS
 * ({@code sluice.alive.<node>}) every quarter of the node timeout, with its counters as the message; a node not heard
 * for the timeout is <em>down</em> until it is heard again. The time is this node's own monotonic clock, so clocks of
 * the nodes and of NATS need not agree. A node first met through one of its routes, or any node after this one was
 * cut off from NATS, gets a full timeout to be heard.
 *
 * <p>Pure bookkeeping: the caller carries the decisions out ({@link Listener}), which keeps this testable without
 * NATS. Thread-safe; {@link #check} runs on one thread at a time.
 */
final class NodeLiveness {
    /** Told of one node's changes one at a time, in the order they happen (so it must not block). */
    interface Listener {
        /** Not heard for the timeout. */
        void down(String node, long silentMillis);

        /** Heard again after it was down. */
        void up(String node);

        /** Not heard for the forget time: no longer a node of the cluster, until it is heard again as a new one. */
        default void gone(String node, long silentMillis) {
        }
    }

    private static final class Peer {
        volatile long lastNanos;
        volatile boolean alive = true;
        volatile Map<String, Long> counters = Map.of();

        Peer(long now) {
            this.lastNanos = now;
        }
    }

    private final String self;
    private final long timeoutNanos;
    private final long forgetNanos;
    private final Listener listener;
    private final Map<String, Peer> peers = new ConcurrentHashMap<>();

    NodeLiveness(String self, long timeoutMillis, Listener listener) {
        this(self, timeoutMillis, Long.MAX_VALUE / 1_000_000L, listener);
    }

    /** {@code forgetMillis}: a node not heard for this long is gone (at least the timeout). */
    NodeLiveness(String self, long timeoutMillis, long forgetMillis, Listener listener) {
        this.self = self;
        this.timeoutNanos = timeoutMillis * 1_000_000L;
        this.forgetNanos = Math.max(forgetMillis, timeoutMillis) * 1_000_000L;
        this.listener = listener;
    }

    /** A node said it is alive at {@code now} (nanoTime), with its counters. */
    void heard(String node, Map<String, Long> counters, long now) {
        if (node.equals(self)) {
            return;
        }
        Peer p = peers.computeIfAbsent(node, n -> new Peer(now));
        p.lastNanos = now;
        p.counters = counters;
        if (!p.alive) {
            // under the peer's lock, as down() is: a heartbeat heard while the node is being declared down is told
            // after that (told first, the table would end with the node's routes set aside while it counts as alive)
            synchronized (p) {
                if (p.alive) {
                    return;
                }
                p.alive = true;
                listener.up(node);
            }
        }
    }

    /** A node met through one of its routes: alive until a timeout passes without hearing it. */
    void met(String node, long now) {
        if (!node.equals(self)) {
            peers.computeIfAbsent(node, n -> new Peer(now));
        }
    }

    /** How long a node that is down has not been heard at {@code now}, in ms; -1 when it is alive or unknown. */
    long silentMillisIfDown(String node, long now) {
        Peer p = peers.get(node);
        return p == null || p.alive ? -1 : (now - p.lastNanos) / 1_000_000L;
    }

    boolean isAlive(String node) {
        Peer p = peers.get(node);
        return p == null || p.alive;
    }

    /** Declare down every node silent for the timeout at {@code now}. Not while this node cannot hear anyone. */
    void check(long now) {
        for (Map.Entry<String, Peer> e : peers.entrySet()) {
            Peer p = e.getValue();
            long silent = now - p.lastNanos;
            if (p.alive && silent >= timeoutNanos) {
                synchronized (p) {
                    if (!p.alive || now - p.lastNanos < timeoutNanos) {
                        continue;
                    }
                    p.alive = false;
                    listener.down(e.getKey(), silent / 1_000_000L);
                }
            }
            if (!p.alive && silent >= forgetNanos && peers.remove(e.getKey(), p)) {
                listener.gone(e.getKey(), silent / 1_000_000L);
            }
        }
    }

    /**
     * This node could not hear anyone (its NATS connection was away) until {@code now}: every node gets a full timeout
     * again, counted from now. A node already down stays down until heard.
     */
    void restartClocks(long now) {
        for (Peer p : peers.values()) {
            p.lastNanos = now;
        }
    }

    /** The latest counters of each node alive now, this one excluded, by node id. */
    Map<String, Map<String, Long>> aliveCounters() {
        Map<String, Map<String, Long>> out = new TreeMap<>();
        peers.forEach((node, p) -> {
            if (p.alive) {
                out.put(node, p.counters);
            }
        });
        return out;
    }

    /** The nodes known, alive or not, with whether each is alive. */
    Map<String, Boolean> nodes() {
        Map<String, Boolean> out = new TreeMap<>();
        peers.forEach((node, p) -> out.put(node, p.alive));
        return Collections.unmodifiableMap(out);
    }

    /** Counters as the heartbeat carries them: one {@code name=value} per line, in the map's order. */
    static byte[] encode(Map<String, Long> counters) {
        StringBuilder b = new StringBuilder();
        counters.forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The counters of a heartbeat; a line that is not {@code name=number} is skipped (a newer node's format). */
    static Map<String, Long> decode(byte[] data) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String line : new String(data, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('=');
            if (eq <= 0) {
                continue;
            }
            try {
                out.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1)));
            } catch (NumberFormatException e) {
                // skipped
            }
        }
        return out;
    }
}
