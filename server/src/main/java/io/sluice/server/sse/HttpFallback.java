package io.sluice.server.sse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.SubscriptionOptions;
import io.sluice.server.broker.TopicAccess;
import io.sluice.server.config.Settings;
import io.sluice.server.ops.Admission;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.Limit;
import io.sluice.server.events.Refusal;
import io.sluice.server.ops.TopicLimits;
import io.sluice.server.security.Authenticator;
import io.sluice.server.security.Security;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.transport.HttpEndpoints;
import io.sluice.server.transport.InboundGate;
import io.sluice.server.events.Transport;
import io.sluice.server.events.Logs;
import io.sluice.server.events.Rule;
import io.sluice.server.events.RuleBreaches;
import org.slf4j.Logger;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The HTTP fallback for clients that cannot hold a WebSocket, on the HTTP port: {@code GET /sse}
 * ({@link SseStream}), {@code GET /poll} ({@link LongPoll}) and {@code POST /publish} ({@link HttpPublish}),
 * all on the shared topic trie, with resume by position from the broker's {@link
 * io.sluice.server.broker.MessageHistory}. See docs/http-fallback.md.
 *
 * <p>Readers are connections like the others: admitted (or refused with 429/503 and {@code Retry-After}) by
 * connection admission, reported to metrics and the connection log as protocols {@code sse} and {@code poll},
 * counted as broker sessions, closed by graceful shutdown. Their session ids live in a namespace no MQTT or
 * STOMP client can name by accident: {@code $sse/} or {@code $poll/} and a random part.
 */
public final class HttpFallback {
    private static final Logger log = Logs.get(HttpFallback.class);
    /** QoS 0, every message including the reader's own, retained messages sent by the reader itself. */
    static final SubscriptionOptions READER_OPTIONS = new SubscriptionOptions(0, false, false, 2, 0);
    public static final List<String> PATHS = List.of("/sse", "/poll", "/publish");
    private static final String ROUTER = "http-router";
    private static final String GATE = "http-inbound-gate";

    private final Broker broker;
    private final Security security;
    private final FallbackConfig config;
    private final ConnectionEvents events;
    private final TopicLimits limits;
    private final Admission admission;
    private final HttpPublish publish = new HttpPublish(this);
    /** The random part of reader ids, drawn on the first reader: seeding a SecureRandom is no start-up work. */
    private volatile String idPrefix;
    private final AtomicLong nextId = new AtomicLong();

    public HttpFallback(Broker broker, Settings settings, Security security, ConnectionEvents events,
                        TopicLimits limits, Admission admission) {
        this.broker = broker;
        this.security = security;
        this.config = FallbackConfig.from(settings);
        this.events = events;
        this.limits = limits;
        this.admission = admission;
    }

    /** Serve {@code /sse}, {@code /poll} and {@code /publish} on the HTTP port. */
    public void register(HttpEndpoints http) {
        http.register("/sse", this::sse);
        http.register("/poll", this::poll);
        http.register("/publish", this::publish);
    }

    private void sse(ChannelHandlerContext ctx, FullHttpRequest req) {
        Reader r = admitReader(ctx, req, SseStream.PROTOCOL);
        if (r != null) {
            new SseStream(this, ctx, r).open(ctx, req);
        }
    }

    private void poll(ChannelHandlerContext ctx, FullHttpRequest req) {
        Reader r = admitReader(ctx, req, LongPoll.PROTOCOL);
        if (r != null) {
            new LongPoll(this, ctx.channel(), req, r).start();
        }
    }

    /** An admitted reader: what it asked for, its session id, what it may read. */
    record Reader(ReaderRequest request, String clientId, TopicAccess access) {
    }

    private String newClientId(String protocol) {
        String prefix = idPrefix;
        if (prefix == null) {
            synchronized (this) {
                if (idPrefix == null) {
                    byte[] random = new byte[6];
                    new SecureRandom().nextBytes(random);
                    idPrefix = HexFormat.of().formatHex(random) + "-";
                }
                prefix = idPrefix;
            }
        }
        return "$" + protocol + "/" + prefix + nextId.incrementAndGet();
    }

    private void publish(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (req.method().equals(HttpMethod.OPTIONS)) {
            options(ctx, req);
            return;
        }
        if (refusedByAdmission(ctx, req)) {
            return;
        }
        publish.handle(ctx, req);
    }

    /** The reader if it may proceed; otherwise it has been answered (405, 400, 401, 403, 429, 503). */
    private Reader admitReader(ChannelHandlerContext ctx, FullHttpRequest req, String protocol) {
        if (!req.method().equals(HttpMethod.GET)) {
            RuleBreaches.report(ctx.channel(), Rule.HTTP_METHOD_NOT_ALLOWED, protocol, null,
                    req.method() + " on a reader's path (read with GET)", req);
            refuse(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "read with GET\n", HttpHeaderNames.ALLOW, "GET");
            return null;
        }
        if (refusedByAdmission(ctx, req)) {
            return null;
        }
        if (broker.isHoldingPublishes()) {
            answer(ctx.channel(), req, HttpResponseStatus.SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                    "the broker is shutting down: reconnect later\n", HttpHeaderNames.RETRY_AFTER, "5");
            return null;
        }
        ReaderRequest.Parsed parsed = ReaderRequest.parse(req.uri(), req.headers().get("Last-Event-ID"), limits,
                config.maxFilters());
        if (parsed instanceof ReaderRequest.Bad bad) {
            if (bad.limit() != null) {
                events.limitExceeded(SseStream.PROTOCOL, info(ctx.channel(), req.uri()), null, bad.limit());
            } else {
                RuleBreaches.report(ctx.channel(), Rule.HTTP_READER_REQUEST_INVALID, protocol, null, bad.reason(), req);
            }
            refuse(ctx, req, HttpResponseStatus.BAD_REQUEST, bad.reason() + "\n");
            return null;
        }
        ReaderRequest reader = ((ReaderRequest.Ok) parsed).request();
        String clientId = newClientId(protocol);
        if (reader.since() == ReaderRequest.BAD_ID) {
            // tolerated: the reader resumes with an explicit reset, as after a gap in the history
            RuleBreaches.report(ctx.channel(), Rule.HTTP_RESUME_ID_UNKNOWN, protocol, clientId,
                    "resume id is not one this broker sent (resumed with a reset)", req);
        }
        HttpCaller caller = login(ctx, req, protocol, clientId);
        if (caller == null) {
            return null;
        }
        for (String f : reader.filters()) {
            if (caller.access().subscribe(f) == TopicAccess.Scope.NONE) {
                security.audit().denied("subscribe", protocol, clientId, caller.user(), ctx.channel().remoteAddress(), f);
                refuse(ctx, req, HttpResponseStatus.FORBIDDEN, "not allowed to read " + f + "\n");
                return null;
            }
        }
        return new Reader(reader, clientId, caller.access());
    }

    /**
     * The caller, logged in; null when refused, and answered: 401 with a Basic challenge for missing or bad
     * credentials, 403 for a client that may not connect.
     */
    HttpCaller login(ChannelHandlerContext ctx, FullHttpRequest req, String protocol, String clientId) {
        HttpCaller caller = HttpCaller.of(security, ctx.channel(), req, protocol, clientId);
        if (caller.allowed()) {
            return caller;
        }
        boolean anonymous = req.headers().get(HttpHeaderNames.AUTHORIZATION) == null
                && !new QueryStringDecoder(req.uri()).parameters().containsKey("token");
        if (caller.login().decision() == Authenticator.Decision.BAD_CREDENTIALS || anonymous) {
            refuse(ctx, req, HttpResponseStatus.UNAUTHORIZED, "authenticate: Authorization: Basic (user and "
                    + "password), Authorization: Bearer TOKEN or ?token=TOKEN\n",
                    HttpHeaderNames.WWW_AUTHENTICATE, "Basic realm=\"sluice\", charset=\"UTF-8\"");
        } else {
            refuse(ctx, req, HttpResponseStatus.FORBIDDEN, "not authorized\n");
        }
        return null;
    }

    /** A connection over the limits (admission said so when it opened) gets its status and Retry-After. */
    private boolean refusedByAdmission(ChannelHandlerContext ctx, FullHttpRequest req) {
        Refusal refusal = Admission.refusal(ctx.channel());
        if (refusal == null || admission == null) {
            return false;
        }
        events.refused(Transport.SSE, ctx.channel().remoteAddress(), SseStream.PROTOCOL, null, refusal,
                "HTTP reader or publisher on " + new QueryStringDecoder(req.uri()).path());
        answer(ctx.channel(), req, HttpResponseStatus.valueOf(refusal.httpStatus()), "text/plain; charset=utf-8",
                refusal.message() + "\n", HttpHeaderNames.RETRY_AFTER,
                Long.toString(admission.retryAfterSeconds(refusal)));
        ctx.channel().close();
        return true;
    }

    /**
     * An OPTIONS request that is not a CORS preflight (those are answered before the router by the security
     * gates' CORS handler, for the origins in {@code --allowed-origins}): say what the path allows.
     */
    private void options(ChannelHandlerContext ctx, FullHttpRequest req) {
        FullHttpResponse response = new DefaultFullHttpResponse(req.protocolVersion(), HttpResponseStatus.NO_CONTENT);
        response.headers().set(HttpHeaderNames.ALLOW, "GET, POST, OPTIONS");
        send(ctx.channel(), req, response);
    }

    void refuse(ChannelHandlerContext ctx, HttpRequest req, HttpResponseStatus status, String body,
                CharSequence... headers) {
        answer(ctx.channel(), req, status, "text/plain; charset=utf-8", body, headers);
    }

    /** A complete answer, keeping the connection open when the request allows it. */
    ChannelFuture answer(Channel ch, HttpRequest req, HttpResponseStatus status, String contentType, String body,
                         CharSequence... headers) {
        ByteBuf content = ByteBufUtil.writeUtf8(ch.alloc(), body);
        FullHttpResponse response = new DefaultFullHttpResponse(req.protocolVersion(), status, content);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        for (int i = 0; i + 1 < headers.length; i += 2) {
            response.headers().set(headers[i], headers[i + 1]);
        }
        return send(ch, req, response);
    }

    ChannelFuture send(Channel ch, HttpRequest req, FullHttpResponse response) {
        HttpUtil.setContentLength(response, response.content().readableBytes());
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        if (!keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            return ch.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
        if (req.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        return ch.writeAndFlush(response);
    }

    /**
     * The connection's {@link InboundGate}, put before the router on first use: a request answered later (a
     * held poll, a publish waiting for room) pauses it, so the next request on the connection waits its turn
     * (HTTP/1.1 answers in order) and, once one waits, the connection stops reading.
     */
    static InboundGate gate(Channel ch) {
        InboundGate gate = (InboundGate) ch.pipeline().get(GATE);
        if (gate == null) {
            gate = new InboundGate(1, msg -> false);
            ch.pipeline().addBefore(ROUTER, GATE, gate);
        }
        return gate;
    }

    /**
     * A reader the broker has no room for: every reader is a session, so past {@code --max-sessions} it is told
     * 503 with {@code Retry-After}, as an MQTT client is told CONNACK 0x97; the connection closes.
     */
    void refuseSessionLimit(Channel ch, HttpRequest req, String protocol, String clientId,
                            Broker.SessionLimitException e) {
        events.limitExceeded(protocol, info(ch, new QueryStringDecoder(req.uri()).path()), clientId, Limit.SESSIONS);
        HttpUtil.setKeepAlive(req, false);
        answer(ch, req, HttpResponseStatus.SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                "the broker holds as many sessions as it may (" + e.getMessage() + "): retry later\n",
                HttpHeaderNames.RETRY_AFTER, "5");
    }

    void reset(String protocol, String clientId, String reason) {
        log.info("{} reader {} resumes with a reset: {}", protocol, clientId, reason);
    }

    ConnectionInfo info(Channel ch, String path) {
        return new ConnectionInfo(Transport.SSE, null, ch.remoteAddress(), path);
    }

    Broker broker() {
        return broker;
    }

    FallbackConfig config() {
        return config;
    }

    ConnectionEvents events() {
        return events;
    }

    Security security() {
        return security;
    }

    TopicLimits limits() {
        return limits;
    }
}
