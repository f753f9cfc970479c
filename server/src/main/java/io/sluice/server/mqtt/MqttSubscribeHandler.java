package io.sluice.server.mqtt;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttSubAckPayload;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttSubscriptionOption;
import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import io.sluice.protocol.mqtt.Properties;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.events.Rule;
import io.sluice.protocol.topic.InvalidTopicException;
import io.sluice.protocol.topic.SharedFilter;
import io.sluice.protocol.topic.TopicFilter;
import io.sluice.server.broker.TopicAccess;
import io.sluice.server.broker.Session;
import io.sluice.server.broker.SubscriptionOptions;
import io.sluice.server.delta.DeltaFormat;
import io.sluice.server.events.Limit;

import java.util.List;
import java.util.Map;

/**
 * SUBSCRIBE and UNSUBSCRIBE (MQTT 5 sections 3.8 and 3.10) on the broker's trie: filter validation, shared
 * subscriptions, subscription options and identifiers, granted QoS capped at the Maximum QoS, and the opt-in
 * delta delivery (user property {@code sluice-delta: fossil}, carried as the subscription's tag). An invalid
 * filter ends the connection (MQTT 5 section 4.7.1: 0x8F); a valid one the broker does not offer (wildcards
 * or sharing switched off) is refused in the SUBACK only.
 */
final class MqttSubscribeHandler extends ChannelInboundHandlerAdapter {
    private final MqttConnection connection;

    MqttSubscribeHandler(MqttConnection connection) {
        this.connection = connection;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof MqttSubscribeMessage s) {
            subscribe(ctx, s);
        } else if (msg instanceof MqttUnsubscribeMessage u) {
            unsubscribe(ctx, u);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    private void subscribe(ChannelHandlerContext ctx, MqttSubscribeMessage m) {
        MqttLimits limits = connection.limits;
        int packetId = m.variableHeader().messageId();
        MqttProperties props = m.idAndPropertiesVariableHeader().properties();
        long subscriptionId = Properties.integer(props, MqttProperties.SUBSCRIPTION_IDENTIFIER, 0);
        if (Properties.has(props, MqttProperties.SUBSCRIPTION_IDENTIFIER)) {
            if (!limits.subscriptionIdentifiers()) {
                connection.closeForViolation(Rule.MQTT_SUBSCRIPTION_IDENTIFIER, ReasonCode.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED,
                        "SUBSCRIBE with a Subscription Identifier, which this broker does not offer");
                return;
            }
            if (subscriptionId == 0) {
                connection.closeForViolation(Rule.MQTT_SUBSCRIPTION_IDENTIFIER, ReasonCode.PROTOCOL_ERROR,
                        "Subscription Identifier 0 (MQTT 5 section 3.8.2.1.2)");
                return;
            }
        }
        // opt-in deltas for every filter of this SUBSCRIBE (MQTT 5 only: a user property)
        DeltaFormat delta = null;
        for (Map.Entry<String, String> u : Properties.userProperties(props)) {
            if (u.getKey().equals(DeltaFormat.MQTT_PROPERTY)) {
                delta = DeltaFormat.parse(u.getValue());
            }
        }
        List<MqttTopicSubscription> subs = m.payload().topicSubscriptions();
        if (subs.isEmpty()) {
            connection.closeForViolation(Rule.MQTT_SUBSCRIBE_EMPTY, ReasonCode.PROTOCOL_ERROR, "SUBSCRIBE without a topic filter (MQTT 5 section 3.8.3)");
            return;
        }
        Session session = connection.session();
        int[] reasons = new int[subs.size()];
        for (int i = 0; i < subs.size(); i++) {
            MqttTopicSubscription sub = subs.get(i);
            String written = sub.topicFilter();
            String filter = written;
            String group = null;
            try {
                if (SharedFilter.isShared(written)) {
                    SharedFilter shared = SharedFilter.parse(written);
                    group = shared.group();
                    filter = shared.filter();
                } else {
                    TopicFilter.validate(written);
                }
            } catch (InvalidTopicException e) {
                connection.closeForViolation(Rule.MQTT_TOPIC_FILTER_INVALID, ReasonCode.TOPIC_FILTER_INVALID,
                        "invalid topic filter '" + written + "': " + e.getMessage());
                return;
            }
            Limit exceeded = connection.topicLimits.check(written);
            if (exceeded == null && !connection.topicLimits.allowsAnotherSubscription(session.subscriptions().size())
                    && session.subscriptions().stream().noneMatch(existing -> existing.key().equals(written))) {
                exceeded = Limit.SUBSCRIPTIONS_PER_CLIENT;
            }
            if (exceeded != null) {
                // the spec's per-filter answer: 0x97 Quota exceeded / 0x8F Topic Filter invalid (3.1.1: 0x80)
                connection.events.limitExceeded("mqtt", connection.info, connection.clientId(), exceeded);
                reasons[i] = (exceeded == Limit.SUBSCRIPTIONS_PER_CLIENT ? ReasonCode.QUOTA_EXCEEDED
                        : ReasonCode.TOPIC_FILTER_INVALID).unsignedCode();
                continue;
            }
            MqttSubscriptionOption o = sub.option();
            if (group != null && o.isNoLocal()) {
                connection.closeForViolation(Rule.MQTT_SHARED_NO_LOCAL, ReasonCode.PROTOCOL_ERROR,
                        "No Local on shared subscription '" + written + "' (MQTT 5 section 3.8.3.1)");
                return;
            }
            if (group != null && !limits.sharedSubscriptions()) {
                reasons[i] = ReasonCode.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED.unsignedCode();
                continue;
            }
            if (!limits.wildcardSubscriptions() && TopicFilter.hasWildcard(filter)) {
                reasons[i] = ReasonCode.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED.unsignedCode();
                continue;
            }
            int qos = Math.min(o.qos().value(), limits.maximumQos());
            SubscriptionOptions options = new SubscriptionOptions(qos, o.isNoLocal(), o.isRetainAsPublished(),
                    o.retainHandling().value(), (int) subscriptionId);
            // the filter decides, whatever the share group: a group member reads what the filter matches
            if (connection.access().subscribe(filter) == TopicAccess.Scope.NONE) {
                connection.denied("subscribe", written);
                reasons[i] = limits.subscribeDeniedCode();
                continue;
            }
            connection.broker.subscribe(session, filter, group, options, delta);
            reasons[i] = qos;
        }
        if (!connection.isV5()) {
            for (int i = 0; i < reasons.length; i++) {
                if (reasons[i] >= 0x80) {
                    reasons[i] = 0x80;
                }
            }
        }
        ctx.write(new MqttSubAckMessage(
                new MqttFixedHeader(MqttMessageType.SUBACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
                new MqttMessageIdAndPropertiesVariableHeader(packetId, MqttProperties.NO_PROPERTIES),
                new MqttSubAckPayload(reasons)));
    }

    private void unsubscribe(ChannelHandlerContext ctx, MqttUnsubscribeMessage m) {
        List<String> filters = m.payload().topics();
        if (filters.isEmpty()) {
            connection.closeForViolation(Rule.MQTT_UNSUBSCRIBE_EMPTY, ReasonCode.PROTOCOL_ERROR, "UNSUBSCRIBE without a topic filter (MQTT 5 section 3.10.3)");
            return;
        }
        MqttMessageBuilders.UnsubAckBuilder ack = MqttMessageBuilders.unsubAck().packetId(m.variableHeader().messageId());
        for (String filter : filters) {
            boolean existed = connection.broker.unsubscribe(connection.session(), filter);
            ack.addReasonCode((short) (existed ? ReasonCode.SUCCESS : ReasonCode.NO_SUBSCRIPTION_EXISTED).unsignedCode());
        }
        ctx.write(ack.build());
    }

}
