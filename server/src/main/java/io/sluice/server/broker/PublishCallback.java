package io.sluice.server.broker;

import java.util.function.Consumer;

/**
 * A publish's {@code done} that also hears when the message already sits in every queue and only the store's
 * write is left before the outcome. A publisher held for room must stop reading; one waiting only for the
 * disk need not: it can read on and pipeline, answering in order as the group commits come back.
 */
public interface PublishCallback extends Consumer<PublishOutcome> {
    /** Every queue holds the message; {@link #accept} follows once the store has written it. */
    void awaitingStore();
}
