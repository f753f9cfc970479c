package io.sluice.server.sse;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.protocol.sse.Envelope;
import io.sluice.protocol.sse.EventStream;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.SessionId;
import io.sluice.server.broker.CloseReason;
import io.sluice.server.broker.Delivery;
import io.sluice.server.broker.DeliverySink;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.TopicAccess;
import io.sluice.server.broker.MessageHistory.Recorded;
import io.sluice.server.delta.DeltaEncoder;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.transport.HandshakeTimeout;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * One {@code GET /sse} stream: a QoS 0 subscriber of its own (one broker session, every filter subscribed in it)
 * whose deliveries it writes as SSE events. Being QoS 0, a stream never holds a publisher back: while its
 * socket is not writable, messages wait in the session's bounded QoS 0 buffer, and past that bound the oldest is
 * dropped (or, for {@code conflate-filters}, only the latest value per topic is kept), counted in
 * {@code sluice_messages_dropped_total}; a reader that reconnects with its last id gets them from the history.
 *
 * <p>The stream opens with the {@code retry:} delay and an id-only block carrying its starting position, so a
 * browser that loses the stream before the first message still resumes from where it started. Comment lines
 * every {@code sse-heartbeat} keep proxies from closing an idle stream and reveal a dead client by a failed
 * write. The core ends the stream (shutdown, takeover) by closing the connection; the browser reconnects after
 * the retry delay and resumes by id.
 *
 * <p>A reader that asked {@code delta=fossil} gets, after a first whole payload per topic, each payload as a Fossil
 * delta against the previous event on that topic in this stream, marked {@code "delta":"fossil"} in the envelope
 * ({@link DeltaEncoder}); a reconnected stream starts again from whole payloads.
 */
final class SseStream implements DeliverySink {
    static final String PROTOCOL = "sse";

    private final HttpFallback fallback;
    private final Channel ch;
    private final ReaderRequest request;
    private final MessageEncoding encoding;
    private final String clientId;
    private final TopicAccess access;
    private Broker.Connection connection;
    private long since;
    /** Positions already sent from the history or as retained, so their live copy is not sent again. */
    private Set<Long> sent;
    private ScheduledFuture<?> heartbeat;
    private DisconnectReason endReason = DisconnectReason.CONNECTION_LOST;

    SseStream(HttpFallback fallback, ChannelHandlerContext ctx, HttpFallback.Reader reader) {
        this.fallback = fallback;
        this.ch = ctx.channel();
        this.request = reader.request();
        this.clientId = reader.clientId();
        this.access = reader.access();
        this.encoding = new MessageEncoding(fallback.broker().history().epoch(), request.fullEnvelope(),
                request.delta() == null ? null : new DeltaEncoder(fallback.config().delta()));
    }

    /** Answer the request with the stream's head and whatever it starts with; on the connection's event loop. */
    void open(ChannelHandlerContext router, HttpRequest req) {
        Broker broker = fallback.broker();
        ReaderStart start = ReaderStart.before(broker.history(), request.since());
        try {
            connection = broker.connect(new SessionId(PROTOCOL, clientId), true, 0, 0, this);
        } catch (Broker.SessionLimitException e) {
            fallback.refuseSessionLimit(ch, req, PROTOCOL, clientId, e);
            return;
        }
        ch.pipeline().fireUserEventTriggered(HandshakeTimeout.ESTABLISHED);
        // the connection now carries one endless response: nothing more is read from it as HTTP
        ch.pipeline().replace(router.name(), "sse-stream", new Discard());
        HttpResponse response = new DefaultHttpResponse(req.protocolVersion(), HttpResponseStatus.OK);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, EventStream.CONTENT_TYPE)
                .set(HttpHeaderNames.CACHE_CONTROL, "no-cache, no-store")
                // nginx and similar buffer responses unless told otherwise; a stream must not be buffered
                .set("X-Accel-Buffering", "no");
        if (req.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else {
            HttpUtil.setTransferEncodingChunked(response, true);
        }
        ch.write(response, ch.voidPromise());

        connection.session().reads(access);
        for (String f : request.filters()) {
            broker.subscribe(connection.session(), f, null, HttpFallback.READER_OPTIONS, null);
        }
        start.after(request.filters());
        since = start.since();
        fallback.events().connected(PROTOCOL, fallback.info(ch, "/sse"), clientId);
        ch.closeFuture().addListener(f -> closed());

        ByteBuf out = ch.alloc().buffer();
        EventStream.retry(out, fallback.config().retryMillis());
        if (start.resetReason() != null) {
            EventStream.beginEvent(out, null, "reset");
            Envelope.object(out, "reason", start.resetReason(), "id", start.startId().format());
            EventStream.endEvent(out);
            fallback.reset(PROTOCOL, clientId, start.resetReason());
        }
        EventStream.position(out, start.startId().format());
        if (start.retained()) {
            for (Message m : ReaderStart.retainedFor(broker, request.filters(), access)) {
                sent(m, encoding.sseEvent(out, m, 0, true));
                remember(m.position());
            }
        }
        long now = System.currentTimeMillis();
        for (Recorded r : start.replay()) {
            if (!r.message().isExpired(now) && access.mayRead(r.message().topic()) && remember(r.position())) {
                sent(r.message(), encoding.sseEvent(out, r.message(), r.position(), false));
            }
        }
        ch.writeAndFlush(new DefaultHttpContent(out)).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        long hb = fallback.config().heartbeatMillis();
        if (hb > 0) {
            heartbeat = ch.eventLoop().scheduleAtFixedRate(this::beat, hb, hb, TimeUnit.MILLISECONDS);
        }
    }

    /** Remember a position as sent; false when it already was. */
    private boolean remember(long position) {
        if (position == 0) {
            return true;
        }
        if (sent == null) {
            sent = new HashSet<>();
        }
        return sent.add(position);
    }

    private void beat() {
        if (ch.isActive() && ch.isWritable()) {
            ByteBuf out = ch.alloc().buffer(2);
            EventStream.comment(out);
            ch.writeAndFlush(new DefaultHttpContent(out)).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
            fallback.events().heartbeat(PROTOCOL, io.sluice.server.events.Heartbeat.SSE_COMMENT_SENT);
        }
    }

    @Override
    public Executor executor() {
        return ch.eventLoop();
    }

    @Override
    public boolean isWritable() {
        return ch.isWritable();
    }

    @Override
    public void send(Delivery d) {
        Message m = d.message();
        long p = m.position();
        if (!ch.isActive() || (p != 0 && (p <= since || (sent != null && sent.contains(p))))) {
            return;
        }
        ByteBuf out = ch.alloc().buffer(m.payload().length + m.topic().length() + 48);
        int bytes = encoding.sseEvent(out, m, p, false);
        ch.write(new DefaultHttpContent(out), ch.voidPromise());
        sent(m, bytes);
    }

    /** Count a message written to the stream, {@code bytes} of payload (a delta's when it went as one). */
    private void sent(Message m, int bytes) {
        fallback.events().messageOut(PROTOCOL, 0, m.payload().length);
        if (request.delta() != null) {
            fallback.events().deltaSent(PROTOCOL, m.payload().length, bytes);
        }
    }

    @Override
    public void sendRelease(Delivery delivery) {
        // QoS 0 only: nothing is ever released
    }

    @Override
    public void flush() {
        ch.flush();
    }

    @Override
    public void close(CloseReason reason) {
        endReason = DisconnectReason.of(reason);
        ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
    }

    private void closed() {
        if (heartbeat != null) {
            heartbeat.cancel(false);
        }
        fallback.broker().disconnect(connection, false);
        fallback.events().disconnected(PROTOCOL, fallback.info(ch, "/sse"), clientId, endReason);
    }

    /**
     * Whatever a client sends on a stream's connection after its request is read and dropped; a failed write (the
     * client went away) closes the connection without a stack trace.
     */
    private static final class Discard extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
