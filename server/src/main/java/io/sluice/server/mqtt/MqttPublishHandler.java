package io.sluice.server.mqtt;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.util.ReferenceCountUtil;
import io.sluice.protocol.mqtt.Properties;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.events.Rule;
import io.sluice.protocol.mqtt.Utf8;
import io.sluice.protocol.topic.TopicName;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.PublishCallback;
import io.sluice.server.broker.PublishOutcome;
import io.sluice.server.events.Limit;
import io.sluice.server.transport.LoopHandoff;

import io.netty.util.internal.PlatformDependent;

import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Inbound PUBLISH at QoS 0, 1 and 2 and the QoS 2 PUBREL (MQTT 5 section 4.3): validation, topic aliases,
 * the broker's Receive Maximum, duplicate QoS 2 suppression, and flow control. The PUBACK or PUBREC goes out
 * only once {@code Broker.publish} reports every matching queue holds the message; until then the
 * {@link io.sluice.server.transport.InboundGate} holds further packets and the channel stops reading.
 */
final class MqttPublishHandler extends ChannelInboundHandlerAdapter {
    private final MqttConnection connection;
    private InboundTopicAliases aliases;
    /** QoS 1 and 2 PUBLISHes of this connection not yet answered with PUBACK or PUBCOMP (Receive Maximum). */
    private int unacknowledged;
    /**
     * Unanswered QoS 1/2 publishes this connection stops reading at, when none waits for room: each is queued here
     * and waits only for the store's write or other cluster nodes, so the client may pipeline up to this many.
     */
    static final int MAX_AWAITING = 256;
    /**
     * QoS 1/2 publishes not answered yet, in the order they arrived: the store and other cluster nodes finish them
     * in any order, and the acknowledgements go out in this one (MQTT 3.1.1 section 4.6, MQTT 5 section 4.6).
     */
    private final ArrayDeque<Completion> unanswered = new ArrayDeque<>();
    /** Reading stopped because {@link #unanswered} reached {@link #MAX_AWAITING}. */
    private boolean pausedForWindow;
    /** The publish waiting for room in a subscriber's queue, which stopped reading (at most one at a time). */
    private Completion heldForRoom;
    /**
     * Publishes finished on another thread, in the order they finished: one group commit of the store finishes many
     * at once, and the event loop takes them in one task with one flush rather than one of each per message.
     * Made with the first publish, on the event loop before the broker sees it: an empty queue holds a
     * 1,024-slot chunk (about 4.7 KB), which every connection, most of them idle, would otherwise carry.
     */
    private volatile Queue<Completion> finished;
    private final AtomicBoolean finishedScheduled = new AtomicBoolean();
    /** QoS 2 packet ids received on this connection and counted in {@link #unacknowledged}; made on the first. */
    private Set<Integer> countedQos2;
    private String publisherKey;

    MqttPublishHandler(MqttConnection connection) {
        this.connection = connection;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof MqttPublishMessage publish) {
            try {
                publish(ctx, publish);
            } finally {
                ReferenceCountUtil.release(publish);
            }
        } else if (((MqttMessage) msg).fixedHeader().messageType() == MqttMessageType.PUBREL) {
            release(ctx, (MqttMessage) msg);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    private void publish(ChannelHandlerContext ctx, MqttPublishMessage m) {
        MqttLimits limits = connection.limits;
        int qos = m.fixedHeader().qosLevel().value();
        int packetId = m.variableHeader().packetId();
        boolean retain = m.fixedHeader().isRetain();
        MqttProperties props = m.variableHeader().properties();
        if (qos > limits.maximumQos()) {
            connection.closeForViolation(Rule.MQTT_QOS_ABOVE_MAXIMUM, ReasonCode.QOS_NOT_SUPPORTED,
                    "PUBLISH at QoS " + qos + " above the Maximum QoS " + limits.maximumQos() + " (MQTT 5 section 3.2.2.3.4)");
            return;
        }
        if (retain && !limits.retainAvailable()) {
            connection.closeForViolation(Rule.MQTT_RETAIN_NOT_AVAILABLE, ReasonCode.RETAIN_NOT_SUPPORTED,
                    "retained PUBLISH while retain is not available (MQTT 5 section 3.2.2.3.5)");
            return;
        }
        String topic = resolveTopic(m.variableHeader().topicName(), props);
        if (topic == null) {
            return;
        }
        if (!TopicName.isValid(topic)) {
            connection.closeForViolation(topic.isEmpty() ? Rule.MQTT_TOPIC_EMPTY : Rule.MQTT_PUBLISH_TOPIC_WILDCARD,
                    ReasonCode.TOPIC_NAME_INVALID, "PUBLISH to invalid topic name '" + topic + "'");
            return;
        }
        Limit exceeded = connection.topicLimits.check(topic);
        if (exceeded != null) {
            connection.events.limitExceeded("mqtt", connection.info, connection.clientId(), exceeded);
            connection.closeByServer(ReasonCode.TOPIC_NAME_INVALID, "PUBLISH topic exceeds --" + exceeded.setting());
            return;
        }
        if (connection.isV5()) {
            if (Properties.has(props, MqttProperties.SUBSCRIPTION_IDENTIFIER)) {
                connection.closeForViolation(Rule.MQTT_PUBLISH_SUBSCRIPTION_IDENTIFIER, ReasonCode.PROTOCOL_ERROR,
                        "a client's PUBLISH carries a Subscription Identifier (MQTT 5 section 3.3.4)");
                return;
            }
            String responseTopic = Properties.string(props, MqttProperties.RESPONSE_TOPIC);
            if (responseTopic != null && !TopicName.isValid(responseTopic)) {
                connection.closeForViolation(Rule.MQTT_RESPONSE_TOPIC_INVALID, ReasonCode.PROTOCOL_ERROR,
                        "Response Topic '" + responseTopic + "' is not a topic name (MQTT 5 section 3.3.2.3.5)");
                return;
            }
        }
        boolean duplicateQos2 = qos == 2 && connection.session().inboundQos2().contains(packetId);
        // only MQTT 5 clients are told the Receive Maximum, so only they can be held to it
        if (qos > 0 && !duplicateQos2 && connection.isV5() && unacknowledged >= limits.receiveMaximum()) {
            connection.closeForViolation(Rule.MQTT_RECEIVE_MAXIMUM_EXCEEDED, ReasonCode.RECEIVE_MAXIMUM_EXCEEDED, "more than Receive Maximum "
                    + limits.receiveMaximum() + " unacknowledged QoS 1/2 PUBLISHes (MQTT 5 section 3.3.4)");
            return;
        }
        if (duplicateQos2) {
            // already forwarded; the client resends because our PUBREC was lost (MQTT 5 section 4.3.3)
            ctx.write(pubRec(packetId, ReasonCode.SUCCESS));
            return;
        }
        if (!connection.access().mayPublish(topic)) {
            notAuthorized(ctx, qos, packetId, topic);
            return;
        }
        byte[] payload = ByteBufUtil.getBytes(m.payload());
        if (connection.isV5() && InboundMessages.declaresUtf8(props) && !Utf8.isWellFormed(payload)) {
            String why = "payload declared UTF-8 (Payload Format Indicator 1) is not (MQTT 5 section 3.3.2.3.2)";
            if (qos == 0) {
                connection.closeForViolation(Rule.MQTT_PAYLOAD_FORMAT_INVALID, ReasonCode.PAYLOAD_FORMAT_INVALID, why);
            } else {
                ctx.write(qos == 1 ? pubAck(packetId, ReasonCode.PAYLOAD_FORMAT_INVALID, why)
                        : pubRec(packetId, ReasonCode.PAYLOAD_FORMAT_INVALID, why));
            }
            return;
        }
        Message message = InboundMessages.message(topic, payload, qos, retain, props, publisherKey());
        if (qos > 0) {
            unacknowledged++;
        }
        if (qos == 2) {
            connection.session().receivedQos2(packetId);
            connection.broker.inboundQos2Changed(connection.session());
            if (countedQos2 == null) {
                countedQos2 = new HashSet<>();
            }
            countedQos2.add(packetId);
        }
        if (finished == null) {
            finished = PlatformDependent.newMpscQueue();
        }
        Completion completion = new Completion(qos, packetId);
        connection.events.messageIn("mqtt", connection.info, qos, payload.length);
        connection.broker.publish(message, connection.isV5(), completion);
        if (connection.publishRate != null) {
            connection.publishRate.published(connection.gate, payload.length);
        }
        PublishOutcome now = completion.outcomeIfImmediate();
        if (now != null) {
            if (qos == 0) {
                return;
            }
            boolean journaledQos2 = qos == 2 && connection.session().isJournaled();
            boolean keptQos2 = qos == 2 && connection.session().isClusterKept();
            if (unanswered.isEmpty() && !journaledQos2 && !keptQos2) {
                acknowledge(qos, packetId, now);
                return;
            }
            // behind acknowledgements still waiting (they go out in order), or a QoS 2 packet id that must be
            // written before PUBREC: a restart must still know the PUBLISH was received
            unanswered.add(completion);
            if (journaledQos2) {
                connection.broker.store().afterWrites(ok -> completion.finishLater(now));
            } else if (qos == 2 && connection.broker.afterKeptWrites(connection.session(),
                    () -> completion.finishLater(now))) {
                // a session the cluster keeps: PUBREC once its record holds the packet id
            } else {
                completion.ready = now;
            }
            limitWindow();
        } else if (completion.storeOnly) {
            // queued here, waiting only for the group commit or other nodes: read on, up to the window
            unanswered.add(completion);
            limitWindow();
        } else {
            if (qos > 0) {
                unanswered.add(completion);
            }
            heldForRoom = completion;
            connection.gate.pause();
        }
    }

    /** The publisher's session key ({@code SessionId.key()}), made once per connection rather than per message. */
    private String publisherKey() {
        if (publisherKey == null) {
            publisherKey = MqttModule.sessionId(connection.clientId()).key();
        }
        return publisherKey;
    }

    private void limitWindow() {
        if (unanswered.size() >= MAX_AWAITING && !pausedForWindow) {
            pausedForWindow = true;
            connection.gate.pause();
        }
    }

    /** On the event loop: every publish finished elsewhere so far is ready; what is due goes out, in one flush. */
    private void answerFinished() {
        finishedScheduled.set(false);
        boolean resumeHeld = false;
        for (Completion c; (c = finished.poll()) != null; ) {
            c.ready = c.finishedWith;
            if (heldForRoom == c) {
                heldForRoom = null;
                resumeHeld = true;
            }
        }
        answerInOrder();
        if (resumeHeld && !pausedForWindow) {
            connection.gate.resume();
        }
        connection.channel.flush();
    }

    /** On the event loop: send every acknowledgement now due, in order, and read again when nothing holds reading. */
    private void answerInOrder() {
        Completion head;
        while ((head = unanswered.peek()) != null && head.ready != null) {
            unanswered.poll();
            acknowledge(head.qos, head.packetId, head.ready);
        }
        if (pausedForWindow && unanswered.size() <= MAX_AWAITING / 2) {
            pausedForWindow = false;
            if (heldForRoom == null) {
                connection.gate.resume();
            }
        }
    }

    /**
     * The client may not publish to this topic: MQTT 5 says so in the acknowledgement (0x87); MQTT
     * 3.1.1 has no negative acknowledgement, so the client gets its usual one and the message goes nowhere.
     */
    private void notAuthorized(ChannelHandlerContext ctx, int qos, int packetId, String topic) {
        connection.denied("publish", topic); // counted there too: MQTT 3.1.1 publishers are never told
        if (qos == 0) {
            return;
        }
        ReasonCode reason = connection.isV5() ? ReasonCode.NOT_AUTHORIZED : ReasonCode.SUCCESS;
        String why = "not authorized to publish to '" + topic + "'";
        ctx.write(qos == 1 ? pubAck(packetId, reason, why) : pubRec(packetId, reason, why));
    }

    /** The topic of a PUBLISH after MQTT 5 topic aliases; null when the client broke the alias rules. */
    private String resolveTopic(String topic, MqttProperties props) {
        if (!connection.isV5()) {
            return topic;
        }
        long alias = Properties.integer(props, MqttProperties.TOPIC_ALIAS, 0);
        if (alias == 0) {
            if (Properties.has(props, MqttProperties.TOPIC_ALIAS)) {
                connection.closeForViolation(Rule.MQTT_TOPIC_ALIAS_ZERO, ReasonCode.TOPIC_ALIAS_INVALID, "Topic Alias 0 (MQTT 5 section 3.3.2.3.4)");
                return null;
            }
            return topic;
        }
        if (aliases == null) {
            aliases = new InboundTopicAliases(connection.limits.topicAliasMaximum());
        }
        if (!aliases.isValid((int) alias)) {
            connection.closeForViolation(Rule.MQTT_TOPIC_ALIAS_ABOVE_MAXIMUM, ReasonCode.TOPIC_ALIAS_INVALID, "Topic Alias " + alias
                    + " above the Topic Alias Maximum " + connection.limits.topicAliasMaximum() + " (MQTT 5 section 3.3.2.3.4)");
            return null;
        }
        if (topic.isEmpty()) {
            String known = aliases.topic((int) alias);
            if (known == null) {
                connection.closeForViolation(Rule.MQTT_TOPIC_ALIAS_UNKNOWN, ReasonCode.PROTOCOL_ERROR,
                        "Topic Alias " + alias + " used before it was set (MQTT 5 section 3.3.4)");
            }
            return known;
        }
        aliases.set((int) alias, topic);
        return topic;
    }

    private void acknowledge(int qos, int packetId, PublishOutcome outcome) {
        if (qos == 0) {
            return;
        }
        if (outcome.storeFailed()) {
            refuseUnsafe(qos, packetId);
            return;
        }
        ReasonCode reason = ReasonCode.SUCCESS;
        if (outcome.quotaExceeded()) {
            reason = ReasonCode.QUOTA_EXCEEDED;
        } else if (outcome.matchedSessions() == 0) {
            reason = ReasonCode.NO_MATCHING_SUBSCRIBERS;
        }
        if (!connection.isV5()) {
            reason = ReasonCode.SUCCESS;
        }
        if (qos == 1) {
            unacknowledged--;
            connection.channel.write(pubAck(packetId, reason, null));
        } else {
            if (reason.isError()) {
                if (connection.session().releaseQos2(packetId)) {
                    connection.broker.inboundQos2Changed(connection.session());
                }
                if (uncountQos2(packetId)) {
                    unacknowledged--;
                }
            }
            connection.channel.write(pubRec(packetId, reason));
        }
    }

    /** Forget a counted QoS 2 packet id; true when it was counted. */
    private boolean uncountQos2(int packetId) {
        return countedQos2 != null && countedQos2.remove(packetId);
    }

    private void release(ChannelHandlerContext ctx, MqttMessage m) {
        int packetId = ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
        boolean known = connection.session().releaseQos2(packetId);
        if (known) {
            connection.broker.inboundQos2Changed(connection.session());
        }
        if (uncountQos2(packetId)) {
            unacknowledged--;
        }
        ReasonCode reason = known || !connection.isV5() ? ReasonCode.SUCCESS : ReasonCode.PACKET_IDENTIFIER_NOT_FOUND;
        MqttMessage pubComp = new MqttMessage(new MqttFixedHeader(MqttMessageType.PUBCOMP, false, MqttQoS.AT_MOST_ONCE,
                false, 0), new MqttPubReplyMessageVariableHeader(packetId, reason.code(), MqttProperties.NO_PROPERTIES));
        // PUBCOMP once the release is written: after a restart the id is free, so its reuse is not a duplicate
        Runnable send = () -> connection.channel.eventLoop().execute(() -> connection.channel.writeAndFlush(pubComp));
        if (!known || !(connection.session().queue().afterStore(send)
                || connection.broker.afterKeptWrites(connection.session(), send))) {
            ctx.write(pubComp);
        }
    }

    /**
     * The message store could not write this message, so it is not safe: an MQTT 5 client is told (0x80, it may
     * send again); an MQTT 3.1.1 client, which has no negative acknowledgement, is disconnected without one, so
     * it sends the message again once connected.
     */
    private void refuseUnsafe(int qos, int packetId) {
        String why = "the broker's message store cannot write; the message was not accepted";
        if (qos == 2) {
            if (connection.session().releaseQos2(packetId)) {
                connection.broker.inboundQos2Changed(connection.session());
            }
            if (uncountQos2(packetId)) {
                unacknowledged--;
            }
        } else {
            unacknowledged--;
        }
        MqttConnection.log().warn("{}: QoS {} PUBLISH refused: message store cannot write", connection.describe(), qos);
        if (connection.isV5()) {
            connection.channel.write(qos == 1 ? pubAck(packetId, ReasonCode.UNSPECIFIED_ERROR, why)
                    : pubRec(packetId, ReasonCode.UNSPECIFIED_ERROR, why));
        } else {
            connection.channel.close();
        }
    }

    private MqttMessage pubAck(int packetId, ReasonCode reason, String why) {
        return MqttMessageBuilders.pubAck().packetId(packetId).reasonCode(reason.code())
                .properties(connection.reasonString(why)).build();
    }

    private MqttMessage pubRec(int packetId, ReasonCode reason) {
        return pubRec(packetId, reason, null);
    }

    private MqttMessage pubRec(int packetId, ReasonCode reason, String why) {
        return new MqttMessage(new MqttFixedHeader(MqttMessageType.PUBREC, false, MqttQoS.AT_MOST_ONCE, false, 0),
                new MqttPubReplyMessageVariableHeader(packetId, reason.code(), connection.reasonString(why)));
    }

    /**
     * The {@code done} of one {@code Broker.publish}: it tells whether the broker finished within the call;
     * when it finishes later, on whatever thread made room or took the message, it hops to this connection's event
     * loop, where the acknowledgements go out in order and reading resumes.
     */
    private final class Completion implements PublishCallback {
        private final int qos;
        private final int packetId;
        private PublishOutcome outcome;
        private boolean deferred;
        private boolean awaitingStoreSeen;
        /** Decided on the event loop when publish returned: the wait is not for room (store, other nodes). */
        boolean storeOnly;
        /** The outcome, once it may be acknowledged; set on the event loop. */
        PublishOutcome ready;
        /** Set before it is queued in {@link #finished}, read after it is taken out (the queue orders the two). */
        private PublishOutcome finishedWith;

        Completion(int qos, int packetId) {
            this.qos = qos;
            this.packetId = packetId;
        }

        @Override
        public synchronized void awaitingStore() {
            awaitingStoreSeen = true;
        }

        @Override
        public void accept(PublishOutcome o) {
            synchronized (this) {
                if (!deferred) {
                    outcome = o;
                    return;
                }
            }
            if (!storeOnly && qos == 2 && connection.session().isJournaled()) {
                connection.broker.store().afterWrites(ok -> finishLater(o)); // the packet id is written first
            } else if (qos == 2 && connection.broker.afterKeptWrites(connection.session(), () -> finishLater(o))) {
                // the cluster's record of the session holds the packet id first
            } else {
                finishLater(o);
            }
        }

        /** From any thread: on the event loop, the outcome is ready; what is due goes out, reading may resume. */
        void finishLater(PublishOutcome o) {
            if (connection.channel.eventLoop().isShuttingDown()) {
                return; // the broker is stopping: no one is left to acknowledge
            }
            finishedWith = o;
            finished.offer(this);
            if (finishedScheduled.compareAndSet(false, true)) {
                // from the store's writer: with the other acknowledgements of its commit for this loop
                LoopHandoff.execute(connection.channel.eventLoop(), MqttPublishHandler.this::answerFinished);
            }
        }

        synchronized PublishOutcome outcomeIfImmediate() {
            if (outcome == null) {
                deferred = true;
                storeOnly = awaitingStoreSeen;
            }
            return outcome;
        }
    }
}
