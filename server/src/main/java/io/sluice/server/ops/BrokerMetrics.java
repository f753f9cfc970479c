package io.sluice.server.ops;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.BrokerStats;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.events.Heartbeat;
import io.sluice.server.events.Limit;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Transport;

import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The broker's metrics, in a Micrometer {@link PrometheusMeterRegistry} scraped at {@code GET /metrics}.
 *
 * <p>Two kinds of source: the core's own {@link BrokerStats} counters and a {@link SessionCensus} taken at
 * scrape time are read by function meters (nothing is added to the publish path), and the adapters'
 * {@link ConnectionEvents} move LongAdders kept per label set, so a hot-path event is one add.
 * Every label has a small fixed set of values (protocol, transport, QoS, an enum reason): no client ids.
 *
 * <p>The registry is built at start-up, or with {@code --metrics-at-start false} (an embedded broker's default)
 * on the first scrape or admin request: Micrometer, its Prometheus registry and the JVM binders are a few
 * hundred classes a test's broker never needs. The counting goes on meanwhile (the adders are this class's, read
 * by function meters once the registry exists); only the delivery latency histogram starts at the build.
 */
public final class BrokerMetrics implements ConnectionEvents, AutoCloseable {
    private final Broker broker;
    /** How each meter joins the registry, in order; run when it is built, or at once once it is. */
    private final List<Consumer<MeterRegistry>> bindings = new ArrayList<>();
    private volatile PrometheusMeterRegistry registry;
    private AutoCloseable gcMetrics;
    private boolean closed;
    private final ConcurrentHashMap<String, ProtocolMeters> protocols = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicLong> openConnections = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, LongAdder> counters = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, LongAdder[]> deflate = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, LongAdder[]> delta = new ConcurrentHashMap<>();
    private final AtomicLong deflateMemory = new AtomicLong();
    private final AtomicLong connectedClients = new AtomicLong();
    private final AtomicLong maxConnectedClients = new AtomicLong();
    private final LongAdder connects = new LongAdder();
    private final LongAdder ownPublishes = new LongAdder();
    private final LongAdder ownPublishedBytes = new LongAdder();
    private volatile SessionCensus census = SessionCensus.EMPTY;

    /** With the registry built now. */
    public BrokerMetrics(Broker broker) {
        this(broker, true);
    }

    /** {@code atStart}: build the registry now; else on the first {@link #registry()} or scrape. */
    public BrokerMetrics(Broker broker, boolean atStart) {
        this.broker = broker;
        bind(this::bindBrokerMeters);
        if (atStart) {
            registry();
        }
    }

    private void bindBrokerMeters(MeterRegistry r) {
        BrokerStats stats = broker.stats();
        FunctionCounter.builder("sluice.messages.published", stats, s -> s.published.sum() - ownPublishes.sum())
                .description("application messages published into the broker by clients (all protocols)").register(r);
        FunctionCounter.builder("sluice.published", stats, s -> s.publishedBytes.sum() - ownPublishedBytes.sum())
                .baseUnit(BaseUnits.BYTES).description("payload bytes published by clients").register(r);
        FunctionCounter.builder("sluice.messages.delivered", stats, s -> s.delivered.sum())
                .description("deliveries handed to client connections (one per subscriber)").register(r);
        FunctionCounter.builder("sluice.delivered", stats, s -> s.deliveredBytes.sum())
                .baseUnit(BaseUnits.BYTES).description("payload bytes handed to client connections").register(r);
        for (BrokerStats.Drop drop : BrokerStats.Drop.values()) {
            FunctionCounter.builder("sluice.messages.dropped", stats, s -> s.drops(drop))
                    .tag("reason", drop.name().toLowerCase(Locale.ROOT))
                    .description("messages that did not reach one subscriber, by reason").register(r);
        }
        FunctionCounter.builder("sluice.backpressure.pauses", stats, s -> s.backpressurePauses.sum())
                .description("publishes that waited for room in a full subscriber queue (publisher paused)").register(r);
        FunctionCounter.builder("sluice.backpressure.paused", stats, s -> s.backpressurePausedNanos.sum() / 1e9)
                .baseUnit("seconds").description("total time publishers spent paused by backpressure").register(r);
        FunctionCounter.builder("sluice.shutdown.held.publishes", stats, s -> s.heldAtShutdown.sum())
                .description("publishes left unacknowledged during shutdown, for their publishers to resend").register(r);

        Gauge.builder("sluice.retained.messages", broker, b -> b.retained().size())
                .description("retained messages stored").register(r);
        Gauge.builder("sluice.retained", broker, b -> b.retained().bytes()).baseUnit(BaseUnits.BYTES)
                .description("bytes of retained messages (payloads and topics), bounded by --max-retained-bytes").register(r);
        FunctionCounter.builder("sluice.retained.refused", stats, s -> s.retainedRefused.sum())
                .description("retained messages not kept: the retained store was at --max-retained-messages or --max-retained-bytes").register(r);
        Gauge.builder("sluice.sessions.overflowing", stats, s -> s.sessionsOverflowing.sum())
                .description("offline sessions whose full queue is dropping what comes for them, until they return").register(r);
        Gauge.builder("sluice.subscriptions", broker, b -> b.trie().subscriptionCount())
                .description("subscriptions in the topic trie (shared group members included)").register(r);
        censusGauge(r, "sluice.sessions", Tags.of("state", "online"), SessionCensus::online, "sessions with a live connection");
        censusGauge(r, "sluice.sessions", Tags.of("state", "offline"), SessionCensus::offline, "persistent sessions without a connection");
        censusGauge(r, "sluice.queued.messages", Tags.empty(), SessionCensus::queuedReliable, "QoS 1/2 messages queued beyond the in-flight windows, all sessions");
        censusGauge(r, "sluice.queued", Tags.empty(), SessionCensus::queuedBytes, "bytes of QoS 1/2 messages queued, all sessions");
        censusGauge(r, "sluice.queued.qos0.messages", Tags.empty(), SessionCensus::queuedQos0, "QoS 0 messages buffered, all sessions");
        censusGauge(r, "sluice.inflight.messages", Tags.empty(), SessionCensus::inflight, "QoS 1/2 deliveries sent and not yet acknowledged, all sessions");
        bucketGauges(r, "sluice.sessions.by.queue.depth", SessionCensus.QUEUE_DEPTH_BOUNDS, SessionCensus::queueDepthBuckets,
                "sessions whose queued QoS 1/2 messages are at most le, now (cumulative, like histogram buckets)");
        bucketGauges(r, "sluice.sessions.by.inflight", SessionCensus.INFLIGHT_BOUNDS, SessionCensus::inflightBuckets,
                "sessions whose unacknowledged deliveries are at most le, now (cumulative, like histogram buckets)");

        Timer latency = Timer.builder("sluice.delivery.latency")
                .description("time from a message's arrival to its hand-over to a subscriber's connection")
                .serviceLevelObjectives(Duration.ofNanos(100_000), Duration.ofMillis(1), Duration.ofMillis(5),
                        Duration.ofMillis(10), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(500),
                        Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(30))
                .register(r);
        stats.observeLatency(nanos -> latency.record(nanos, TimeUnit.NANOSECONDS));

        Gauge.builder("sluice.ws.deflate.memory", deflateMemory, AtomicLong::get).baseUnit(BaseUnits.BYTES)
                .description("memory reserved by WebSocket deflate contexts kept between messages (bounded by ws-compression-memory)")
                .register(r);

        new JvmMemoryMetrics().bindTo(r);
        new JvmThreadMetrics().bindTo(r);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(r);
        gcMetrics = gc;
        new ProcessorMetrics().bindTo(r);
        new UptimeMetrics().bindTo(r);
        new FileDescriptorMetrics().bindTo(r);
    }

    /**
     * Add meters to the registry: now if it is built, else when it is. Another part of the server (the store,
     * security, operations) binds its meters here rather than asking for the registry at start-up.
     */
    public synchronized void bind(Consumer<MeterRegistry> binding) {
        bindings.add(binding);
        if (registry != null) {
            binding.accept(registry);
        }
    }

    /** The registry, built now (with every meter bound so far) if it was not yet. */
    public MeterRegistry registry() {
        PrometheusMeterRegistry r = registry;
        return r != null ? r : build();
    }

    /** Whether the registry is built (a live feed samples only then). */
    public boolean built() {
        return registry != null;
    }

    private synchronized PrometheusMeterRegistry build() {
        if (registry == null) {
            PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            for (Consumer<MeterRegistry> b : bindings) {
                b.accept(r);
            }
            registry = r;
        }
        return registry;
    }

    private void censusGauge(MeterRegistry r, String name, Tags tags, ToDoubleFunction<SessionCensus> f,
                             String description) {
        Gauge.builder(name, this, m -> f.applyAsDouble(m.census())).tags(tags).description(description).register(r);
    }

    private void bucketGauges(MeterRegistry r, String name, long[] bounds, Function<SessionCensus, long[]> buckets,
                              String description) {
        for (int i = 0; i <= bounds.length; i++) {
            int index = i;
            String le = i == bounds.length ? "+Inf" : Long.toString(bounds[i]);
            Gauge.builder(name, this, m -> buckets.apply(m.census())[index]).tag("le", le)
                    .description(description).register(r);
        }
    }

    /** The census the gauges report: the one the latest scrape took (see {@link #scrape}). */
    public SessionCensus census() {
        return census;
    }

    /** The Prometheus text exposition (format 0.0.4), or OpenMetrics when that is what the scraper accepts. */
    public String scrape(String acceptHeader) {
        // one walk over the sessions per scrape, shared by all the gauges it feeds
        census = SessionCensus.take(broker);
        registry();
        return registry.scrape(contentType(acceptHeader));
    }

    /** The content type {@link #scrape(String)} answers with for this Accept header. */
    public static String contentType(String acceptHeader) {
        if (acceptHeader != null && acceptHeader.contains("application/openmetrics-text")) {
            return "application/openmetrics-text; version=1.0.0; charset=utf-8";
        }
        return "text/plain; version=0.0.4; charset=utf-8";
    }

    // ---- numbers $SYS publishes

    /** Clients connected now, every protocol. */
    public long connectedClients() {
        return connectedClients.get();
    }

    public long maxConnectedClients() {
        return maxConnectedClients.get();
    }

    /** Connections accepted since start. */
    public long connectsTotal() {
        return connects.sum();
    }

    /** The broker's own messages ($SYS) are not counted as published by clients. */
    public void ownPublish(int bytes) {
        ownPublishes.increment();
        ownPublishedBytes.add(bytes);
    }

    public long clientPublished() {
        return broker.stats().published.sum() - ownPublishes.sum();
    }

    public long clientPublishedBytes() {
        return broker.stats().publishedBytes.sum() - ownPublishedBytes.sum();
    }

    // ---- events from the adapters

    @Override
    public void connected(String protocol, ConnectionInfo info, String clientId) {
        connection(protocol, info.transport()).incrementAndGet();
        counter("sluice.connects", "connections accepted (CONNECT answered with success)",
                "protocol", protocol, "transport", info.transport().label()).increment();
        connects.increment();
        long now = connectedClients.incrementAndGet();
        maxConnectedClients.accumulateAndGet(now, Math::max);
    }

    @Override
    public void disconnected(String protocol, ConnectionInfo info, String clientId, DisconnectReason reason) {
        connection(protocol, info.transport()).decrementAndGet();
        connectedClients.decrementAndGet();
        counter("sluice.disconnects", "accepted connections that ended, by reason",
                "protocol", protocol, "transport", info.transport().label(), "reason", reason.label()).increment();
    }

    @Override
    public void refused(Transport transport, SocketAddress remote, String protocol, String clientId, Refusal reason,
                        String detail) {
        if (protocol != null && reason.isAdmission() && reason != Refusal.OVERLOADED) {
            return; // counted by AdmissionHandler when the socket opened; the adapter only answered it
        }
        // OVERLOADED with a protocol: an HTTP-port socket accepted while overloaded is only marked (its plain
        // requests are served), so it counts where a reader or a sniffed protocol is refused
        counter("sluice.connections.refused", "connections refused before being accepted, by reason",
                "transport", transport == null ? "unknown" : transport.label(), "reason", reason.label()).increment();
    }

    @Override
    public void protocolError(String protocol, ConnectionInfo info, String clientId, String detail) {
        counter("sluice.protocol.errors", "connections closed for breaking their protocol",
                "protocol", protocol, "transport", info.transport().label()).increment();
    }

    @Override
    public void limitExceeded(String protocol, ConnectionInfo info, String clientId, Limit limit) {
        counter("sluice.limit.rejections", "requests rejected by a limit",
                "protocol", protocol, "limit", limit.label()).increment();
    }

    @Override
    public void messageIn(String protocol, int qos, int bytes) {
        ProtocolMeters m = meters(protocol);
        int q = clampQos(qos);
        m.messagesIn[q].increment();
        m.bytesIn[q].add(bytes);
    }

    @Override
    public void messageOut(String protocol, int qos, int bytes) {
        ProtocolMeters m = meters(protocol);
        int q = clampQos(qos);
        m.messagesOut[q].increment();
        m.bytesOut[q].add(bytes);
    }

    @Override
    public void messagesOut(String protocol, ConnectionInfo info, int qos, int count, long bytes) {
        ProtocolMeters m = meters(protocol);
        int q = clampQos(qos);
        m.messagesOut[q].add(count);
        m.bytesOut[q].add(bytes);
    }

    @Override
    public void heartbeat(String protocol, Heartbeat kind) {
        counter("sluice.heartbeats", "keep-alive exchanges: WebSocket ping/pong, MQTT PINGREQ, STOMP heart-beats",
                "protocol", protocol, "kind", kind.label()).increment();
    }

    @Override
    public void compressed(String protocol, int rawBytes, int wireBytes) {
        LongAdder[] c = deflate.get(protocol);
        if (c == null) {
            c = deflate.computeIfAbsent(protocol, p -> {
                LongAdder[] a = {new LongAdder(), new LongAdder()};
                bind(r -> {
                    FunctionCounter.builder("sluice.ws.deflate.before", a[0], LongAdder::sum).baseUnit(BaseUnits.BYTES)
                            .tag("protocol", p)
                            .description("WebSocket payload bytes sent on connections with permessage-deflate, before compression")
                            .register(r);
                    FunctionCounter.builder("sluice.ws.deflate.after", a[1], LongAdder::sum).baseUnit(BaseUnits.BYTES)
                            .tag("protocol", p)
                            .description("the same bytes as they left, after compression (small messages are sent as they are)")
                            .register(r);
                });
                return a;
            });
        }
        c[0].add(rawBytes);
        c[1].add(wireBytes);
    }

    @Override
    public void deltaSent(String protocol, int fullBytes, int sentBytes) {
        LongAdder[] c = delta.get(protocol);
        if (c == null) {
            c = delta.computeIfAbsent(protocol, p -> {
                LongAdder[] a = {new LongAdder(), new LongAdder(), new LongAdder()};
                bind(r -> {
                    FunctionCounter.builder("sluice.delta.before", a[0], LongAdder::sum).baseUnit(BaseUnits.BYTES)
                            .tag("protocol", p).description("payload bytes of messages to subscriptions that asked for deltas")
                            .register(r);
                    FunctionCounter.builder("sluice.delta.after", a[1], LongAdder::sum).baseUnit(BaseUnits.BYTES)
                            .tag("protocol", p).description("the same messages as sent: deltas, or in full")
                            .register(r);
                    FunctionCounter.builder("sluice.delta.messages", a[2], LongAdder::sum).tag("protocol", p)
                            .description("messages to subscriptions that asked for deltas which went as a delta")
                            .register(r);
                });
                return a;
            });
        }
        c[0].add(fullBytes);
        c[1].add(sentBytes);
        if (sentBytes != fullBytes) {
            c[2].increment();
        }
    }

    @Override
    public void compressionMemory(long deltaBytes) {
        deflateMemory.addAndGet(deltaBytes);
    }

    private static int clampQos(int qos) {
        return qos < 0 ? 0 : Math.min(qos, 2);
    }

    private AtomicLong connection(String protocol, Transport transport) {
        return openConnections.computeIfAbsent(protocol + '\0' + transport.label(), k -> {
            AtomicLong n = new AtomicLong();
            bind(r -> Gauge.builder("sluice.connections", n, AtomicLong::get)
                    .description("client connections open now (CONNECT accepted)")
                    .tag("protocol", protocol).tag("transport", transport.label()).register(r));
            return n;
        });
    }

    private LongAdder counter(String name, String description, String... tags) {
        String key = name + '\0' + String.join("\0", tags);
        LongAdder c = counters.get(key);
        if (c == null) {
            c = counters.computeIfAbsent(key, k -> {
                LongAdder a = new LongAdder();
                bind(r -> FunctionCounter.builder(name, a, LongAdder::sum).description(description).tags(tags).register(r));
                return a;
            });
        }
        return c;
    }

    private ProtocolMeters meters(String protocol) {
        ProtocolMeters m = protocols.get(protocol);
        return m != null ? m : protocols.computeIfAbsent(protocol, p -> new ProtocolMeters(this, p));
    }

    /** Counters by QoS for one protocol, indexed 0..2, so a message event is an array read and an add. */
    private static final class ProtocolMeters {
        final LongAdder[] messagesIn = adders();
        final LongAdder[] bytesIn = adders();
        final LongAdder[] messagesOut = adders();
        final LongAdder[] bytesOut = adders();

        ProtocolMeters(BrokerMetrics metrics, String protocol) {
            metrics.bind(r -> {
                for (int q = 0; q < 3; q++) {
                    Tags tags = Tags.of("protocol", protocol, "qos", Integer.toString(q));
                    FunctionCounter.builder("sluice.messages.received", messagesIn[q], LongAdder::sum).tags(tags)
                            .description("application messages received from clients").register(r);
                    FunctionCounter.builder("sluice.received", bytesIn[q], LongAdder::sum).baseUnit(BaseUnits.BYTES)
                            .tags(tags).description("payload bytes received from clients").register(r);
                    FunctionCounter.builder("sluice.messages.sent", messagesOut[q], LongAdder::sum).tags(tags)
                            .description("application messages sent to clients").register(r);
                    FunctionCounter.builder("sluice.sent", bytesOut[q], LongAdder::sum).baseUnit(BaseUnits.BYTES)
                            .tags(tags).description("payload bytes sent to clients").register(r);
                }
            });
        }

        private static LongAdder[] adders() {
            return new LongAdder[] {new LongAdder(), new LongAdder(), new LongAdder()};
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        broker.stats().observeLatency(nanos -> { });
        if (registry != null) {
            try {
                gcMetrics.close();
            } catch (Exception e) {
                // the GC listeners go with the registry either way
            }
            registry.close();
        }
    }
}
