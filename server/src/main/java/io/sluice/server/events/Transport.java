package io.sluice.server.events;

/** How a connection reached the broker; logs and metrics label connections with it. */
public enum Transport {
    TCP("tcp"), WEBSOCKET("ws"), SSE("sse");

    private final String label;

    Transport(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
