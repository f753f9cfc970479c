package io.sluice.server.broker;

import java.util.function.Consumer;

/**
 * A publish's {@code done} that also hears when the message already sits in every local queue and what is left
 * before the outcome is not room: the store's write, or (in a cluster) the other nodes taking it. A publisher held
 * for room must stop reading; one waiting only for those need not: it can read on and pipeline, answering in
 * order as they finish.
 */
public interface PublishCallback extends Consumer<PublishOutcome> {
    /** Every local queue holds the message; {@link #accept} follows once the store or the other nodes have it. */
    void awaitingStore();
}
