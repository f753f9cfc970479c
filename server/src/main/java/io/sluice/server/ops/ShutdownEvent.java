package io.sluice.server.ops;

/**
 * Fired on the pipeline of every open connection when shutdown's drain is over, after
 * {@code Broker.closeAll} has reached every connection that holds a session: a protocol handler that sees it
 * says goodbye in its own words (a STOMP connection with no subscription, which the core does not know,
 * gets its ERROR frame this way). Connections are closed right after in any case.
 */
public final class ShutdownEvent {
    public static final ShutdownEvent INSTANCE = new ShutdownEvent();

    private ShutdownEvent() {
    }

    @Override
    public String toString() {
        return "ShutdownEvent";
    }
}
