package io.sluice.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelPipeline;
import io.sluice.protocol.ws.Subprotocol;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.Refusal;

import java.util.List;

/**
 * A protocol the negotiator can hand connections to (MQTT, STOMP). Modules register with the
 * {@link ProtocolRegistry}; the transport never names a protocol itself.
 */
public interface ProtocolModule {
    /** Short lower-case name for logs and metrics: "mqtt", "stomp". */
    String name();

    /** The WebSocket subprotocols this module serves, in the server's order of preference. */
    List<Subprotocol> subprotocols();

    /** Upgrade paths served by this module when the client offers no subprotocol, e.g. "/mqtt". */
    List<String> paths();

    /** From the first bytes of a connection that named no protocol: is it ours? */
    Recognition recognize(ByteBuf head);

    enum Recognition { YES, NO, NEED_MORE }

    /**
     * The bytes that turn a connection away with {@code refusal} before any of this protocol's handlers exist, from
     * its first bytes ({@link ShedAnswer}, for sockets shed while the broker is overloaded): null while more bytes
     * are needed, an empty buffer to close without a word (the bytes are not this protocol's, or it has no answer).
     * Called off the I/O threads; must be cheap.
     */
    default ByteBuf refusal(ByteBuf head, Refusal refusal) {
        return Unpooled.EMPTY_BUFFER;
    }

    /**
     * Whether WebSocket text frames carry this protocol (STOMP: yes; MQTT: no, a text frame closes the
     * connection with status 1003, MQTT 5 section 6).
     */
    boolean acceptsTextFrames();

    /**
     * Whether the server's WebSocket Ping frames and idle timeout watch this protocol's connections. A protocol
     * with its own keep-alive may say no: its handlers then detect dead peers themselves.
     */
    default boolean wantsWebSocketPings() {
        return true;
    }

    /**
     * Add this protocol's handlers at the end of a pipeline whose inbound messages are {@link ByteBuf}s (TCP
     * bytes, or WebSocket frame payloads in order) and whose outbound end accepts {@link ByteBuf}s.
     *
     * <p>Called on the channel's event loop once the channel is active. On WebSocket that is after the upgrade,
     * so the handlers see no {@code channelActive}: start per-connection work in {@code handlerAdded}. Closing
     * the channel is enough to end a WebSocket properly: the transport sends the Close frame (1000, or 1001
     * while the server shuts down).
     */
    void install(ChannelPipeline pipeline, ConnectionInfo info);
}
