package io.sluice.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.sluice.server.admin.Admin;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.BrokerConfig;
import io.sluice.server.broker.BrokerLimits;
import io.sluice.server.broker.MessageStore;
import io.sluice.server.broker.OfflineQueuePolicy;
import io.sluice.server.broker.QueueLimits;
import io.sluice.server.cluster.NatsCluster;
import io.sluice.server.cluster.NodeId;
import io.sluice.server.config.Settings;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.RuleBreaches;
import io.sluice.server.events.Transport;
import io.sluice.server.mqtt.MqttModule;
import io.sluice.server.ops.AcceptGate;
import io.sluice.server.ops.AdmissionHandler;
import io.sluice.server.ops.Operations;
import io.sluice.server.ops.OpsEndpoints;
import io.sluice.server.ops.ShutdownEvent;
import io.sluice.server.security.BindPolicy;
import io.sluice.server.security.Security;
import io.sluice.server.security.TlsContexts;
import io.sluice.server.security.TlsInitializer;
import io.sluice.server.sse.FallbackConfig;
import io.sluice.server.sse.HttpFallback;
import io.sluice.server.stomp.StompModule;
import io.sluice.server.store.RocksMessageStore;
import io.sluice.server.testkit.Testkit;
import io.sluice.server.testkit.TestkitEndpoints;
import io.sluice.server.transport.EventLoops;
import io.sluice.server.transport.HttpEndpoints;
import io.sluice.server.transport.HttpInitializer;
import io.sluice.server.transport.Listener;
import io.sluice.server.transport.ProtocolModule;
import io.sluice.server.transport.ProtocolRegistry;
import io.sluice.server.transport.ShedAnswer;
import io.sluice.server.transport.TcpProtocolInitializer;
import io.sluice.server.transport.TransportConfig;
import io.sluice.server.events.Logs;
import org.slf4j.Logger;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;

/**
 * A running broker: the core, its protocols and its listeners. The embedding API of tests, benchmarks and
 * {@link Main}:
 * <pre>
 *   try (SluiceServer server = SluiceServer.start(Settings.defaults().with(Settings.MQTT_PORT, 0))) {
 *       int port = server.port("mqtt");
 *   }
 * </pre>
 */
public final class SluiceServer implements AutoCloseable {
    private static final Logger log = Logs.get(SluiceServer.class);

    private final Settings settings;
    private final MessageStore store;
    private final Broker broker;
    private final Operations ops;
    private final Admin admin;
    private final Security security;
    private final ProtocolRegistry protocols = new ProtocolRegistry();
    private final HttpEndpoints http = new HttpEndpoints();
    private final EventLoops loops;
    private final ChannelGroup connections = new DefaultChannelGroup("sluice-connections", GlobalEventExecutor.INSTANCE);
    private final List<Channel> serverChannels = new ArrayList<>();
    private final Map<String, InetSocketAddress> bound = new LinkedHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Strict mode, traces, faults: null unless asked for (see {@link Testkit}). */
    private final Testkit testkit;
    /** The cluster on NATS, null without {@code --cluster-nats}. */
    private final NatsCluster cluster;

    private SluiceServer(Settings settings, Testkit testkit) {
        this.settings = settings;
        this.testkit = testkit;
        this.store = openStore(settings);
        try {
            this.loops = new EventLoops(settings.get(Settings.IO_THREADS), settings.get(Settings.NATIVE_TRANSPORT),
                    settings.get(Settings.IO_COALESCE));
            this.security = Security.from(settings);
            this.broker = new Broker(brokerConfig(settings), store, FallbackConfig.history(settings, store));
            this.ops = Operations.start(settings, broker, loops.workers());
            this.admin = new Admin(settings, broker, ops, security, this::listeners);
            this.cluster = joinCluster(settings, broker);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        if (store instanceof RocksMessageStore rocks) {
            ops.metrics().bind(rocks::bindMetrics);
        }
        ops.metrics().bind(security::bindMetrics);
        if (cluster != null) {
            // each node sends its $SYS counters to the others; every node publishes their totals under $SYS/broker/cluster
            cluster.counters(ops.sys()::counters);
            ops.sys().clusterTotals(cluster::totals);
            ops.metrics().bind(cluster::bindMetrics);
        }
        for (String path : OpsEndpoints.PATHS) {
            http.register(path, ops.endpoints()::handle);
        }
        admin.register(http);
        new HttpFallback(broker, settings, security, clientEvents(), ops.topicLimits(), ops.admission()).register(http);
        if (testkit != null && settings.get(Settings.FAULT_INJECTION)) {
            TestkitEndpoints.register(http, testkit);
        }
    }

    /** Start with the standard protocols; returns once every enabled listener is bound. */
    public static SluiceServer start(Settings settings) {
        return start(settings, null);
    }

    /** Start with the protocols {@code modules} makes (tests, embedding with custom protocols). */
    public static SluiceServer start(Settings settings,
                                     BiFunction<Broker, Settings, List<ProtocolModule>> modules) {
        return start(settings, modules, null);
    }

    /** The same with a test kit (not closed by this server: it may outlive it across a restart), or null. */
    static SluiceServer start(Settings settings, BiFunction<Broker, Settings, List<ProtocolModule>> modules,
                              Testkit testkit) {
        SluiceServer server = new SluiceServer(settings, testkit);
        try {
            (modules == null ? server.standardModules() : modules.apply(server.broker, settings))
                    .forEach(m -> server.protocols.register(testkit == null ? m : testkit.wrap(m)));
            // listening first, refusing clients, so /readyz answers 503 while a large store is read back
            server.ops.admission().starting(true);
            server.bindAll();
            server.broker.recover();
            if (server.cluster != null) {
                server.cluster.start();
            }
            server.ops.admission().starting(false);
            server.ops.readiness().ready();
            return server;
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** The protocols of a standard broker: the one place a protocol is switched on. */
    public static List<ProtocolModule> standardModules(Broker broker, Settings settings) {
        return List.of(new MqttModule(broker, settings), new StompModule(broker, settings));
    }

    /** The standard protocols, reporting connections and traffic to this server's operations. */
    private List<ProtocolModule> standardModules() {
        ConnectionEvents events = clientEvents();
        return List.of(new MqttModule(broker, settings, security, events),
                new StompModule(broker, settings, security, events));
    }

    /** Where client adapters report: the operations (metrics, log) and the admin API's connection table. */
    private ConnectionEvents clientEvents() {
        return ConnectionEvents.all(ops.events(), admin.connectionEvents());
    }

    /** The listening ports; another TCP protocol listener is one more line here. */
    private List<Listener> listeners(TransportConfig transport, ConnectionEvents events) {
        List<Listener> listeners = new ArrayList<>(List.of(
                new Listener("mqtt", Settings.MQTT_PORT, Transport.TCP,
                        new TcpProtocolInitializer(protocols, "mqtt", transport, events)),
                new Listener("http", Settings.HTTP_PORT, Transport.WEBSOCKET, httpInitializer(transport, events)),
                new Listener("stomp", Settings.STOMP_PORT, Transport.TCP,
                        new TcpProtocolInitializer(protocols, "stomp", transport, events))));
        TlsContexts tls = security.tls();
        if (tls != null) {
            // the same pipelines behind TLS: off until a certificate is configured
            String certUser = settings.get(Settings.TLS_CERT_USERNAME);
            listeners.add(new Listener("mqtts", Settings.MQTTS_PORT, Transport.TCP, new TlsInitializer(tls::mqtt, tls,
                    certUser, new TcpProtocolInitializer(protocols, "mqtt", transport, events))));
            listeners.add(new Listener("https", Settings.HTTPS_PORT, Transport.WEBSOCKET, new TlsInitializer(tls::https,
                    tls, certUser, httpInitializer(transport, events))));
            log.info("TLS by {}, client certificates: {}", tls.provider(), settings.get(Settings.TLS_CLIENT_AUTH));
        }
        return listeners;
    }

    private HttpInitializer httpInitializer(TransportConfig transport, ConnectionEvents events) {
        return new HttpInitializer(protocols, http, transport, ops::upgradeRefusalHandler, events, security.httpGates());
    }

    /** What the transport reports to: operations (metrics, connection log), and whether the server is going away. */
    private ConnectionEvents transportEvents() {
        return ConnectionEvents.all(ops.events(), new ConnectionEvents() {
            @Override
            public boolean goingAway() {
                return closed.get();
            }
        });
    }

    /**
     * Connect to the cluster's NATS servers when {@code --cluster-nats} names some, and hand the broker to it before
     * the store is read back (the recovered subscriptions are announced); null without a cluster.
     */
    private static NatsCluster joinCluster(Settings s, Broker broker) {
        if (s.get(Settings.CLUSTER_NATS).isEmpty()) {
            return null;
        }
        NatsCluster cluster = NatsCluster.connect(s, broker, NodeId.of(s));
        broker.cluster(cluster);
        return cluster;
    }

    /** The cluster this server is a node of, null when it is a single broker. */
    public NatsCluster cluster() {
        return cluster;
    }

    /** The message store {@code --persistence} names; a RocksDB store locks its {@code --data-dir}. */
    static MessageStore openStore(Settings s) {
        if (s.get(Settings.PERSISTENCE).equals("none")) {
            return MessageStore.NONE;
        }
        MessageStore store = RocksMessageStore.open(s.get(Settings.DATA_DIR), s.get(Settings.FSYNC).equals("batch"),
                s.get(Settings.STORE_LINGER_MICROS));
        log.info("message store: {}", store);
        return store;
    }

    static BrokerConfig brokerConfig(Settings s) {
        QueueLimits limits = new QueueLimits(s.get(Settings.MAX_QUEUED_MESSAGES), s.get(Settings.MAX_QUEUED_BYTES),
                s.get(Settings.INFLIGHT_WINDOW), s.get(Settings.MAX_QOS0_QUEUED), s.get(Settings.CONFLATE_FILTERS),
                s.get(Settings.LIVE_QUEUE_WINDOWS));
        BrokerLimits totals = new BrokerLimits(s.get(Settings.OFFLINE_WITHHOLD_TIMEOUT), s.get(Settings.MAX_SESSIONS),
                s.get(Settings.MAX_TOTAL_QUEUED_BYTES), s.get(Settings.MAX_RETAINED_MESSAGES),
                s.get(Settings.MAX_RETAINED_BYTES));
        return new BrokerConfig(limits, s.get(Settings.MATCH_CACHE_SIZE), s.get(Settings.STUCK_CONSUMER_TIMEOUT),
                OfflineQueuePolicy.valueOf(s.get(Settings.OFFLINE_QUEUE_FULL).toUpperCase(java.util.Locale.ROOT)), totals);
    }

    private void bindAll() {
        String host = BindPolicy.host(settings.get(Settings.BIND), security.authenticating(),
                settings.get(Settings.ALLOW_ANONYMOUS));
        for (Listener listener : listeners(TransportConfig.from(settings), transportEvents())) {
            int port = settings.get(listener.port());
            if (port < 0) {
                continue;
            }
            // admission first: limits, connection rate and shutdown are decided before any protocol work
            AdmissionHandler admission = ops.admissionHandler(listener.transport());
            AcceptGate gate = acceptGate(listener);
            ServerBootstrap bootstrap = new ServerBootstrap()
                    .group(loops.acceptors(), loops.workers())
                    .channel(loops.serverChannelType())
                    .handler(gate)
                    .option(ChannelOption.SO_BACKLOG, settings.get(Settings.ACCEPT_BACKLOG))
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .option(ChannelOption.ALLOCATOR, EventLoops.ALLOCATOR)
                    .childOption(ChannelOption.ALLOCATOR, EventLoops.ALLOCATOR)
                    .childOption(ChannelOption.RCVBUF_ALLOCATOR, EventLoops.RECEIVE_SIZES)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            connections.add(ch);
                            if (testkit != null && testkit.strict()) {
                                ch.attr(RuleBreaches.KEY).set(testkit); // HTTP requests report what they break
                            }
                            ch.pipeline().addLast("traffic", admin.trafficCounter());
                            ch.pipeline().addLast("admission", admission);
                            ch.pipeline().addLast(listener.initializer());
                        }
                    });
            Channel channel;
            try {
                channel = bootstrap.bind(host, port).syncUninterruptibly().channel();
            } catch (Exception e) {
                throw new IllegalStateException("cannot listen for " + listener.name() + " on " + host + ":" + port
                        + " (" + e.getMessage() + "); free the port or choose another with --" + listener.port().name(), e);
            }
            serverChannels.add(channel);
            ops.handshakes().pauses(channel);
            bound.put(listener.name(), (InetSocketAddress) channel.localAddress());
            log.info("listening for {} on {} ({})", listener.name(), channel.localAddress(), loops.kind());
        }
    }

    /**
     * A listener's admission at accept: every listener's handshakes share one budget; the HTTP port keeps sockets
     * accepted while overloaded (marked, so operators' requests are served and upgrades refused); a protocol port
     * refuses in its protocol while overloaded, a TLS port unanswered (an answer would cost a TLS handshake).
     */
    private AcceptGate acceptGate(Listener listener) {
        if (listener.transport() == Transport.WEBSOCKET) {
            return ops.httpAcceptGate(listener.transport());
        }
        ProtocolModule module = listener.initializer() instanceof TcpProtocolInitializer tcp
                ? protocols.byName(tcp.protocol()).orElse(null) : null;
        return ops.acceptGate(listener.transport(), new ShedAnswer(loops.refusals(), module,
                settings.get(Settings.MAX_PENDING_HANDSHAKES)));
    }

    /** The bound port of a listener ("mqtt", "http", ...), -1 when it is disabled. */
    public int port(String listener) {
        InetSocketAddress a = bound.get(listener);
        return a == null ? -1 : a.getPort();
    }

    /** Every bound listener and its address, in listener order. */
    public Map<String, InetSocketAddress> listeners() {
        return Collections.unmodifiableMap(bound);
    }

    public Broker broker() {
        return broker;
    }

    public ProtocolRegistry protocols() {
        return protocols;
    }

    /** The plain HTTP paths of the HTTP port (metrics, health, SSE register here). */
    public HttpEndpoints http() {
        return http;
    }

    /** Every open client connection, on every listener. */
    public ChannelGroup connections() {
        return connections;
    }

    public Settings settings() {
        return settings;
    }

    /** Authentication, topic rules, the audit log: what every protocol and HTTP endpoint asks. */
    public Security security() {
        return security;
    }

    /** Metrics, admission, $SYS, readiness: the server's operations. */
    public Operations operations() {
        return ops;
    }

    /**
     * Shut down gracefully (see {@link io.sluice.server.ops.GracefulShutdown}): refuse new connections and
     * report not ready, let in-flight QoS 1/2 deliveries drain for up to {@code shutdown-drain}, tell every
     * client why (MQTT 5 DISCONNECT 0x8B, STOMP ERROR, WebSocket 1001); then stop listening, stop the I/O
     * threads and close the core. Idempotent; SIGTERM runs it too.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        ops.shutdown(() -> connections.forEach(ch -> ch.pipeline().fireUserEventTriggered(ShutdownEvent.INSTANCE)));
        for (Channel c : serverChannels) {
            c.close().awaitUninterruptibly();
        }
        connections.close().awaitUninterruptibly();
        loops.shutdown();
        if (cluster != null) {
            cluster.close();
        }
        admin.close();
        ops.close();
        broker.close();
        store.close();
        security.close();
        log.info("stopped");
    }
}
