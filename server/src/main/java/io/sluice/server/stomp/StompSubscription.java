package io.sluice.server.stomp;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.stomp.StompFrame;
import io.sluice.protocol.stomp.StompDestination;
import io.sluice.protocol.stomp.StompVersion;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.CloseReason;
import io.sluice.server.broker.Delivery;
import io.sluice.server.broker.DeliverySink;
import io.sluice.server.broker.SubscriberQueue;
import io.sluice.server.delta.DeltaEncoder;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.transport.LoopHandoff;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * One SUBSCRIBE: its own non-persistent broker session (so its own prefetch window, queue and backpressure)
 * and the sink the core hands its deliveries to, which writes them as MESSAGE frames.
 *
 * <p>Every subscription receives QoS 1 messages as QoS 1, so none is dropped for a slow consumer: the window
 * (prefetch-count) bounds what is unacknowledged and a full queue holds its publishers back. With
 * {@code ack:auto} a message counts as acknowledged once its frame is written to the connection; with
 * {@code client} and {@code client-individual} when the client ACKs it ({@code client}: it and everything
 * delivered before it). NACK puts a message back at the head of the queue, redelivered with
 * {@code redelivered:true}. QoS 0 messages stay QoS 0 (the core's QoS 0 drop policy applies).
 *
 * <p>A subscription made with {@code delta:fossil} gets, after a first full message per topic, each message as a
 * Fossil delta against the previous one it was sent on that topic ({@link DeltaEncoder}), marked
 * {@code delta:fossil}, or in full when that is not larger.
 *
 * <p>The {@code message-id} (and 1.2 {@code ack}) is {@code <number>-<sequence>}: the subscription's number on
 * this connection and the delivery's sequence in it, unique for the connection's life; it maps to the
 * delivery's id in the window.
 */
final class StompSubscription implements DeliverySink, Executor {
    enum AckMode {
        AUTO, CLIENT, CLIENT_INDIVIDUAL;

        static AckMode of(String header) {
            if (header == null) {
                return AUTO;
            }
            return switch (header) {
                case "auto" -> AUTO;
                case "client" -> CLIENT;
                case "client-individual" -> CLIENT_INDIVIDUAL;
                default -> null;
            };
        }
    }

    final int number;
    final String id;
    final StompDestination destination;
    final AckMode ackMode;
    private final boolean idInMessages;
    private final StompConnection conn;
    private final ChannelHandlerContext ctx;
    private final int maxUnackedQos0;
    /** Deliveries awaiting ACK/NACK (client modes), in send order: sequence to window id (0: a QoS 0 message). */
    private final LinkedHashMap<Long, Integer> unacked = new LinkedHashMap<>();
    private int unackedQos0;
    private long sequence;
    private Broker.Connection session;
    /** The bases of this subscription's deltas; null when it did not ask for them. */
    private final DeltaEncoder deltas;

    StompSubscription(StompConnection conn, ChannelHandlerContext ctx, int number, String id, boolean idInMessages,
                      StompDestination destination, AckMode ackMode, int maxUnackedQos0, DeltaEncoder deltas) {
        this.deltas = deltas;
        this.conn = conn;
        this.ctx = ctx;
        this.number = number;
        this.id = id;
        this.idInMessages = idInMessages;
        this.destination = destination;
        this.ackMode = ackMode;
        this.maxUnackedQos0 = maxUnackedQos0;
    }

    void attached(Broker.Connection session) {
        this.session = session;
    }

    Broker.Connection session() {
        return session;
    }

    SubscriberQueue queue() {
        return session.session().queue();
    }

    String clientId() {
        return conn.id + "-" + number;
    }

    /** This subscription itself: tasks for the connection's event loop, from another loop batched per its iteration. */
    @Override
    public Executor executor() {
        return this;
    }

    /** See {@link LoopHandoff}: a publish read on another loop wakes this one once for all its deliveries here. */
    @Override
    public void execute(Runnable task) {
        LoopHandoff.execute(ctx.executor(), task);
    }

    @Override
    public boolean isWritable() {
        return ctx.channel().isWritable();
    }

    @Override
    public void send(Delivery d) {
        long seq = ++sequence;
        String messageId = number + "-" + seq;
        boolean clientAck = ackMode != AckMode.AUTO;
        String ackHeader = clientAck && conn.version == StompVersion.V1_2 ? messageId : null;
        byte[] delta = null;
        if (deltas != null) {
            // a redelivery (NACK) goes in full, and is no base: the client may hold other messages since
            if (d.duplicate()) {
                deltas.forget(d.message().topic());
            } else {
                delta = deltas.encode(d.message().topic(), d.message().payload());
            }
            conn.events.deltaSent("stomp", d.message().payload().length,
                    delta == null ? d.message().payload().length : delta.length);
        }
        StompFrame frame = StompMessages.toFrame(d, idInMessages ? id : null, messageId, ackHeader, delta);
        int packetId = d.packetId();
        conn.events.messageOut("stomp", conn.info, d.qos(), d.message().payload().length);
        if (clientAck) {
            unacked.put(seq, packetId);
            if (packetId == 0 && ++unackedQos0 > maxUnackedQos0) {
                forgetOldestQos0();
            }
            ctx.write(frame, ctx.voidPromise());
        } else if (packetId != 0) {
            SubscriberQueue q = queue();
            ctx.write(frame).addListener((ChannelFutureListener) f -> {
                if (f.isSuccess()) {
                    q.acknowledge(packetId);
                }
            });
        } else {
            ctx.write(frame, ctx.voidPromise());
        }
    }

    /** QoS 0 messages need no acknowledgement in the core; only so many are remembered for the client's ACKs. */
    private void forgetOldestQos0() {
        Iterator<Map.Entry<Long, Integer>> it = unacked.entrySet().iterator();
        while (it.hasNext()) {
            if (it.next().getValue() == 0) {
                it.remove();
                unackedQos0--;
                return;
            }
        }
    }

    /** ACK (cumulative for ack:client). False when the sequence is not awaiting an acknowledgement. */
    boolean ack(long seq) {
        if (ackMode == AckMode.AUTO || !unacked.containsKey(seq)) {
            return false;
        }
        if (ackMode == AckMode.CLIENT_INDIVIDUAL) {
            release(unacked.remove(seq));
            return true;
        }
        // collect first: acknowledging lets the queue deliver more, which adds entries here
        List<Integer> released = new ArrayList<>();
        Iterator<Map.Entry<Long, Integer>> it = unacked.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Long, Integer> e = it.next();
            if (e.getKey() > seq) {
                break;
            }
            it.remove();
            released.add(e.getValue());
        }
        released.forEach(this::release);
        return true;
    }

    private void release(int packetId) {
        if (packetId == 0) {
            unackedQos0--;
        } else {
            queue().acknowledge(packetId);
        }
    }

    /** NACK: the message goes back to the head of the queue for redelivery. False when unknown. */
    boolean nack(long seq) {
        if (ackMode == AckMode.AUTO || !unacked.containsKey(seq)) {
            return false;
        }
        int packetId = unacked.remove(seq);
        if (packetId == 0) {
            unackedQos0--;
        } else {
            queue().reject(packetId);
        }
        return true;
    }

    @Override
    public void sendRelease(Delivery delivery) {
        // STOMP subscriptions are QoS 1 at most: there is no QoS 2 release to resend
    }

    @Override
    public void flush() {
        ctx.flush();
    }

    @Override
    public void close(CloseReason reason) {
        switch (reason) {
            case STUCK_CONSUMER -> conn.errors.fail(DisconnectReason.STUCK_CONSUMER, "consumer stuck", "Subscription " + id + " left its "
                    + queue().window() + " unacknowledged messages unanswered too long. ACK (or NACK) messages "
                    + "promptly, or subscribe with a smaller prefetch-count.", null);
            case SERVER_SHUTTING_DOWN -> conn.errors.fail(DisconnectReason.SERVER_SHUTTING_DOWN, "server shutting down", "The broker is stopping; reconnect later.", null);
            default -> conn.errors.fail(DisconnectReason.of(reason), "subscription closed", "The broker ended subscription " + id + " (" + reason + ").", null);
        }
    }
}
