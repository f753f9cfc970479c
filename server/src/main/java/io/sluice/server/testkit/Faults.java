package io.sluice.server.testkit;

import io.sluice.protocol.mqtt.ReasonCode;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Misbehaviour on purpose, so a test can prove a client's reconnect, backoff, duplicate handling and session
 * resumption. Faults are armed by client id and hold across the client's reconnections until changed or
 * {@link #clear() cleared}; the ones that act at once ({@link #drop}, {@link #disconnect}) act on the client's
 * open connections and say how many there were. Any thread may call; the work happens on each connection's
 * event loop. A server restart is {@code Sluice.restart()}.
 */
public final class Faults {
    private final Testkit kit;
    private final Map<String, ClientFaults> byClient = new ConcurrentHashMap<>();
    private final Queue<Refusal> refusals = new ConcurrentLinkedQueue<>();

    /** A refusal of the next CONNECT, of one client (or of any, with a null client id). */
    record Refusal(String clientId, ReasonCode reason) {
    }

    Faults(Testkit kit) {
        this.kit = kit;
    }

    ClientFaults forClient(String clientId) {
        return clientId == null ? ClientFaults.NONE : byClient.computeIfAbsent(clientId, id -> new ClientFaults());
    }

    /** Close the client's connections now, without a DISCONNECT or ERROR: what a network failure looks like. */
    public int drop(String clientId) {
        return kit.eachConnectionOf(clientId, probe -> {
            kit.journal("fault: drop " + probe.describe());
            probe.channel.close();
        });
    }

    /** Close the client's connection (this one or its next) after it has sent {@code packets} more packets. */
    public void dropAfter(String clientId, int packets) {
        if (packets < 1) {
            throw new IllegalArgumentException("packets must be 1 or more, not " + packets);
        }
        forClient(Objects.requireNonNull(clientId)).dropAfter.set(packets);
        kit.journal("fault: drop client '" + clientId + "' after " + packets + " packet(s)");
    }

    /** Hold every delivery (MQTT PUBLISH, STOMP MESSAGE) to the client this long; {@link Duration#ZERO} stops. */
    public void delayDeliveries(String clientId, Duration delay) {
        forClient(Objects.requireNonNull(clientId)).delayMillis = delay.toMillis();
        kit.journal("fault: delay deliveries to client '" + clientId + "' by " + delay.toMillis() + " ms");
    }

    /** Send each QoS 1/2 delivery to the client twice, the second time with DUP set (MQTT 3.3.1.1). */
    public void duplicateDeliveries(String clientId, boolean on) {
        forClient(Objects.requireNonNull(clientId)).duplicate = on;
        kit.journal("fault: duplicate deliveries to client '" + clientId + "' " + (on ? "on" : "off"));
    }

    /**
     * Never answer the client's QoS 1/2 PUBLISHes (no PUBACK, PUBREC or PUBCOMP): the broker accepts them, the
     * client keeps them in flight and must send them again, with DUP, when it reconnects.
     */
    public void withholdAcknowledgements(String clientId, boolean on) {
        forClient(Objects.requireNonNull(clientId)).withholdAcks = on;
        kit.journal("fault: withhold acknowledgements to client '" + clientId + "' " + (on ? "on" : "off"));
    }

    /**
     * Refuse the next CONNECT of any client with this reason code (MQTT 5 CONNACK code; MQTT 3.1.1 gets the
     * nearest return code; STOMP an ERROR frame naming it). Calls queue up: two calls refuse two CONNECTs.
     */
    public void refuseNextConnect(ReasonCode reason) {
        refuseNextConnect(null, reason);
    }

    /** Refuse the next CONNECT of this client with this reason code. */
    public void refuseNextConnect(String clientId, ReasonCode reason) {
        if (!reason.isError()) {
            throw new IllegalArgumentException(reason + " is not a refusal (use a code of 0x80 or more)");
        }
        refusals.add(new Refusal(clientId, reason));
        kit.journal("fault: refuse the next CONNECT" + (clientId == null ? "" : " of client '" + clientId + "'")
                + " with " + reason);
    }

    /** The refusal for this CONNECT, if one is armed for its client or for any client (and take it). */
    Refusal takeRefusal(String clientId) {
        for (Refusal r : refusals) {
            if ((r.clientId() == null || r.clientId().equals(clientId)) && refusals.remove(r)) {
                return r;
            }
        }
        return null;
    }

    /**
     * End the client's connections as the server: MQTT 5 gets a DISCONNECT with this reason code and a reason
     * string, MQTT 3.1.1 a close (it has no server DISCONNECT), STOMP an ERROR frame naming the reason.
     */
    public int disconnect(String clientId, ReasonCode reason) {
        return kit.eachConnectionOf(clientId, probe -> {
            kit.journal("fault: server DISCONNECT " + reason + " to " + probe.describe());
            probe.handler.disconnect(reason);
        });
    }

    /** Disarm every fault of every client. */
    public void clear() {
        byClient.values().forEach(ClientFaults::clear);
        refusals.clear();
        kit.journal("fault: all cleared");
    }
}
