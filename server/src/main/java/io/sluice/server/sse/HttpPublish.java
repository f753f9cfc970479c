package io.sluice.server.sse;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.sluice.protocol.topic.InvalidTopicException;
import io.sluice.protocol.topic.TopicName;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageProperties;
import io.sluice.server.broker.PublishOutcome;
import io.sluice.server.events.Limit;
import io.sluice.server.events.Rule;
import io.sluice.server.events.RuleBreaches;
import io.sluice.server.transport.HandshakeTimeout;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code POST /publish?topic=T&qos=0|1&retain=true|false}, the body as payload and {@code Content-Type} as the
 * MQTT 5 Content Type: a publish on the shared trie, like any MQTT PUBLISH or STOMP SEND.
 *
 * <p>QoS 1 is answered 200 only once every matching queue holds the message, as a PUBACK is. When a matching
 * subscriber's queue is full, an MQTT publisher has its PUBACK withheld; an HTTP client is told 503 with
 * {@code Retry-After} instead, before anything is queued (so a retry sends it once). Should a queue fill up
 * between that check and the publish, the answer waits for room, like the PUBACK, and the connection's
 * {@link io.sluice.server.transport.InboundGate} holds the next request meanwhile. An offline persistent session with a full queue refuses the message outright (503),
 * as MQTT 5 answers 0x97. A message store that cannot write answers 503 too (MQTT 5 answers 0x80): the message
 * is not safe, so it is not acknowledged. QoS 0 never waits: a full QoS 0 buffer drops by its policy.
 */
final class HttpPublish {
    static final String PROTOCOL = "http";
    /** Seconds a refused publisher is asked to wait: about the time a subscriber takes to make room. */
    static final String RETRY_AFTER_SECONDS = "1";

    private final HttpFallback fallback;

    HttpPublish(HttpFallback fallback) {
        this.fallback = fallback;
    }

    void handle(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (!req.method().equals(HttpMethod.POST)) {
            RuleBreaches.report(ctx.channel(), Rule.HTTP_METHOD_NOT_ALLOWED, PROTOCOL, null,
                    req.method() + " on /publish (publish with POST)", req);
            fallback.refuse(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "publish with POST\n",
                    HttpHeaderNames.ALLOW, "POST, OPTIONS");
            return;
        }
        Map<String, List<String>> q = new QueryStringDecoder(req.uri()).parameters();
        String topic = single(q, "topic");
        String qosText = single(q, "qos");
        String retainText = single(q, "retain");
        int qos;
        boolean retain;
        try {
            qos = qosText == null ? 0 : Integer.parseInt(qosText);
            if (qos != 0 && qos != 1) {
                throw new NumberFormatException();
            }
            retain = retainText == null ? false : parseBool(retainText);
        } catch (IllegalArgumentException e) {
            bad(ctx, req, "qos must be 0 or 1, retain true or false");
            return;
        }
        if (topic == null) {
            bad(ctx, req, "name the topic: /publish?topic=sensors/k1/temp");
            return;
        }
        try {
            TopicName.validate(topic);
        } catch (InvalidTopicException e) {
            bad(ctx, req, "invalid topic: " + e.getMessage());
            return;
        }
        if (TopicName.isSystemTopic(topic)) {
            fallback.refuse(ctx, req, HttpResponseStatus.FORBIDDEN, "topics starting with '$' are the broker's\n");
            return;
        }
        Limit over = fallback.limits().check(topic);
        if (over != null) {
            fallback.events().limitExceeded(PROTOCOL, fallback.info(ctx.channel(), "/publish"), null, over);
            fallback.refuse(ctx, req, HttpResponseStatus.BAD_REQUEST, "the topic is over the limit " + over.setting() + "\n");
            return;
        }
        HttpCaller caller = fallback.login(ctx, req, PROTOCOL, null);
        if (caller == null) {
            return;
        }
        if (!caller.access().mayPublish(topic)) {
            fallback.security().audit().denied("publish", PROTOCOL, null, caller.user(), ctx.channel().remoteAddress(),
                    topic);
            fallback.refuse(ctx, req, HttpResponseStatus.FORBIDDEN, "not allowed to publish to " + topic + "\n");
            return;
        }
        if (fallback.broker().isHoldingPublishes()
                || (qos == 1 && fallback.broker().wouldWait(topic))) {
            busy(ctx.channel(), req);
            return;
        }
        byte[] payload = ByteBufUtil.getBytes(req.content());
        String contentType = req.headers().get(HttpHeaderNames.CONTENT_TYPE);
        Message m = Message.builder(topic).payload(payload).qos(qos).retain(retain)
                .properties(contentType == null ? null
                        : new MessageProperties(contentType, null, null, null, List.of()))
                .build();
        fallback.events().messageIn(PROTOCOL, qos, payload.length);
        Completion done = new Completion(ctx, req);
        fallback.broker().publish(m, true, done);
        done.publishReturned();
    }

    private void bad(ChannelHandlerContext ctx, FullHttpRequest req, String why) {
        RuleBreaches.report(ctx.channel(), Rule.HTTP_PUBLISH_REQUEST_INVALID, PROTOCOL, null, why, req);
        fallback.refuse(ctx, req, HttpResponseStatus.BAD_REQUEST, why + "\n");
    }

    private void busy(Channel ch, FullHttpRequest req) {
        fallback.answer(ch, req, HttpResponseStatus.SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                "a subscriber's queue is full: send again after Retry-After seconds\n",
                HttpHeaderNames.RETRY_AFTER, RETRY_AFTER_SECONDS);
    }

    private static boolean parseBool(String v) {
        return switch (v) {
            case "true", "1" -> true;
            case "false", "0" -> false;
            default -> throw new IllegalArgumentException(v);
        };
    }

    private static String single(Map<String, List<String>> q, String name) {
        List<String> v = q.get(name);
        return v == null || v.isEmpty() ? null : v.get(v.size() - 1);
    }

    /** Answers once the broker holds the message; stops reading while it waits for room. */
    private final class Completion implements Consumer<PublishOutcome> {
        private final Channel ch;
        private final FullHttpRequest req;
        private boolean inPublishCall = true;
        private PublishOutcome immediate;
        private boolean held;

        Completion(ChannelHandlerContext ctx, FullHttpRequest req) {
            this.ch = ctx.channel();
            // the router releases the request when handle returns; its headers are all an answer needs
            this.req = req;
        }

        @Override
        public void accept(PublishOutcome outcome) {
            if (inPublishCall && ch.eventLoop().inEventLoop()) {
                immediate = outcome;
            } else {
                ch.eventLoop().execute(() -> finish(outcome));
            }
        }

        void publishReturned() {
            inPublishCall = false;
            if (immediate != null) {
                finish(immediate);
            } else {
                held = true;
                HttpFallback.gate(ch).pause();
                ch.pipeline().fireUserEventTriggered(HandshakeTimeout.HOLD);
            }
        }

        private void finish(PublishOutcome outcome) {
            if (outcome.storeFailed()) {
                // not safe, so not acknowledged: the HTTP form of MQTT 5's 0x80 and STOMP's ERROR
                fallback.answer(ch, req, HttpResponseStatus.SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                        "the broker's message store cannot write, so this message was not accepted: send it again "
                                + "after Retry-After seconds\n", HttpHeaderNames.RETRY_AFTER, RETRY_AFTER_SECONDS);
            } else if (outcome.quotaExceeded()) {
                busy(ch, req);
            } else {
                fallback.answer(ch, req, HttpResponseStatus.OK, "application/json",
                        "{\"matched\":" + outcome.matchedSessions() + "}\n");
            }
            if (held) {
                ch.pipeline().fireUserEventTriggered(HandshakeTimeout.RESTART);
                HttpFallback.gate(ch).resume();
            }
        }
    }
}
