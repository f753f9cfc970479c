package io.sluice.server.mqtt;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.util.ReferenceCountUtil;
import io.sluice.protocol.mqtt.PacketSize;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.protocol.topic.TopicFilter;
import io.sluice.protocol.ws.FramePayloadCodec;
import io.sluice.server.broker.BrokerStats;
import io.sluice.server.broker.CloseReason;
import io.sluice.server.broker.Delivery;
import io.sluice.server.broker.DeliverySink;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageProperties;
import io.sluice.server.broker.SubscriberQueue;
import io.sluice.server.broker.Subscription;
import io.sluice.server.delta.DeltaEncoder;
import io.sluice.server.delta.DeltaFormat;
import io.sluice.server.testkit.Probe;
import io.sluice.server.transport.LoopHandoff;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * The broker's deliveries to this client as PUBLISH packets, and the client's PUBACK, PUBREC and PUBCOMP back
 * into the session's queue (MQTT 5 section 4.3). The payload is wrapped, never copied. A delivery larger than
 * the client's Maximum Packet Size is dropped for this client and counted (section 3.1.2.11.4). To a
 * subscription that asked for deltas ({@link DeltaEncoder}), a payload may go as a Fossil delta against the
 * previous one written on the topic, marked with the user property {@code sluice-delta: fossil}.
 *
 * <p>A drain's deliveries without properties (every MQTT 3.1.1 one) are encoded back to back into one pooled
 * buffer, over WebSocket as one binary frame (MQTT 5 section 6.0, MQTT 3.1.1 section 6.0: a frame may carry
 * several packets), which enters the pipeline below the MQTT and frame codecs when the drain flushes or the
 * buffer would pass {@link #BATCH_BYTES}: one buffer, one pass down the pipeline and one entry in the socket's
 * outbound buffer per drain instead of one per delivery. A delivery with properties, a PUBREL, and every
 * delivery to a connection with permessage-deflate or a test probe (which sees each packet) goes on its own.
 * A drain that carries one QoS 0 delivery of a message's own topic and payload (a fan-out's, at a steady rate)
 * writes the bytes the other subscribers of the message on this event loop write too, encoded once
 * ({@link SharedPublishes}).
 *
 * <p>Until the CONNACK is out, deliveries (the resent window of a resumed session) wait here, so the client
 * sees CONNACK first; they are bounded by the in-flight window because the queue drains nothing more while
 * this sink reports itself unwritable.
 */
final class MqttDeliverySink extends ChannelInboundHandlerAdapter implements DeliverySink, Executor {
    private final MqttConnection connection;
    private final BrokerStats stats;
    private List<Object> beforeConnack = new ArrayList<>();
    private boolean flushScheduled;
    private int clientMaximumPacketSize;
    private OutboundTopicAliases aliases = new OutboundTopicAliases(0);
    /** The bases of this connection's deltas; made when the first delivery to a delta subscription comes. */
    private DeltaEncoder deltas;
    /**
     * Where deliveries encoded by this sink enter the pipeline once CONNACK is out: the WebSocket frame codec's
     * context (a write from it goes on below the codec) or the first MQTT handler's; null: one packet object each.
     */
    private ChannelHandlerContext encodedOut;
    /** Deliveries encoded back to back ({@link #encodedOut}) and not yet written to the pipeline; null when none. */
    private ByteBuf pending;
    private int pendingHeadroom;
    /**
     * The drain's first delivery while it is its only one, when its bytes are every subscriber's
     * ({@link SharedPublishes}): a duplicate of the loop's one encoding, framed over WebSocket; null otherwise.
     * A second delivery copies its packet into {@link #pending} and goes behind it.
     */
    private ByteBuf shared;
    /** The MQTT packet's bytes at the end of {@link #shared} (behind the frame header over WebSocket). */
    private int sharedPacketBytes;
    /**
     * Deliveries of QoS {@link #sentQos} written since the last flush and their payload bytes, reported together
     * when it comes ({@link #reportSent}), or sooner when a delivery of another QoS follows them.
     */
    private int sentCount;
    private int sentQos;
    private long sentBytes;

    /**
     * Bytes of encoded deliveries held at most before they go down the pipeline, where the channel's writability
     * counts them (one delivery larger than this goes alone).
     */
    static final int BATCH_BYTES = 16 * 1024;
    private static final int FIRST_BUFFER_BYTES = 256;

    MqttDeliverySink(MqttConnection connection) {
        this.connection = connection;
        this.stats = connection.broker.stats();
    }

    /** The client's Maximum Packet Size (0: no limit) and Topic Alias Maximum, from its CONNECT. */
    void clientLimits(int maximumPacketSize, int topicAliasMaximum) {
        this.clientMaximumPacketSize = maximumPacketSize;
        this.aliases = new OutboundTopicAliases(topicAliasMaximum);
    }

    /** CONNACK is written: send what waited for it, then let the queue drain. */
    void activate() {
        List<Object> waiting = beforeConnack;
        beforeConnack = null;
        encodedOut = encodedOutput(connection.channel.pipeline());
        for (Object o : waiting) {
            if (o instanceof Release r) {
                sendRelease(r.delivery);
            } else {
                send((Delivery) o);
            }
        }
        reportSent();
        writePending();
        connection.channel.flush();
        connection.session().queue().drain();
    }

    private record Release(Delivery delivery) {
    }

    /** See {@link #encodedOut}. */
    private ChannelHandlerContext encodedOutput(ChannelPipeline p) {
        if (Probe.of(connection.channel) != null) {
            return null;
        }
        ChannelHandlerContext ws = p.context(FramePayloadCodec.class);
        if (ws != null) {
            return ((FramePayloadCodec) ws.handler()).acceptsFramedBytes(ws) ? ws : null;
        }
        return p.context(MqttPacketCheck.class);
    }

    /** This sink itself: tasks for the connection's event loop, from another loop batched per its iteration. */
    @Override
    public Executor executor() {
        return this;
    }

    /** See {@link LoopHandoff}: a publish read on another loop wakes this one once for all its deliveries here. */
    @Override
    public void execute(Runnable task) {
        LoopHandoff.execute(connection.channel.eventLoop(), task);
    }

    @Override
    public boolean isWritable() {
        return beforeConnack == null && connection.channel.isWritable() && !connection.isClosing();
    }

    @Override
    public void send(Delivery d) {
        if (beforeConnack != null) {
            beforeConnack.add(d);
            return;
        }
        Message m = d.message();
        byte[] payload = m.payload();
        byte[] delta = connection.isV5() && (deltas != null || d.tag() == DeltaFormat.FOSSIL) ? deltaOf(d) : null;
        if (delta != null) {
            payload = delta;
        }
        MqttProperties props = connection.isV5() ? properties(d, delta != null) : null;
        String topic = m.topic();
        int newAlias = 0;
        if (connection.isV5()) {
            int alias = aliases.existing(topic);
            if (alias == 0) {
                newAlias = alias = aliases.next();
            } else {
                topic = "";
            }
            if (alias != 0) {
                if (props == null) {
                    props = new MqttProperties();
                }
                props.add(new MqttProperties.IntegerProperty(MqttProperties.TOPIC_ALIAS, alias));
            }
        }
        if (props == null) {
            props = MqttProperties.NO_PROPERTIES;
        }
        if (clientMaximumPacketSize > 0) {
            int size = PacketSize.publish(topic, d.qos(), connection.isV5() ? props : null, payload.length);
            if (size > clientMaximumPacketSize) {
                if (deltas != null) {
                    deltas.forget(m.topic()); // never written: not a base
                }
                tooLarge(d, size);
                return;
            }
        }
        if (newAlias != 0) {
            aliases.set(topic, newAlias);
        }
        if (sentCount != 0 && sentQos != d.qos()) {
            reportSent();
        }
        sentQos = d.qos();
        sentCount++;
        sentBytes += m.payload().length;
        if (d.tag() == DeltaFormat.FOSSIL) {
            connection.events.deltaSent("mqtt", m.payload().length, payload.length);
        }
        if (encodedOut != null && props.isEmpty()) {
            append(d, topic, payload);
            return;
        }
        writePending();
        MqttFixedHeader header = new MqttFixedHeader(MqttMessageType.PUBLISH, d.duplicate(),
                MqttQoS.valueOf(d.qos()), d.retainFlag(), 0);
        connection.channel.write(new MqttPublishMessage(header,
                new MqttPublishVariableHeader(topic, d.packetId(), props), Unpooled.wrappedBuffer(payload)));
    }

    /** Encode a delivery without properties behind the ones already {@link #pending}. */
    private void append(Delivery d, String topic, byte[] payload) {
        boolean v5 = connection.isV5();
        int topicBytes = ByteBufUtil.utf8Bytes(topic);
        int size = MqttPublishEncoder.size(topicBytes, d.qos(), v5, payload.length);
        if (shared == null && pending == null && d.qos() == 0 && !d.duplicate() && topic == d.message().topic()
                && payload == d.message().payload() && size <= BATCH_BYTES && connection.channel.eventLoop().inEventLoop()) {
            int headroom = encodedOut.handler() instanceof FramePayloadCodec ? FramePayloadCodec.HEADROOM : 0;
            shared = SharedPublishes.get(encodedOut.alloc(), d.message(), d.retainFlag(), v5, headroom, topicBytes, size);
            sharedPacketBytes = size;
            return;
        }
        if (shared != null) {
            unshare();
        }
        if (pending != null && pending.writerIndex() - pendingHeadroom + size > BATCH_BYTES) {
            writePending();
        }
        if (pending == null) {
            // sized for this delivery and grown (by doubling) as more come: a buffer waiting in a slow socket's
            // outbound queue holds about what it carries, not a whole batch's room
            pendingHeadroom = encodedOut.handler() instanceof FramePayloadCodec ? FramePayloadCodec.HEADROOM : 0;
            pending = encodedOut.alloc().ioBuffer(pendingHeadroom + Math.max(FIRST_BUFFER_BYTES, size));
            pending.writerIndex(pendingHeadroom);
            pending.readerIndex(pendingHeadroom);
        }
        MqttPublishEncoder.writeHeader(pending, d.duplicate(), d.qos(), d.retainFlag(), topic, topicBytes,
                d.packetId(), v5, payload.length);
        pending.writeBytes(payload);
        if (pending.writerIndex() - pendingHeadroom >= BATCH_BYTES) {
            writePending();
        }
    }

    /** What was encoded goes down the pipeline (as one WebSocket frame over WebSocket), before anything after it. */
    private void writePending() {
        ByteBuf b = pending;
        if (b == null) {
            if (shared != null) {
                b = shared;
                shared = null;
                encodedOut.write(b);
            }
            return;
        }
        pending = null;
        if (pendingHeadroom > 0) {
            FramePayloadCodec.frameBinary(b);
        }
        encodedOut.write(b);
    }

    /**
     * A second delivery follows the {@link #shared} one in this drain: its packet is copied into {@link #pending}
     * (without the frame header), so the drain's deliveries still go as one buffer and one frame.
     */
    private void unshare() {
        ByteBuf s = shared;
        shared = null;
        try {
            pendingHeadroom = encodedOut.handler() instanceof FramePayloadCodec ? FramePayloadCodec.HEADROOM : 0;
            int packet = sharedPacketBytes;
            pending = encodedOut.alloc().ioBuffer(pendingHeadroom + Math.max(FIRST_BUFFER_BYTES, 2 * packet));
            pending.writerIndex(pendingHeadroom);
            pending.readerIndex(pendingHeadroom);
            pending.writeBytes(s, s.writerIndex() - packet, packet);
        } finally {
            s.release();
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (pending != null) {
            pending.release();
            pending = null;
        }
        if (shared != null) {
            shared.release();
            shared = null;
        }
    }

    /**
     * The delta to write instead of the delivery's payload, or null to write it in full. Only for a subscription
     * that asked, and only when every subscription of the session matching the topic asked (one PUBLISH serves
     * them all; a subscriber without the option never sees a delta); a resend goes in full.
     */
    private byte[] deltaOf(Delivery d) {
        String topic = d.message().topic();
        if (d.tag() != DeltaFormat.FOSSIL || d.duplicate() || !everyMatchingSubscriptionAsked(d)) {
            if (deltas != null) {
                deltas.forget(topic);
            }
            return null;
        }
        if (deltas == null) {
            deltas = new DeltaEncoder(connection.limits.delta());
        }
        return deltas.encode(topic, d.message().payload());
    }

    private boolean everyMatchingSubscriptionAsked(Delivery d) {
        if (d.groupKey() != null) {
            return true; // a shared subscription's delivery serves that one subscription
        }
        String topic = d.message().topic();
        for (Subscription s : connection.session().subscriptions()) {
            if (!s.isShared() && s.tag() != DeltaFormat.FOSSIL && TopicFilter.matches(s.filter(), topic)) {
                return false;
            }
        }
        return true;
    }

    private void tooLarge(Delivery d, int size) {
        stats.dropped(BrokerStats.Drop.TOO_LARGE_FOR_CLIENT);
        MqttConnection.log().debug("{}: PUBLISH of {} bytes on '{}' exceeds the client's Maximum Packet Size {}; not sent",
                connection.describe(), size, d.message().topic(), clientMaximumPacketSize);
        if (d.packetId() != 0) {
            // leave the window later: acknowledging now would drain (and send) from inside this drain
            int id = d.packetId();
            SubscriberQueue queue = connection.session().queue();
            connection.channel.eventLoop().execute(() -> queue.acknowledge(id));
        }
    }

    /**
     * MQTT 5 PUBLISH properties of one delivery (section 3.3.2.3): a fresh, modifiable set, or null when the
     * delivery has none (most messages), so nothing is allocated for them. A delta is marked with the user
     * property {@code sluice-delta: fossil} and has no Payload Format Indicator (a delta of UTF-8 text need not be
     * UTF-8); a publisher's own {@code sluice-delta} property is not passed on, so only the broker marks deltas.
     */
    private static MqttProperties properties(Delivery d, boolean delta) {
        Message m = d.message();
        MessageProperties mp = m.properties();
        if (!delta && mp.isEmpty() && m.expiresAtMillis() == 0 && d.subscriptionIds().length == 0) {
            return null;
        }
        MqttProperties props = new MqttProperties();
        if (delta) {
            props.add(new MqttProperties.UserProperty(DeltaFormat.MQTT_PROPERTY, DeltaFormat.FOSSIL.token()));
        } else if (mp.payloadFormatUtf8() != null) {
            props.add(new MqttProperties.IntegerProperty(MqttProperties.PAYLOAD_FORMAT_INDICATOR,
                    mp.payloadFormatUtf8() ? 1 : 0));
        }
        if (m.expiresAtMillis() != 0) {
            props.add(new MqttProperties.IntegerProperty(MqttProperties.PUBLICATION_EXPIRY_INTERVAL,
                    (int) Math.min(m.remainingExpirySeconds(System.currentTimeMillis()), 0xFFFF_FFFFL)));
        }
        if (mp.contentType() != null) {
            props.add(new MqttProperties.StringProperty(MqttProperties.CONTENT_TYPE, mp.contentType()));
        }
        if (mp.responseTopic() != null) {
            props.add(new MqttProperties.StringProperty(MqttProperties.RESPONSE_TOPIC, mp.responseTopic()));
        }
        if (mp.correlationData() != null) {
            props.add(new MqttProperties.BinaryProperty(MqttProperties.CORRELATION_DATA, mp.correlationData()));
        }
        for (Map.Entry<String, String> e : mp.userProperties()) {
            if (!e.getKey().equals(DeltaFormat.MQTT_PROPERTY)) {
                props.add(new MqttProperties.UserProperty(e.getKey(), e.getValue()));
            }
        }
        for (int id : d.subscriptionIds()) {
            props.add(new MqttProperties.IntegerProperty(MqttProperties.SUBSCRIPTION_IDENTIFIER, id));
        }
        return props;
    }

    @Override
    public void sendRelease(Delivery d) {
        if (beforeConnack != null) {
            beforeConnack.add(new Release(d));
            return;
        }
        writePending();
        connection.channel.write(pubRel(d.packetId(), ReasonCode.SUCCESS));
    }

    private static MqttMessage pubRel(int packetId, ReasonCode reason) {
        return new MqttMessage(new MqttFixedHeader(MqttMessageType.PUBREL, false, MqttQoS.AT_LEAST_ONCE, false, 0),
                new MqttPubReplyMessageVariableHeader(packetId, reason.code(), MqttProperties.NO_PROPERTIES));
    }

    /** What was written since the last report goes to the metrics and the admin table, in one event. */
    private void reportSent() {
        if (sentCount == 0) {
            return;
        }
        stats.deliveredBytes.add(sentBytes);
        connection.events.messagesOut("mqtt", connection.info, sentQos, sentCount, sentBytes);
        sentCount = 0;
        sentBytes = 0;
    }

    @Override
    public void flush() {
        reportSent();
        writePending();
        if (!connection.gate.inRead()) {
            connection.channel.flush();
            return;
        }
        // The client's acknowledgements drain the queue one by one: flushing once when the read is done sends
        // the same packets with one write instead of one per acknowledgement. The task is the safety net in
        // case nothing else flushes; it runs after the read, and finds little or nothing left to send.
        if (!flushScheduled) {
            flushScheduled = true;
            connection.channel.eventLoop().execute(() -> {
                flushScheduled = false;
                connection.channel.flush();
            });
        }
    }

    @Override
    public void close(CloseReason reason) {
        switch (reason) {
            case SESSION_TAKEN_OVER -> {
                connection.publishWillOfTakenOverConnection();
                connection.closeByServer(ReasonCode.SESSION_TAKEN_OVER, "another connection took over the session");
            }
            case SERVER_SHUTTING_DOWN -> connection.closeByServer(ReasonCode.SERVER_SHUTTING_DOWN,
                    "the broker is shutting down");
            case STUCK_CONSUMER -> connection.closeByServer(ReasonCode.SERVER_BUSY,
                    "no acknowledgement for a full in-flight window; the client is not consuming");
            case ADMINISTRATIVE -> connection.closeByServer(ReasonCode.ADMINISTRATIVE_ACTION,
                    "closed by an administrator");
        }
    }

    // ---- the client's acknowledgements of deliveries

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof MqttMessage m)) {
            ctx.fireChannelRead(msg);
            return;
        }
        MqttMessageType type = m.fixedHeader().messageType();
        if (type != MqttMessageType.PUBACK && type != MqttMessageType.PUBREC && type != MqttMessageType.PUBCOMP) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            acknowledged(type, m);
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void acknowledged(MqttMessageType type, MqttMessage m) {
        SubscriberQueue queue = connection.session().queue();
        int packetId;
        byte reason = 0;
        if (m.variableHeader() instanceof MqttPubReplyMessageVariableHeader v) {
            packetId = v.messageId();
            reason = v.reasonCode();
        } else {
            packetId = ((io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader) m.variableHeader()).messageId();
        }
        switch (type) {
            case PUBACK, PUBCOMP -> queue.acknowledge(packetId);
            case PUBREC -> {
                if ((reason & 0xFF) >= 0x80) {
                    // the client refused the message: its QoS 2 flow ends here (MQTT 5 section 4.3.3)
                    queue.acknowledge(packetId);
                } else if (queue.received(packetId) != null) {
                    // a journaled session sends PUBREL once the release is written: a restart resends PUBREL,
                    // never the PUBLISH the client already has
                    if (!queue.afterStore(() -> connection.channel.eventLoop().execute(
                            () -> connection.channel.writeAndFlush(pubRel(packetId, ReasonCode.SUCCESS))))) {
                        connection.channel.write(pubRel(packetId, ReasonCode.SUCCESS));
                    }
                } else {
                    connection.channel.write(pubRel(packetId, connection.isV5()
                            ? ReasonCode.PACKET_IDENTIFIER_NOT_FOUND : ReasonCode.SUCCESS));
                }
            }
            default -> throw new IllegalStateException(type.toString());
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && connection.isConnected()) {
            connection.session().queue().drain();
        }
        ctx.fireChannelWritabilityChanged();
    }
}
