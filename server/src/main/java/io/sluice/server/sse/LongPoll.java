package io.sluice.server.sse;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.protocol.sse.Envelope;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.SessionId;
import io.sluice.server.broker.CloseReason;
import io.sluice.server.broker.Delivery;
import io.sluice.server.broker.DeliverySink;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.TopicAccess;
import io.sluice.server.broker.MessageHistory.Recorded;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.transport.HandshakeTimeout;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * One {@code GET /poll}: answers a JSON batch as soon as there is something to say, or an empty one after
 * {@code poll-timeout}:
 * <pre>
 *   {"next":"mil3c2k0-57","messages":[{"id":"mil3c2k0-57","topic":"a/b","payload":"1"}]}
 *   {"next":"mil3c2k0-60","reset":"the id is from before a broker restart ...","messages":[...retained...]}
 * </pre>
 * The client sends {@code next} back as {@code since}. Without {@code since} the answer comes at once, with the
 * retained messages and the position to poll from. With it, the same start rules as SSE apply
 * ({@link ReaderStart}): what the history holds after it, else a reset. While held, the poll is a QoS 0
 * subscriber of its own (its own broker session), so a message published meanwhile ends the wait; the session
 * ends with the answer, so between polls the history is what carries messages over.
 */
final class LongPoll implements DeliverySink {
    static final String PROTOCOL = "poll";

    private final HttpFallback fallback;
    private final Channel ch;
    private final HttpRequest request;
    private final ReaderRequest reader;
    private final MessageEncoding encoding;
    private final String clientId;
    private final TopicAccess access;
    private final List<Message> live = new ArrayList<>();
    private final List<Long> livePositions = new ArrayList<>();
    private Broker.Connection connection;
    private long since;
    private Set<Long> sent;
    private ScheduledFuture<?> timeout;
    private boolean answered;

    LongPoll(HttpFallback fallback, Channel ch, HttpRequest request, HttpFallback.Reader admitted) {
        this.fallback = fallback;
        this.ch = ch;
        this.request = request;
        this.reader = admitted.request();
        this.clientId = admitted.clientId();
        this.access = admitted.access();
        this.encoding = new MessageEncoding(fallback.broker().history().epoch(), reader.fullEnvelope());
    }

    void start() {
        Broker broker = fallback.broker();
        ReaderStart start = ReaderStart.before(broker.history(), reader.since());
        boolean wait = reader.since() != null && start.resetReason() == null;
        if (wait) {
            try {
                connection = broker.connect(new SessionId(PROTOCOL, clientId), true, 0, 0, this);
            } catch (Broker.SessionLimitException e) {
                answered = true;
                fallback.refuseSessionLimit(ch, request, PROTOCOL, clientId, e);
                return;
            }
            connection.session().reads(access);
            for (String f : reader.filters()) {
                broker.subscribe(connection.session(), f, null, HttpFallback.READER_OPTIONS, null);
            }
            fallback.events().connected(PROTOCOL, fallback.info(ch, "/poll"), clientId);
        }
        start.after(reader.filters());
        since = start.since();
        List<Message> batch = new ArrayList<>();
        List<Long> positions = new ArrayList<>();
        List<Boolean> retainedFlags = new ArrayList<>();
        if (start.retained()) {
            for (Message m : ReaderStart.retainedFor(broker, reader.filters(), access)) {
                add(batch, positions, retainedFlags, m, 0, true);
                remember(m.position());
            }
        }
        long now = System.currentTimeMillis();
        long next = since;
        for (Recorded r : start.replay()) {
            if (batch.size() >= fallback.config().pollMaxMessages()) {
                break;
            }
            if (!r.message().isExpired(now) && access.mayRead(r.message().topic()) && remember(r.position())) {
                add(batch, positions, retainedFlags, r.message(), r.position(), false);
            }
            next = r.position();
        }
        if (start.resetReason() != null) {
            fallback.reset(PROTOCOL, clientId, start.resetReason());
        }
        if (!wait || !batch.isEmpty() || start.resetReason() != null) {
            end(DisconnectReason.CLIENT_DISCONNECT);
            answer(batch, positions, retainedFlags, next, start.resetReason());
            return;
        }
        // held on purpose: the handshake clock stops, a further request waits its turn in the gate
        ch.pipeline().fireUserEventTriggered(HandshakeTimeout.HOLD);
        HttpFallback.gate(ch).pause();
        timeout = ch.eventLoop().schedule(this::answerLive, fallback.config().pollMillis(), TimeUnit.MILLISECONDS);
        ch.closeFuture().addListener(f -> end(DisconnectReason.CONNECTION_LOST));
    }

    private static void add(List<Message> batch, List<Long> positions, List<Boolean> retained, Message m, long p,
                            boolean r) {
        batch.add(m);
        positions.add(p);
        retained.add(r);
    }

    private boolean remember(long position) {
        if (position == 0) {
            return true;
        }
        if (sent == null) {
            sent = new HashSet<>();
        }
        return sent.add(position);
    }

    @Override
    public Executor executor() {
        return ch.eventLoop();
    }

    @Override
    public boolean isWritable() {
        return true;
    }

    @Override
    public void send(Delivery d) {
        Message m = d.message();
        long p = m.position();
        if (answered || (p != 0 && (p <= since || (sent != null && sent.contains(p))))) {
            return;
        }
        if (live.size() < fallback.config().pollMaxMessages()) {
            live.add(m);
            livePositions.add(p);
        }
    }

    @Override
    public void sendRelease(Delivery delivery) {
    }

    @Override
    public void flush() {
        if (!live.isEmpty()) {
            answerLive();
        }
    }

    @Override
    public void close(CloseReason reason) {
        end(DisconnectReason.of(reason));
        answerLive();
        ch.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    private void answerLive() {
        if (answered) {
            return;
        }
        long next = since;
        List<Boolean> flags = new ArrayList<>(live.size());
        for (long p : livePositions) {
            next = Math.max(next, p);
            flags.add(false);
        }
        end(DisconnectReason.CLIENT_DISCONNECT);
        answer(live, livePositions, flags, next, null);
        ch.pipeline().fireUserEventTriggered(HandshakeTimeout.RESTART);
        HttpFallback.gate(ch).resume();
    }

    /** The poll is over: leave the broker (once). */
    private void end(DisconnectReason reason) {
        if (timeout != null) {
            timeout.cancel(false);
        }
        if (connection != null) {
            fallback.broker().disconnect(connection, false);
            fallback.events().disconnected(PROTOCOL, fallback.info(ch, "/poll"), clientId, reason);
            connection = null;
        }
    }

    private void answer(List<Message> batch, List<Long> positions, List<Boolean> retained, long next, String reset) {
        if (answered) {
            return;
        }
        answered = true;
        if (!ch.isActive()) {
            return;
        }
        ByteBuf out = ch.alloc().buffer();
        out.writeCharSequence("{\"next\":\"" + encoding.cursor(next) + "\"", StandardCharsets.US_ASCII);
        if (reset != null) {
            out.writeCharSequence(",\"reset\":", StandardCharsets.US_ASCII);
            Envelope.string(out, reset);
        }
        out.writeCharSequence(",\"messages\":[", StandardCharsets.US_ASCII);
        for (int i = 0; i < batch.size(); i++) {
            if (i > 0) {
                out.writeByte(',');
            }
            Message m = batch.get(i);
            encoding.pollItem(out, m, positions.get(i), retained.get(i));
            fallback.events().messageOut(PROTOCOL, 0, m.payload().length);
        }
        out.writeCharSequence("]}\n", StandardCharsets.US_ASCII);
        FullHttpResponse response = new DefaultFullHttpResponse(request.protocolVersion(), HttpResponseStatus.OK, out);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                .set(HttpHeaderNames.CACHE_CONTROL, "no-cache, no-store");
        fallback.send(ch, request, response);
    }
}
