package io.sluice.server.stomp;

import io.sluice.server.broker.TopicAccess;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeaders;
import io.sluice.protocol.stomp.StompDestination;
import io.sluice.protocol.stomp.StompVersion;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.SessionId;
import io.sluice.server.broker.SubscriptionOptions;
import io.sluice.server.delta.DeltaEncoder;
import io.sluice.server.delta.DeltaFormat;
import io.sluice.server.events.Limit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * SUBSCRIBE, UNSUBSCRIBE, ACK and NACK. Each subscription is a {@link StompSubscription} with its own broker
 * session ({@code stomp-<conn>-<n>}), so its {@code prefetch-count} is its own window. SUBSCRIBE headers:
 * {@code destination}, {@code id} (optional in 1.0, where the destination stands in), {@code ack}
 * ({@code auto} by default, {@code client}, {@code client-individual}), {@code prefetch-count} (1..65535,
 * default inflight-window) and {@code retained:false} to skip the retained messages a topic subscription
 * otherwise receives first. ACK/NACK name a message by {@code id} (1.2) or {@code message-id} (1.0, 1.1).
 */
final class StompSubscriptionHandler extends ChannelInboundHandlerAdapter {
    private static final String PREFETCH_COUNT = "prefetch-count";

    private final StompConnection conn;
    private final Map<String, StompSubscription> byId = new LinkedHashMap<>();
    private final Map<Integer, StompSubscription> byNumber = new HashMap<>();
    private int nextNumber;

    StompSubscriptionHandler(StompConnection conn) {
        this.conn = conn;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof StompFrame frame)) {
            ctx.fireChannelRead(msg);
            return;
        }
        switch (frame.command()) {
            case SUBSCRIBE, UNSUBSCRIBE, ACK, NACK -> {
                try {
                    switch (frame.command()) {
                        case SUBSCRIBE -> subscribe(ctx, frame);
                        case UNSUBSCRIBE -> unsubscribe(frame);
                        case ACK -> acknowledge(frame, true);
                        default -> acknowledge(frame, false);
                    }
                    String receipt = StompFrames.header(frame, StompHeaders.RECEIPT);
                    if (receipt != null) {
                        ctx.writeAndFlush(StompFrames.receipt(receipt));
                    }
                } finally {
                    frame.release();
                }
            }
            default -> ctx.fireChannelRead(msg);
        }
    }

    private void subscribe(ChannelHandlerContext ctx, StompFrame frame) {
        String destinationHeader = StompFrames.required(frame, StompHeaders.DESTINATION);
        StompDestination destination;
        try {
            destination = StompDestination.forSubscribe(destinationHeader);
        } catch (StompDestination.InvalidDestinationException e) {
            throw StompFrames.bad(frame, "invalid destination", e.getMessage());
        }
        StompFrames.checkLimits(conn, frame, destination);
        if (conn.access.subscribe(destination.mqttTopic()) == TopicAccess.Scope.NONE) {
            throw conn.denied("subscribe", destination.mqttTopic(), StompFrames.header(frame, StompHeaders.RECEIPT));
        }
        String id = StompFrames.header(frame, StompHeaders.ID);
        boolean idGiven = id != null;
        if (!idGiven) {
            if (conn.version != StompVersion.V1_0) {
                StompFrames.required(frame, StompHeaders.ID);
            }
            id = destinationHeader;
        }
        if (byId.containsKey(id)) {
            throw StompFrames.bad(frame, "subscription id in use", "This connection already has a subscription with id '"
                    + id + "'; UNSUBSCRIBE it first or use another id.");
        }
        if (byId.size() >= conn.config.maxSubscriptions()) {
            throw StompProtocolException.limit("too many subscriptions", "A connection may hold " + conn.config.maxSubscriptions()
                    + " subscriptions (setting stomp-max-subscriptions); UNSUBSCRIBE some first.",
                    StompFrames.header(frame, StompHeaders.RECEIPT), Limit.SUBSCRIPTIONS_PER_CLIENT);
        }
        StompSubscription.AckMode ack = StompSubscription.AckMode.of(StompFrames.header(frame, StompHeaders.ACK));
        if (ack == null) {
            throw StompFrames.bad(frame, "bad ack header", "ack must be auto, client or client-individual, not '"
                    + StompFrames.header(frame, StompHeaders.ACK) + "'.");
        }
        int prefetch = prefetch(frame);
        boolean retained = !"false".equals(StompFrames.header(frame, StompMessages.RETAINED));
        if (destination.kind() == StompDestination.Kind.QUEUE) {
            conn.queues.declare(destination);
        }

        DeltaFormat delta = DeltaFormat.parse(StompFrames.header(frame, DeltaFormat.STOMP_HEADER));
        StompSubscription sub = new StompSubscription(conn, ctx, freeNumber(), id, idGiven,
                destination, ack, conn.broker.config().queueLimits().maxQos0Messages(),
                delta == null ? null : new DeltaEncoder(conn.config.delta()));
        Broker.Connection session;
        try {
            session = conn.broker.connect(new SessionId(StompModule.NAMESPACE, sub.clientId()), true, 0, prefetch, sub);
        } catch (Broker.SessionLimitException e) {
            throw StompProtocolException.limit("session limit reached", "The server holds as many sessions as it may ("
                    + e.getMessage() + "); every subscription is one. Retry later.",
                    StompFrames.header(frame, StompHeaders.RECEIPT), Limit.SESSIONS);
        }
        if (destination.kind() == StompDestination.Kind.QUEUE) {
            // what this consumer has not acknowledged yet still belongs to the queue, across a restart too
            conn.broker.keepSharesInStore(session.session());
        }
        sub.attached(session);
        session.session().reads(conn.access);
        byId.put(id, sub);
        byNumber.put(sub.number, sub);
        SubscriptionOptions options = new SubscriptionOptions(1, false, false, retained ? 0 : 2, 0);
        conn.broker.subscribe(session.session(), destination.mqttTopic(), destination.shareGroup(), options, sub);
        if (destination.kind() == StompDestination.Kind.QUEUE) {
            conn.queues.consumerArrived(destination);
        }
    }

    /** The next subscription number: its session ({@code stomp-<conn>-<n>}) is in STOMP's namespace, never an MQTT client's. */
    private int freeNumber() {
        return nextNumber++;
    }

    private static int prefetch(StompFrame frame) {
        String v = StompFrames.header(frame, PREFETCH_COUNT);
        if (v == null) {
            return 0;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= 1 && n <= 65_535) {
                return n;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw StompFrames.bad(frame, "bad prefetch-count header", "prefetch-count must be a number from 1 to 65535, not '" + v + "'.");
    }

    private void unsubscribe(StompFrame frame) {
        String id = StompFrames.header(frame, StompHeaders.ID);
        if (id == null && conn.version == StompVersion.V1_0) {
            id = StompFrames.header(frame, StompHeaders.DESTINATION);
        }
        if (id == null) {
            StompFrames.required(frame, StompHeaders.ID);
        }
        StompSubscription sub = byId.remove(id);
        if (sub == null) {
            throw StompFrames.bad(frame, "unknown subscription", "There is no subscription with id '" + id + "' on this connection.");
        }
        byNumber.remove(sub.number);
        end(sub);
    }

    private void end(StompSubscription sub) {
        conn.broker.disconnect(sub.session(), false);
    }

    private void acknowledge(StompFrame frame, boolean ack) {
        CharSequence idHeader = conn.version == StompVersion.V1_2 ? StompHeaders.ID : StompHeaders.MESSAGE_ID;
        String id = StompFrames.required(frame, idHeader);
        StompSubscription sub = null;
        long seq = -1;
        int dash = id.indexOf('-');
        if (dash > 0) {
            try {
                sub = byNumber.get(Integer.parseInt(id.substring(0, dash)));
                seq = Long.parseLong(id.substring(dash + 1));
            } catch (NumberFormatException e) {
                sub = null;
            }
        }
        boolean done = sub != null && (ack ? sub.ack(seq) : sub.nack(seq));
        if (!done) {
            throw StompFrames.bad(frame, (ack ? "ACK" : "NACK") + " for unknown message", "No message '" + id
                    + "' awaits acknowledgement on this connection: it was already acknowledged, its subscription uses "
                    + "ack:auto or is gone, or the id is not one this server sent (use the MESSAGE's "
                    + (conn.version == StompVersion.V1_2 ? "ack" : "message-id") + " header).");
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            for (StompSubscription sub : new ArrayList<>(byId.values())) {
                sub.queue().drain();
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        for (StompSubscription sub : byId.values()) {
            end(sub);
        }
        byId.clear();
        byNumber.clear();
        ctx.fireChannelInactive();
    }
}
