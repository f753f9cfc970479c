package io.sluice.server.stomp;

import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.events.Heartbeat;
import io.sluice.server.events.Limit;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Transport;

import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** Records what the STOMP module reports to operations, as short strings, for tests to wait for. */
final class RecordingEvents implements ConnectionEvents {
    final List<String> events = new CopyOnWriteArrayList<>();

    @Override
    public void connected(String protocol, ConnectionInfo info, String clientId) {
        events.add("connected " + protocol);
    }

    @Override
    public void disconnected(String protocol, ConnectionInfo info, String clientId, DisconnectReason reason) {
        events.add("disconnected " + reason.label());
    }

    @Override
    public void refused(Transport transport, SocketAddress remote, String protocol, String clientId, Refusal reason,
                        String detail) {
        events.add("refused " + reason.label());
    }

    @Override
    public void protocolError(String protocol, ConnectionInfo info, String clientId, String detail) {
        events.add("protocol error");
    }

    @Override
    public void limitExceeded(String protocol, ConnectionInfo info, String clientId, Limit limit) {
        events.add("limit " + limit.label());
    }

    @Override
    public void messageIn(String protocol, int qos, int bytes) {
        events.add("in qos" + qos + " " + bytes);
    }

    @Override
    public void messageOut(String protocol, int qos, int bytes) {
        events.add("out qos" + qos + " " + bytes);
    }

    @Override
    public void heartbeat(String protocol, Heartbeat kind) {
        events.add("heartbeat " + kind.label());
    }

    /** Waits (bounded) until the event has been recorded; false if it never was. */
    boolean await(String event) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(StompTestClient.TIMEOUT_SECONDS);
        while (!events.contains(event)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }
}
