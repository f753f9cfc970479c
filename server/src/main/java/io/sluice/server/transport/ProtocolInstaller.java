package io.sluice.server.transport;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import io.sluice.server.events.ConnectionInfo;

/**
 * Hands a connection to its protocol: the one place every transport path (TCP, WebSocket by subprotocol, by
 * path, by sniffing) ends. Appends the connection log and the module's handlers, records the connection's
 * {@link ConnectionInfo} on the channel, and stops the handshake clock.
 */
public final class ProtocolInstaller {
    /** The connection's transport facts, for anything that wants to label it (metrics, logs). */
    public static final AttributeKey<ConnectionInfo> INFO = AttributeKey.valueOf("sluice.connectionInfo");
    /** The name of the module serving the connection. */
    public static final AttributeKey<String> PROTOCOL = AttributeKey.valueOf("sluice.protocol");

    private ProtocolInstaller() {
    }

    /** The module serving the channel, "ws" while a WebSocket has not shown its protocol yet. */
    static String protocolOf(Channel channel) {
        String p = channel.hasAttr(PROTOCOL) ? channel.attr(PROTOCOL).get() : null;
        return p == null ? "ws" : p;
    }

    /**
     * Label the channel with the module that serves (or, once its first bytes are checked, will serve) it, and
     * take away what its WebSocket will not need: the keep-alive a module watching its own peers does not want,
     * and the UTF-8 check of text frames a binary module refuses anyway (1003). Handlers left in a pipeline stay
     * for the connection's lifetime, which idle connections pay for by the hundred thousand. Idempotent.
     */
    static void assign(Channel channel, ProtocolModule module) {
        channel.attr(PROTOCOL).set(module.name());
        if (!module.wantsWebSocketPings()) {
            removeIfPresent(channel, "ws-heartbeat");
            removeIfPresent(channel, "ws-idle");
        }
        if (!module.acceptsTextFrames()) {
            removeIfPresent(channel, "utf8");
        }
    }

    private static void removeIfPresent(Channel channel, String name) {
        if (channel.pipeline().get(name) != null) {
            channel.pipeline().remove(name);
        }
    }

    /** Must run on the channel's event loop; the channel is active. */
    public static void install(Channel channel, ProtocolModule module, ConnectionInfo info) {
        channel.attr(INFO).set(info);
        assign(channel, module);
        channel.pipeline().addLast("connection-log", new ConnectionReporter(info, module.name()));
        module.install(channel.pipeline(), info);
        channel.pipeline().fireUserEventTriggered(HandshakeTimeout.ESTABLISHED);
    }
}
