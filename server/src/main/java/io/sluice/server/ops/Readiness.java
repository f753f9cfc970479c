package io.sluice.server.ops;

/**
 * What {@code /healthz} and {@code /readyz} answer: alive from start to exit; ready (accepting traffic) from
 * the moment the listeners are bound until shutdown begins, so a load balancer stops sending clients before
 * connections are closed.
 */
public final class Readiness {
    public enum State { STARTING, READY, DRAINING, STOPPED }

    private volatile State state = State.STARTING;

    public State state() {
        return state;
    }

    public boolean isReady() {
        return state == State.READY;
    }

    public boolean isAlive() {
        return state != State.STOPPED;
    }

    public void ready() {
        if (state == State.STARTING) {
            state = State.READY;
        }
    }

    void draining() {
        if (state != State.STOPPED) {
            state = State.DRAINING;
        }
    }

    void stopped() {
        state = State.STOPPED;
    }
}
