package io.sluice.server.events;

import org.slf4j.Logger;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * The connection log: one line when a connection closes (with why; at debug also one when the transport hands it
 * to a protocol), one per connect, disconnect and exceeded limit, and one per refusal no adapter answered (a failed
 * handshake, an upgrade refused by admission). Every line names client id, protocol, transport and remote address
 * in the same {@code key=value} order, so lines can be grepped and parsed. Protocol errors and the refusals an
 * adapter answers are logged by that adapter, once, with what exactly was wrong; traffic and heartbeats are not
 * logged (metrics count them).
 */
public final class ConnectionLog implements ConnectionEvents {
    private static final Logger log = Logs.get("io.sluice.connections");

    /**
     * At debug only: it names no client yet, and the connect line a moment later says all it says with the client id
     * (a connection that never connects gets its closed line, with how long it was open). Each line costs the I/O
     * thread a formatted date and a write to stderr under a lock; on the connect path that was one line in four.
     */
    @Override
    public void opened(String protocol, ConnectionInfo info) {
        if (log.isDebugEnabled()) {
            log.debug("open {}{}", describe(null, protocol, info.transport(), info.remote()), details(info));
        }
    }

    @Override
    public void closed(String protocol, ConnectionInfo info, long seconds, String reason) {
        if (log.isInfoEnabled()) {
            log.info("closed {}{} after={}s: {}", describe(null, protocol, info.transport(), info.remote()),
                    details(info), seconds, reason);
        }
    }

    @Override
    public void connected(String protocol, ConnectionInfo info, String clientId) {
        if (log.isInfoEnabled()) {
            log.info("connect {}", describe(clientId, protocol, info.transport(), info.remote()));
        }
    }

    @Override
    public void disconnected(String protocol, ConnectionInfo info, String clientId, DisconnectReason reason) {
        if (log.isInfoEnabled()) {
            log.info("disconnect {} reason={}", describe(clientId, protocol, info.transport(), info.remote()),
                    reason.label());
        }
    }

    @Override
    public void refused(Transport transport, SocketAddress remote, String protocol, String clientId, Refusal reason,
                        String detail) {
        // a protocol adapter that refuses logs its own line, with what exactly was wrong
        if (protocol == null && log.isInfoEnabled()) {
            log.info("refuse {} reason={} ({})", describe(clientId, null, transport, remote), reason.label(),
                    detail == null ? reason.message() : detail);
        }
    }

    @Override
    public void limitExceeded(String protocol, ConnectionInfo info, String clientId, Limit limit) {
        if (log.isInfoEnabled()) {
            log.info("limit {} limit={} (raise --{} if this client is legitimate)",
                    describe(clientId, protocol, info.transport(), info.remote()), limit.label(),
                    limit.setting());
        }
    }

    public static String describe(String clientId, String protocol, Transport transport, SocketAddress remote) {
        return "client=" + (clientId == null || clientId.isEmpty() ? "-" : clientId)
                + " protocol=" + (protocol == null ? "-" : protocol)
                + " transport=" + (transport == null ? "-" : transport.label())
                + " remote=" + address(remote);
    }

    private static String details(ConnectionInfo info) {
        StringBuilder sb = new StringBuilder();
        if (info.subprotocol() != null) {
            sb.append(" subprotocol=").append(info.subprotocol().token());
        }
        if (info.path() != null) {
            sb.append(" path=").append(info.path());
        }
        return sb.toString();
    }

    /** {@code 127.0.0.1:50322} rather than InetSocketAddress's {@code /127.0.0.1:50322}. */
    public static String address(SocketAddress remote) {
        if (remote instanceof InetSocketAddress inet && inet.getAddress() != null) {
            return inet.getAddress().getHostAddress() + ":" + inet.getPort();
        }
        return String.valueOf(remote);
    }
}
