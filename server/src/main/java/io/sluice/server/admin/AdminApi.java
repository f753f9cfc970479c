package io.sluice.server.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Measurement;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.sluice.protocol.topic.InvalidTopicException;
import io.sluice.protocol.topic.TopicName;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.Session;
import io.sluice.server.broker.SubscriberQueue;
import io.sluice.server.broker.Subscription;
import io.sluice.server.broker.CloseReason;
import io.sluice.server.config.Setting;
import io.sluice.server.config.Settings;
import io.sluice.server.ops.SessionCensus;
import io.sluice.server.events.Logs;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpUtil;
import org.slf4j.Logger;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The JSON admin API under {@code /api/v1/}: what the broker is doing (summary, connections, sessions,
 * subscriptions, retained messages, the topic tree with rates, settings, refusals and drops) and the two
 * things an operator changes from it (disconnect a client, delete a retained message). docs/admin-api.yaml is
 * its contract.
 *
 * <p>The event loop only decides access ({@link AdminAccess}) and hands the request to the admin thread, which
 * walks sessions and tries and writes the answer; a slow answer never holds a client connection's loop.
 */
public final class AdminApi {
    public static final String PREFIX = "/api/v1/";
    private static final Logger log = Logs.get(AdminApi.class);
    private static final String JSON_TYPE = "application/json; charset=utf-8";
    private static final int DEFAULT_PAGE = 100;
    /** Bytes of a payload shown in a list; reading one retained message shows all of it. */
    private static final int PREVIEW_BYTES = 256;
    private static final Pattern SECRET = Pattern.compile("secret|password|passwd|token|credential|private|key(?!-?alive)");

    private final Broker broker;
    private final Settings settings;
    /** The metrics registry, built on first use (see BrokerMetrics). */
    private final Supplier<MeterRegistry> metrics;
    private final ConnectionTable connections;
    private final TopicRates rates;
    private final AdminAccess access;
    private final ExecutorService worker;
    private final Supplier<Map<String, InetSocketAddress>> listeners;
    private final String version;
    private final long startedAtMillis = System.currentTimeMillis();
    private final int maxPage;
    private volatile LiveStream feed;

    AdminApi(Broker broker, Settings settings, Supplier<MeterRegistry> metrics, ConnectionTable connections, TopicRates rates,
             AdminAccess access, ExecutorService worker, Supplier<Map<String, InetSocketAddress>> listeners,
             String version) {
        this.broker = broker;
        this.settings = settings;
        this.metrics = metrics;
        this.connections = connections;
        this.rates = rates;
        this.access = access;
        this.worker = worker;
        this.listeners = listeners;
        this.version = version;
        this.maxPage = settings.get(Settings.ADMIN_MAX_PAGE);
    }

    /** A long-lived answer (the live feed) that takes over the connection. */
    interface LiveStream {
        void open(ChannelHandlerContext ctx, HttpRequest request);
    }

    void feed(LiveStream feed) {
        this.feed = feed;
    }

    /** A request the API refuses or cannot read: its status and what to do. */
    static final class Problem extends RuntimeException {
        final int status;

        Problem(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    /** Called on the connection's event loop for every path under {@link #PREFIX}. */
    public void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
        HttpMethod method = request.method();
        boolean changes = !HttpMethod.GET.equals(method) && !HttpMethod.HEAD.equals(method);
        AdminAccess.Decision decision = access.decide(ctx.channel().remoteAddress(), changes,
                request.headers().get(HttpHeaderNames.AUTHORIZATION), request.headers().get(HttpHeaderNames.ORIGIN),
                request.headers().get(HttpHeaderNames.HOST));
        if (decision instanceof AdminAccess.Refuse r) {
            log.warn("admin API request {} {} from {} refused: {}", method, request.uri(),
                    ctx.channel().remoteAddress(), r.message());
            answer(ctx, request, r.status(), new AdminViews.Problem(r.status(), r.message()));
            return;
        }
        QueryStringDecoder query = new QueryStringDecoder(request.uri());
        if (query.path().equals(PREFIX + "feed") && HttpMethod.GET.equals(method) && feed != null) {
            feed.open(ctx, request);
            return;
        }
        try {
            worker.execute(() -> {
                try {
                    Object body = route(method, query);
                    answer(ctx, request, 200, body);
                } catch (Problem p) {
                    answer(ctx, request, p.status, new AdminViews.Problem(p.status, p.getMessage()));
                } catch (RuntimeException e) {
                    log.warn("admin API request {} {} failed", method, request.uri(), e);
                    answer(ctx, request, 500, new AdminViews.Problem(500, "internal error: " + e));
                }
            });
        } catch (RejectedExecutionException e) {
            answer(ctx, request, 503, new AdminViews.Problem(503, "the admin API is busy or stopping; retry shortly"));
        }
    }

    private void answer(ChannelHandlerContext ctx, HttpRequest request, int status, Object body) {
        String text;
        try {
            text = AdminJson.mapper().writeValueAsString(body) + "\n";
        } catch (JsonProcessingException e) {
            status = 500;
            text = "{\"status\":500,\"error\":\"cannot write the answer as JSON\"}\n";
        }
        FullHttpResponse response = new DefaultFullHttpResponse(request.protocolVersion(),
                HttpResponseStatus.valueOf(status), Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, JSON_TYPE)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        if (status == 401) {
            response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, AdminAccess.CHALLENGE);
        }
        HttpUtil.setContentLength(response, response.content().readableBytes());
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        HttpUtil.setKeepAlive(response, keepAlive);
        ChannelFuture sent = ctx.writeAndFlush(response);
        if (!keepAlive) {
            sent.addListener(ChannelFutureListener.CLOSE);
        }
    }

    Object route(HttpMethod method, QueryStringDecoder query) {
        String path = query.path().substring(PREFIX.length());
        String[] parts = path.split("/", -1);
        boolean get = HttpMethod.GET.equals(method);
        boolean delete = HttpMethod.DELETE.equals(method);
        switch (parts[0]) {
            case "summary" -> {
                only(get, parts.length == 1);
                return summary();
            }
            case "connections" -> {
                if (parts.length == 1) {
                    only(get, true);
                    return connections(query);
                }
                only(get || delete, parts.length == 2);
                long id = number(parts[1], "connection id");
                return delete ? disconnect(id) : connection(id);
            }
            case "sessions" -> {
                only(get, parts.length == 1);
                return sessions(query);
            }
            case "subscriptions" -> {
                only(get, parts.length == 1);
                return subscriptions(query);
            }
            case "retained" -> {
                only(get || delete, parts.length == 1);
                return delete ? deleteRetained(query) : retained(query);
            }
            case "topics" -> {
                only(get, parts.length == 1);
                return topics(query);
            }
            case "settings" -> {
                only(get, parts.length == 1);
                return settings();
            }
            case "refusals" -> {
                only(get, parts.length == 1);
                return refusals();
            }
            default -> throw new Problem(404, "no such admin API path: " + query.path() + " (see docs/admin-api.yaml)");
        }
    }

    private static void only(boolean methodAllowed, boolean pathKnown) {
        if (!pathKnown) {
            throw new Problem(404, "no such admin API path (see docs/admin-api.yaml)");
        }
        if (!methodAllowed) {
            throw new Problem(405, "method not allowed on this path (see docs/admin-api.yaml)");
        }
    }

    // ---- summary

    private AdminViews.Summary summary() {
        List<AdminViews.Listener> bound = new ArrayList<>();
        listeners.get().forEach((name, a) -> bound.add(new AdminViews.Listener(name, a.getHostString(), a.getPort())));
        SessionCensus census = SessionCensus.take(broker);
        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("connections", (long) connections.size());
        counts.put("sessionsOnline", census.online());
        counts.put("sessionsOffline", census.offline());
        counts.put("subscriptions", (long) broker.trie().subscriptionCount());
        counts.put("retained", (long) broker.retained().size());
        counts.put("queued", census.queuedReliable() + census.queuedQos0());
        counts.put("inflight", census.inflight());
        long now = System.currentTimeMillis();
        return new AdminViews.Summary(version, Instant.ofEpochMilli(startedAtMillis).toString(),
                (now - startedAtMillis) / 1000, bound, counts, connectionsByProtocol(metrics.get()));
    }

    /** Open connections by protocol, then transport, from the metrics' gauges. */
    static Map<String, Map<String, Long>> connectionsByProtocol(MeterRegistry metrics) {
        Map<String, Map<String, Long>> out = new TreeMap<>();
        for (Meter m : metrics.find("sluice.connections").meters()) {
            String protocol = m.getId().getTag("protocol");
            String transport = m.getId().getTag("transport");
            if (protocol != null && transport != null) {
                out.computeIfAbsent(protocol, p -> new TreeMap<>()).merge(transport, (long) value(m), Long::sum);
            }
        }
        return out;
    }

    // ---- connections

    private AdminViews.Page<AdminViews.Connection> connections(QueryStringDecoder query) {
        int limit = limit(query);
        long cursor = param(query, "cursor") == null ? 0 : number(param(query, "cursor"), "cursor");
        Predicate<ConnectionTable.Entry> filter = connectionFilter(query);
        ConnectionTable.Page page = connections.page(cursor, limit, filter);
        Map<ConnectionTable.Entry, List<Session>> sessions = connections.sessions(page.items());
        List<AdminViews.Connection> items = new ArrayList<>(page.items().size());
        for (ConnectionTable.Entry e : page.items()) {
            items.add(view(e, sessions.get(e), false));
        }
        return new AdminViews.Page<>(items, page.nextCursor() == 0 ? null : Long.toString(page.nextCursor()));
    }

    private static Predicate<ConnectionTable.Entry> connectionFilter(QueryStringDecoder query) {
        String clientId = lower(param(query, "clientId"));
        String protocol = lower(param(query, "protocol"));
        String transport = lower(param(query, "transport"));
        String address = lower(param(query, "address"));
        return e -> (clientId == null || e.clientId().toLowerCase(Locale.ROOT).contains(clientId))
                && (protocol == null || e.protocol().equals(protocol))
                && (transport == null || e.info().transport().label().equals(transport))
                && (address == null || address(e).toLowerCase(Locale.ROOT).contains(address));
    }

    private AdminViews.Connection connection(long id) {
        ConnectionTable.Entry e = connections.get(id);
        if (e == null) {
            throw new Problem(404, "no connection " + id + " (it may have closed)");
        }
        return view(e, connections.sessions(List.of(e)).get(e), true);
    }

    private Map<String, Object> disconnect(long id) {
        ConnectionTable.Entry e = connections.get(id);
        if (e == null) {
            throw new Problem(404, "no connection " + id + " (it may have closed)");
        }
        log.info("client {} ({} over {} from {}) disconnected by an administrator", e.clientId(), e.protocol(),
                e.info().transport().label(), address(e));
        boolean told = false;
        for (Session s : connections.sessions(List.of(e)).get(e)) {
            // the adapter says goodbye in its protocol: MQTT 5 DISCONNECT 0x98, a STOMP ERROR frame
            if (broker.closeConnection(s, CloseReason.ADMINISTRATIVE)) {
                told = true;
                break;
            }
        }
        if (!told && e.traffic() != null && e.traffic().channel() != null) {
            e.traffic().channel().close();
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", id);
        out.put("clientId", e.clientId());
        out.put("disconnected", true);
        return out;
    }

    private AdminViews.Connection view(ConnectionTable.Entry e, List<Session> sessions, boolean detail) {
        List<AdminViews.SessionRef> refs = new ArrayList<>(sessions.size());
        List<AdminViews.SubscriptionView> subs = detail ? new ArrayList<>() : null;
        int subCount = 0;
        long queued = 0;
        long queuedBytes = 0;
        long inflight = 0;
        long window = 0;
        for (Session s : sessions) {
            refs.add(new AdminViews.SessionRef(s.clientId(), s.isPersistent(), expiry(s)));
            SubscriberQueue q = s.queue();
            queued += q.queuedReliable() + q.queuedQos0();
            queuedBytes += q.queuedBytes();
            inflight += q.inflightCount();
            window += q.window();
            for (Subscription sub : s.subscriptions()) {
                subCount++;
                if (subs != null) {
                    subs.add(view(sub));
                }
            }
        }
        ChannelTraffic t = e.traffic();
        return new AdminViews.Connection(e.number(), e.clientId(), e.protocol(), e.info().transport().label(),
                e.info().subprotocol() == null ? null : e.info().subprotocol().toString(), e.info().path(), address(e),
                Instant.ofEpochMilli(e.connectedAtMillis()).toString(), t == null ? 0 : t.bytesIn(),
                t == null ? 0 : t.bytesOut(), e.messagesIn(), e.messagesOut(), t != null && t.readsPaused(), refs, subCount, queued, queuedBytes,
                inflight, window, subs);
    }

    private static AdminViews.SubscriptionView view(Subscription s) {
        return new AdminViews.SubscriptionView(s.session().clientId(), s.filter(), s.shareGroup(), s.options().qos(),
                s.options().noLocal(), s.options().retainAsPublished(), s.options().retainHandling(),
                s.options().subscriptionId() == 0 ? null : s.options().subscriptionId());
    }

    private static String address(ConnectionTable.Entry e) {
        if (e.info().remote() instanceof InetSocketAddress a) {
            return a.getAddress() == null ? a.getHostString() + ":" + a.getPort()
                    : a.getAddress().getHostAddress() + ":" + a.getPort();
        }
        return String.valueOf(e.info().remote());
    }

    private static Long expiry(Session s) {
        return s.expiryIntervalSeconds() == Long.MAX_VALUE ? null : s.expiryIntervalSeconds();
    }

    // ---- sessions and subscriptions: paged in key order with the last key as cursor

    private AdminViews.Page<AdminViews.Session> sessions(QueryStringDecoder query) {
        String clientId = lower(param(query, "clientId"));
        String state = lower(param(query, "state"));
        if (state != null && !state.equals("online") && !state.equals("offline")) {
            throw new Problem(400, "state must be online or offline");
        }
        Predicate<Session> filter = s -> (clientId == null || s.clientId().toLowerCase(Locale.ROOT).contains(clientId))
                && (state == null || s.isOnline() == state.equals("online"));
        return sortedPage(broker.sessions(), Session::clientId, filter, param(query, "cursor"), limit(query), s -> {
            SubscriberQueue q = s.queue();
            return new AdminViews.Session(s.clientId(), s.isOnline(), s.isPersistent(), expiry(s),
                    s.subscriptions().size(), q.queuedReliable(), q.queuedBytes(), q.queuedQos0(), q.inflightCount(),
                    s.id().namespace(), q.overflowedTotal(), q.isOverflowing());
        });
    }

    private AdminViews.Page<AdminViews.SubscriptionView> subscriptions(QueryStringDecoder query) {
        String topic = param(query, "topic");
        String filterText = param(query, "filter");
        String clientId = param(query, "clientId");
        Iterable<Subscription> all;
        if (topic != null) {
            validTopic(topic);
            all = broker.trie().matchingSubscriptions(topic);
        } else {
            List<Subscription> list = new ArrayList<>();
            for (Session s : broker.sessions()) {
                list.addAll(s.subscriptions());
            }
            all = list;
        }
        Predicate<Subscription> filter = s -> (filterText == null || s.key().contains(filterText))
                && (clientId == null || s.session().clientId().contains(clientId));
        return sortedPage(all, s -> s.key() + '\u0000' + s.session().clientId(), filter, param(query, "cursor"),
                limit(query), AdminApi::view);
    }

    /**
     * The {@code limit} smallest keys after {@code cursor}, from an unordered source: one pass, keeping a
     * bounded sorted map, so a page costs one walk and no sort of the whole set.
     */
    private static <T, V> AdminViews.Page<V> sortedPage(Iterable<T> source, Function<T, String> key, Predicate<T> filter,
                                                       String cursor, int limit, Function<T, V> view) {
        TreeMap<String, T> smallest = new TreeMap<>();
        for (T item : source) {
            String k = key.apply(item);
            if ((cursor != null && k.compareTo(cursor) <= 0) || !filter.test(item)) {
                continue;
            }
            if (smallest.size() <= limit) {
                smallest.put(k, item);
            } else if (k.compareTo(smallest.lastKey()) < 0) {
                smallest.put(k, item);
                smallest.pollLastEntry();
            }
        }
        boolean more = smallest.size() > limit;
        if (more) {
            smallest.pollLastEntry();
        }
        List<V> items = new ArrayList<>(smallest.size());
        smallest.values().forEach(t -> items.add(view.apply(t)));
        return new AdminViews.Page<>(items, more ? smallest.lastKey() : null);
    }

    // ---- retained messages and the topic tree

    private Object retained(QueryStringDecoder query) {
        String topic = param(query, "topic");
        if (topic != null) {
            validTopic(topic);
            Message m = retainedAt(topic);
            if (m == null) {
                throw new Problem(404, "no retained message on " + topic);
            }
            return view(m, Integer.MAX_VALUE);
        }
        String prefix = param(query, "prefix");
        List<Message> found = new ArrayList<>();
        if (prefix == null || prefix.isEmpty()) {
            found.addAll(broker.retained().match("#"));
        } else {
            validTopic(prefix);
            found.addAll(broker.retained().match(prefix));
            found.addAll(broker.retained().match(prefix + "/#"));
        }
        Map<String, Message> unique = new LinkedHashMap<>();
        found.forEach(m -> unique.put(m.topic(), m));
        return sortedPage(unique.values(), Message::topic, m -> true, param(query, "cursor"), limit(query),
                m -> view(m, PREVIEW_BYTES));
    }

    private Map<String, Object> deleteRetained(QueryStringDecoder query) {
        String topic = param(query, "topic");
        if (topic == null) {
            throw new Problem(400, "name the retained message to delete with ?topic=");
        }
        validTopic(topic);
        if (retainedAt(topic) == null) {
            throw new Problem(404, "no retained message on " + topic);
        }
        // an empty retained payload clears the topic's retained message, as an MQTT client would (3.3.1.3)
        broker.retained().accept(Message.builder(topic).payload(new byte[0]).retain(true).build());
        log.info("retained message on {} deleted by an administrator", topic);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("topic", topic);
        out.put("deleted", true);
        return out;
    }

    private Message retainedAt(String topic) {
        for (Message m : broker.retained().match(topic)) {
            if (m.topic().equals(topic)) {
                return m;
            }
        }
        return null;
    }

    private AdminViews.Topics topics(QueryStringDecoder query) {
        String path = param(query, "path");
        path = path == null ? "" : path;
        if (!path.isEmpty()) {
            validTopic(path);
        }
        TopicRates.Node node = rates.node(path);
        Map<String, AdminViews.TopicNode> children = new TreeMap<>();
        Map<String, Boolean> deeper = new TreeMap<>();
        // children that hold retained messages, published since start or not
        int depth = path.isEmpty() ? 0 : path.split("/", -1).length;
        for (Message m : broker.retained().match(path.isEmpty() ? "#" : path + "/#")) {
            String[] levels = m.topic().split("/", -1);
            if (levels.length <= depth) {
                continue;
            }
            String name = levels[depth];
            boolean isLeaf = levels.length == depth + 1;
            if (isLeaf) {
                children.put(name, new AdminViews.TopicNode(name, m.topic(), 0, 0, false, view(m, PREVIEW_BYTES)));
            }
            if (!isLeaf) {
                deeper.put(name, true);
            }
        }
        if (node != null) {
            for (TopicRates.Node c : node.children()) {
                AdminViews.TopicNode r = children.get(c.name);
                children.put(c.name, new AdminViews.TopicNode(c.name, c.path, c.messages, c.perSecond,
                        !c.children().isEmpty(), r == null ? null : r.retained()));
            }
        }
        List<AdminViews.TopicNode> list = new ArrayList<>();
        for (Map.Entry<String, AdminViews.TopicNode> e : children.entrySet()) {
            AdminViews.TopicNode c = e.getValue();
            list.add(new AdminViews.TopicNode(c.name(), c.path(), c.messages(), c.perSecond(),
                    c.hasChildren() || deeper.containsKey(e.getKey()), c.retained()));
        }
        for (String name : deeper.keySet()) {
            if (!children.containsKey(name)) {
                list.add(new AdminViews.TopicNode(name, path.isEmpty() ? name : path + "/" + name, 0, 0, true, null));
            }
        }
        list.sort(Comparator.comparing(AdminViews.TopicNode::name));
        Message here = path.isEmpty() ? null : retainedAt(path);
        return new AdminViews.Topics(path, node == null ? 0 : node.messages, node == null ? 0 : node.perSecond,
                rates.otherTopicMessages(), here == null ? null : view(here, PREVIEW_BYTES), list);
    }

    private static AdminViews.Retained view(Message m, int maxBytes) {
        byte[] p = m.payload();
        boolean truncated = p.length > maxBytes;
        byte[] shown = truncated ? java.util.Arrays.copyOf(p, maxBytes) : p;
        String text = utf8(shown, truncated);
        long remaining = m.expiresAtMillis() == 0 ? -1 : m.remainingExpirySeconds(System.currentTimeMillis());
        return new AdminViews.Retained(m.topic(), m.qos(), p.length, text,
                text == null ? Base64.getEncoder().encodeToString(shown) : null, truncated, m.publisherId(),
                remaining < 0 ? null : remaining);
    }

    /** The payload as text when it is UTF-8 (a cut multi-byte character at the end of a preview is dropped). */
    private static String utf8(byte[] bytes, boolean cut) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            if (cut && bytes.length > 3) {
                for (int drop = 1; drop <= 3; drop++) {
                    String s = utf8(java.util.Arrays.copyOf(bytes, bytes.length - drop), false);
                    if (s != null) {
                        return s;
                    }
                }
            }
            return null;
        }
    }

    private static void validTopic(String topic) {
        try {
            TopicName.validate(topic);
        } catch (InvalidTopicException e) {
            throw new Problem(400, "not a topic name: " + e.getMessage());
        }
    }

    // ---- settings and refusals

    private List<AdminViews.Setting> settings() {
        List<AdminViews.Setting> out = new ArrayList<>();
        for (Setting<?> s : Settings.all()) {
            out.add(setting(s));
        }
        return out;
    }

    private <T> AdminViews.Setting setting(Setting<T> s) {
        T value = settings.get(s);
        T def = s.defaultValue();
        boolean secret = SECRET.matcher(s.name()).find();
        String shown = value == null ? null : s.format(value);
        boolean masked = secret && shown != null && !shown.isEmpty();
        return new AdminViews.Setting(s.name(), masked ? "********" : shown,
                masked || def == null ? null : s.format(def), masked, s.help());
    }

    /** Counts since start by reason: refused connections, dropped messages, disconnects, limit rejections. */
    private Map<String, Map<String, Long>> refusals() {
        Map<String, Map<String, Long>> out = new LinkedHashMap<>();
        out.put("refusals", byTag(metrics.get(), "sluice.connections.refused", "reason"));
        out.put("drops", byTag(metrics.get(), "sluice.messages.dropped", "reason"));
        out.put("disconnects", byTag(metrics.get(), "sluice.disconnects", "reason"));
        out.put("limitRejections", byTag(metrics.get(), "sluice.limit.rejections", "limit"));
        return out;
    }

    /** The sum of every meter named {@code name}, by the value of one tag. */
    static Map<String, Long> byTag(MeterRegistry metrics, String name, String tag) {
        Map<String, Long> out = new TreeMap<>();
        for (Meter m : metrics.find(name).meters()) {
            String key = m.getId().getTag(tag);
            if (key != null) {
                out.merge(key, (long) value(m), Long::sum);
            }
        }
        return out;
    }

    static double value(Meter m) {
        for (Measurement x : m.measure()) {
            return x.getValue();
        }
        return 0;
    }

    // ---- query parameters

    private int limit(QueryStringDecoder query) {
        String raw = param(query, "limit");
        if (raw == null) {
            return Math.min(DEFAULT_PAGE, maxPage);
        }
        long n = number(raw, "limit");
        if (n < 1 || n > maxPage) {
            throw new Problem(400, "limit must be between 1 and " + maxPage + " (--admin-max-page)");
        }
        return (int) n;
    }

    private static long number(String raw, String what) {
        try {
            long n = Long.parseLong(raw);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new Problem(400, what + " must be a non-negative whole number, not '" + raw + "'");
        }
    }

    private static String param(QueryStringDecoder query, String name) {
        List<String> v = query.parameters().get(name);
        return v == null || v.isEmpty() || v.get(0).isEmpty() ? null : v.get(0);
    }

    private static String lower(String s) {
        return s == null ? null : s.toLowerCase(Locale.ROOT);
    }
}
