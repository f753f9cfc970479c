package io.sluice.bench.load;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.concurrent.Promise;

import java.util.ArrayDeque;

/**
 * One client connection of the load generator, protocol-neutral: the scenarios connect, subscribe, publish and
 * acknowledge through this; {@link MqttConn} and {@link StompConn} speak the wire through Netty's codecs.
 * Everything runs on the generator's one event loop, so nothing here is locked.
 */
abstract class ClientConn extends ChannelDuplexHandler {
    /** What the scenario hears from a connection. */
    interface Listener {
        /** A message arrived; the payload is only valid during the call. */
        void onMessage(ClientConn conn, ByteBuf payload, long nowNanos);

        /** The broker acknowledged one of this connection's QoS 1 publishes: the one of sequence {@code seq}. */
        default void onPublishAcked(ClientConn conn, long seq) {
        }

        /** The connection can take more publishes (writable again, or acknowledgements freed its window). */
        default void onReady(ClientConn conn) {
        }

        default void onClosed(ClientConn conn) {
        }
    }

    final String clientId;
    final boolean webSocket;
    final int keepAliveSeconds;
    final Promise<ClientConn> connected;
    Listener listener;
    ChannelHandlerContext ctx;
    int inflight;
    int window = Integer.MAX_VALUE;
    /** Set: incoming QoS 1 messages are acknowledged only by {@link #ackPending(int)}. */
    boolean manualAck;
    final ArrayDeque<Object> pendingAcks = new ArrayDeque<>();
    boolean wroteSinceFlush;
    int index;
    Object attachment;

    ClientConn(String clientId, boolean webSocket, int keepAliveSeconds, Promise<ClientConn> connected) {
        this.clientId = clientId;
        this.webSocket = webSocket;
        this.keepAliveSeconds = keepAliveSeconds;
        this.connected = connected;
    }

    /** Send the protocol's CONNECT; its answer completes {@link #connected}. */
    abstract void sendConnect();

    /** Subscribe at the QoS; {@code done} runs when the broker confirms. */
    abstract void subscribe(String topic, int qos, Runnable done);

    /** Publish (without flushing); the payload's ownership passes to the codec. */
    abstract void publish(String topic, ByteBuf payload, int qos);

    abstract void ack(Object id);

    abstract void ping();

    abstract void sendDisconnect();

    boolean canPublish() {
        return ctx != null && ctx.channel().isWritable() && inflight < window;
    }

    boolean isOpen() {
        return ctx != null && ctx.channel().isActive();
    }

    void write(Object msg) {
        ctx.write(msg, ctx.voidPromise());
        wroteSinceFlush = true;
    }

    void flush() {
        if (wroteSinceFlush) {
            wroteSinceFlush = false;
            ctx.flush();
        }
    }

    void close() {
        if (ctx != null) {
            ctx.close();
        }
    }

    /** Queue or send the acknowledgement of an incoming QoS 1 message. */
    void received(Object ackId) {
        if (manualAck) {
            pendingAcks.add(ackId);
        } else {
            ack(ackId);
        }
    }

    /** Acknowledge up to n held messages; returns how many. */
    int ackPending(int n) {
        int done = 0;
        while (done < n && !pendingAcks.isEmpty()) {
            ack(pendingAcks.poll());
            done++;
        }
        flush();
        return done;
    }

    void publishAcked(long seq) {
        inflight--;
        if (listener != null) {
            listener.onPublishAcked(this, seq);
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        if (!webSocket) {
            sendConnect();
            ctx.flush();
        }
        super.channelActive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
            sendConnect();
            ctx.flush();
        } else if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
            connected.tryFailure(new IllegalStateException("WebSocket handshake timed out"));
            ctx.close();
        } else if (evt instanceof IdleStateEvent) {
            ping();
            ctx.flush();
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (ctx.channel().isWritable() && listener != null) {
            listener.onReady(this);
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        connected.tryFailure(new IllegalStateException("closed before the broker accepted the connection"));
        if (listener != null) {
            listener.onClosed(this);
        }
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        connected.tryFailure(cause);
        ctx.close();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        super.write(ctx, msg, promise);
    }
}
