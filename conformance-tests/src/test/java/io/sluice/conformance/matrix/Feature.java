package io.sluice.conformance.matrix;

/** The columns of the compatibility matrix: the checks every client runs where it can. */
public enum Feature {
    CONNECT_CLEAN("connect-clean", "connect (clean)"),
    CONNECT_PERSISTENT("connect-persistent", "connect (persistent)"),
    WILDCARD("wildcard", "wildcard subscribe"),
    QOS0("qos0", "QoS 0"),
    QOS1("qos1", "QoS 1"),
    QOS2("qos2", "QoS 2"),
    RETAINED("retained", "retained"),
    WILL("will", "will"),
    SESSION_RESUME("session-resume", "resume with queued QoS 1"),
    CROSS_PROTOCOL("cross-protocol", "MQTT ↔ STOMP"),
    KEEPALIVE("keepalive", "ping / heart-beat"),
    BAD_INPUT("bad-input", "refused bad input");

    private final String id;
    private final String title;

    Feature(String id, String title) {
        this.id = id;
        this.title = title;
    }

    /** The name the Node scripts use for this check. */
    public String id() {
        return id;
    }

    public String title() {
        return title;
    }
}
