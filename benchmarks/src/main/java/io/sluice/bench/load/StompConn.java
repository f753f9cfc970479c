package io.sluice.bench.load;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.stomp.DefaultStompFrame;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeaders;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;

import java.util.HashMap;
import java.util.Map;

/**
 * STOMP 1.2 through Netty's codec-stomp. QoS 0 maps to {@code ack:auto} and SEND without receipt; QoS 1 to
 * {@code ack:client-individual} and SEND with a receipt, the receipt being the publisher's acknowledgement.
 */
final class StompConn extends ClientConn {
    private final Map<String, Runnable> subscriptionReceipts = new HashMap<>();
    private int nextSubscription;
    private long nextReceipt;
    /**
     * The payload sequence number of each receipt in flight, by its number modulo 65,536 (the window is smaller);
     * made by the first receipted SEND, so idle connections do not carry it.
     */
    private long[] seqByReceipt;

    StompConn(String clientId, boolean webSocket, int keepAliveSeconds, Promise<ClientConn> connected) {
        super(clientId, webSocket, keepAliveSeconds, connected);
    }

    @Override
    void sendConnect() {
        StompFrame f = new DefaultStompFrame(StompCommand.CONNECT);
        f.headers().set(StompHeaders.ACCEPT_VERSION, "1.2").set(StompHeaders.HOST, "localhost")
                .set(StompHeaders.HEART_BEAT, (keepAliveSeconds * 1000) + ",0")
                .set("client-id", clientId);
        write(f);
    }

    @Override
    void subscribe(String topic, int qos, Runnable done) {
        String receipt = "sub-" + (++nextSubscription);
        subscriptionReceipts.put(receipt, done);
        StompFrame f = new DefaultStompFrame(StompCommand.SUBSCRIBE);
        f.headers().set(StompHeaders.ID, Integer.toString(nextSubscription))
                .set(StompHeaders.DESTINATION, "/topic/" + topic)
                .set(StompHeaders.ACK, qos == 0 ? "auto" : "client-individual")
                .set(StompHeaders.RECEIPT, receipt);
        write(f);
        flush();
    }

    @Override
    void publish(String topic, ByteBuf payload, int qos) {
        StompFrame f = new DefaultStompFrame(StompCommand.SEND, payload);
        f.headers().set(StompHeaders.DESTINATION, "/topic/" + topic)
                .setInt(StompHeaders.CONTENT_LENGTH, payload.readableBytes());
        if (qos > 0) {
            f.headers().set(StompHeaders.RECEIPT, Long.toString(++nextReceipt));
            if (seqByReceipt == null) {
                seqByReceipt = new long[65_536];
            }
            seqByReceipt[(int) (nextReceipt & 0xffff)] = Payloads.seq(payload);
            inflight++;
        }
        write(f);
    }

    @Override
    void ack(Object id) {
        StompFrame f = new DefaultStompFrame(StompCommand.ACK);
        f.headers().set(StompHeaders.ID, (String) id);
        write(f);
    }

    @Override
    void ping() {
        // a STOMP heart-beat is one end-of-line
        write(Unpooled.wrappedBuffer(new byte[] {'\n'}));
    }

    @Override
    void sendDisconnect() {
        write(new DefaultStompFrame(StompCommand.DISCONNECT));
        flush();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (!(msg instanceof StompFrame f)) {
                return;
            }
            if (f.decoderResult().isFailure()) {
                connected.tryFailure(f.decoderResult().cause());
                ctx.close();
                return;
            }
            switch (f.command()) {
                case MESSAGE -> {
                    if (listener != null) {
                        listener.onMessage(this, f.content(), System.nanoTime());
                    }
                    String ackId = f.headers().getAsString(StompHeaders.ACK);
                    if (ackId != null) {
                        received(ackId);
                    }
                }
                case RECEIPT -> {
                    String id = f.headers().getAsString(StompHeaders.RECEIPT_ID);
                    Runnable done = id == null ? null : subscriptionReceipts.remove(id);
                    if (done != null) {
                        done.run();
                    } else if (id != null && seqByReceipt != null) {
                        publishAcked(seqByReceipt[(int) (Long.parseLong(id) & 0xffff)]);
                    }
                }
                case CONNECTED -> connected.trySuccess(this);
                case ERROR -> {
                    String message = f.headers().getAsString(StompHeaders.MESSAGE);
                    connected.tryFailure(new IllegalStateException("STOMP ERROR: " + message));
                    System.err.println("STOMP ERROR for " + clientId + ": " + message);
                    ctx.close();
                }
                default -> {
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }
}
