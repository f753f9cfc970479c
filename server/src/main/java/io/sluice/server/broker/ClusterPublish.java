package io.sluice.server.broker;

import java.util.function.Consumer;

/**
 * One QoS 1/2 publish of a cluster node waiting for two things before its publisher is answered: the local fan-out
 * (every queue here holds it) and the other nodes (each matching one holds it). Whichever comes second answers,
 * on its own thread. It is not a {@link PublishCallback}: the publisher stops reading while other nodes are waited
 * for, which keeps its acknowledgements in order and carries the other nodes' backpressure to it.
 */
final class ClusterPublish implements Consumer<PublishOutcome>, ClusterBus.RouteCallback {
    private final Consumer<PublishOutcome> done;
    private PublishOutcome local;
    private boolean routed;
    private int nodes;
    private boolean accepted;

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

    @Override
    public void accept(PublishOutcome outcome) {
        boolean ready;
        synchronized (this) {
            local = outcome;
            ready = routed;
        }
        if (ready) {
            answer(outcome);
        }
    }

    private void answer(PublishOutcome outcome) {
        done.accept(new PublishOutcome(outcome.matchedSessions() + nodes, outcome.quotaExceeded() || !accepted,
                outcome.storeFailed()));
    }
}
