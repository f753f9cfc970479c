package io.sluice.server.broker;

import java.util.function.Consumer;

/**
 * One QoS 1/2 publish of a cluster node waiting for two things before its publisher is answered: the local fan-out
 * (every queue here holds it) and the other nodes (each matching one holds it). Whichever comes second answers,
 * on its own thread.
 *
 * <p>It is a {@link PublishCallback}: once the local queues hold the message and only other nodes (or the store) are
 * waited for, the publisher is told so and may read on, up to its adapter's window, answering in order as the other
 * nodes' acknowledgements come back: a JetStream round trip per message would otherwise cap one connection at one
 * message per round trip. The other nodes' backpressure still reaches the publisher: a destination that takes no more
 * withholds acknowledgements until the window is full, and then the publisher stops reading.
 */
final class ClusterPublish implements PublishCallback, ClusterBus.RouteCallback {
    private final Consumer<PublishOutcome> done;
    private PublishOutcome local;
    private boolean routed;
    private int nodes;
    private boolean accepted;
    private boolean toldWaiting;

    ClusterPublish(Consumer<PublishOutcome> done) {
        this.done = done;
    }

    /** Routed within the call to no other node: the local fan-out alone answers. */
    synchronized boolean isLocalOnly() {
        return routed && nodes == 0 && accepted;
    }

    @Override
    public void routed(int nodes, boolean accepted) {
        PublishOutcome ready;
        synchronized (this) {
            this.routed = true;
            this.nodes = nodes;
            this.accepted = accepted;
            ready = local;
        }
        if (ready != null) {
            answer(ready);
        }
    }

    /** The local queues hold it and the store is writing it: the publisher may read on. */
    @Override
    public void awaitingStore() {
        tellWaiting();
    }

    @Override
    public void accept(PublishOutcome outcome) {
        boolean ready;
        synchronized (this) {
            local = outcome;
            ready = routed;
        }
        if (ready) {
            answer(outcome);
        } else {
            tellWaiting(); // held by other nodes only
        }
    }

    private void tellWaiting() {
        synchronized (this) {
            if (toldWaiting) {
                return;
            }
            toldWaiting = true;
        }
        if (done instanceof PublishCallback c) {
            c.awaitingStore();
        }
    }

    private void answer(PublishOutcome outcome) {
        done.accept(new PublishOutcome(outcome.matchedSessions() + nodes, outcome.quotaExceeded() || !accepted,
                outcome.storeFailed()));
    }
}
