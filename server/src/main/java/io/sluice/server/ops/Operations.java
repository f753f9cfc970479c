package io.sluice.server.ops;

import io.micrometer.core.instrument.Gauge;
import io.netty.util.concurrent.EventExecutorGroup;
import io.sluice.server.broker.Broker;
import io.sluice.server.config.Settings;
import io.sluice.server.transport.ShedAnswer;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.ConnectionLog;
import io.sluice.server.events.Transport;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Everything operational around one broker, built from the settings: metrics and the connection log behind
 * one {@link ConnectionEvents}, connection admission, topic limits, $SYS, health and graceful shutdown.
 *
 * <p>How the server wires it: {@link #admissionHandler} first in every listener's pipeline; {@link #events()}
 * and {@link #topicLimits()} to the protocol modules; {@link #endpoints()} on the HTTP router;
 * {@link Readiness#ready()} once the listeners are bound; {@link #shutdown()} and then {@link #close()} when
 * the server closes (SIGTERM included), before the listeners and event loops stop.
 */
public final class Operations implements AutoCloseable {
    private final BrokerMetrics metrics;
    private final ConnectionLog log = new ConnectionLog();
    private final ConnectionEvents events;
    private final Admission admission;
    private final HandshakeBudget handshakes;
    private final long handshakeTimeout;
    private final TopicLimits topicLimits;
    private final Readiness readiness = new Readiness();
    private final OpsEndpoints endpoints;
    private final SysTopics sys;
    private final GracefulShutdown shutdown;
    private final ScheduledExecutorService timer;
    private boolean shutDown;

    private final EventLoopLag lag;

    private Operations(Settings settings, Broker broker, EventExecutorGroup workers) {
        this.metrics = new BrokerMetrics(broker, settings.get(Settings.METRICS_AT_START));
        this.events = ConnectionEvents.all(metrics, log);
        this.lag = workers == null ? null : new EventLoopLag(workers, EventLoopLag.PROBE_INTERVAL_MILLIS);
        this.admission = Admission.from(settings, lag == null ? () -> 0L : lag::nanos);
        this.handshakes = new HandshakeBudget(settings.get(Settings.MAX_PENDING_HANDSHAKES),
                settings.get(Settings.ACCEPT_BACKLOG));
        this.handshakeTimeout = settings.get(Settings.HANDSHAKE_TIMEOUT);
        this.topicLimits = TopicLimits.from(settings);
        this.endpoints = new OpsEndpoints(metrics, readiness);
        this.sys = new SysTopics(broker, metrics, version());
        this.shutdown = new GracefulShutdown(broker, admission, readiness, settings.get(Settings.SHUTDOWN_DRAIN));
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sluice-ops");
            t.setDaemon(true);
            return t;
        });
        metrics.bind(r -> Gauge.builder("sluice.sockets", admission, Admission::open)
                .description("sockets admitted and open now, on every listener (before and after CONNECT)")
                .register(r));
        metrics.bind(r -> Gauge.builder("sluice.handshakes.pending", handshakes, HandshakeBudget::pending)
                .description("connections on the I/O threads whose handshake (WebSocket upgrade, CONNECT) is not yet answered; at --max-pending-handshakes new ones wait")
                .register(r));
        metrics.bind(r -> Gauge.builder("sluice.handshakes.waiting", handshakes, HandshakeBudget::waiting)
                .description("connections accepted and waiting for a place among --max-pending-handshakes; at --accept-backlog the listeners pause accepting")
                .register(r));
        if (lag != null) {
            metrics.bind(r -> Gauge.builder("sluice.event.loop.lag", lag, EventLoopLag::seconds).baseUnit("seconds")
                    .description("how late the most delayed I/O thread runs its tasks now: past --overload-lag, new connections are refused")
                    .register(r));
        }
        sys.start(timer, settings.get(Settings.SYS_INTERVAL));
    }

    /**
     * Build and start (the $SYS timer, the lag probes on {@code workers}, the I/O threads whose delay admission
     * watches; null: none); not ready until the server calls {@code readiness().ready()}.
     */
    public static Operations start(Settings settings, Broker broker, EventExecutorGroup workers) {
        return new Operations(settings, broker, workers);
    }

    /** Without I/O threads to watch (tests of the operations alone): admission does not adapt to load. */
    public static Operations start(Settings settings, Broker broker) {
        return new Operations(settings, broker, null);
    }

    /** What adapters report to: metrics and the connection log. */
    public ConnectionEvents events() {
        return events;
    }

    public BrokerMetrics metrics() {
        return metrics;
    }

    public Admission admission() {
        return admission;
    }

    /** The first handler of a listener's pipeline; one instance per transport, shared by its connections. */
    public AdmissionHandler admissionHandler(Transport transport) {
        // refusals are counted here and logged where the protocol answers them, with the client id
        return new AdmissionHandler(admission, transport, metrics);
    }

    /**
     * On an MQTT or STOMP listener's server channel: its handshakes bounded by {@code max-pending-handshakes}, its
     * sockets refused by {@code shed} while the broker is overloaded (see {@link AcceptGate}). Call
     * {@link HandshakeBudget#pauses} with the bound server channel.
     */
    public AcceptGate acceptGate(Transport transport, ShedAnswer shed) {
        return new AcceptGate(admission, transport, metrics, handshakes, shed, handshakeTimeout);
    }

    /**
     * On the HTTP listener's server channel: its WebSocket upgrades bounded by {@code max-pending-handshakes} with
     * every other listener's handshakes (a plain request gives its place back as it is routed), sockets accepted
     * while overloaded kept and marked (see {@link AcceptGate}). Call {@link HandshakeBudget#pauses} with the bound
     * server channel.
     */
    public AcceptGate httpAcceptGate(Transport transport) {
        return new AcceptGate(admission, transport, metrics, handshakes, null, handshakeTimeout);
    }

    /** Handshakes between hand-over to an I/O thread and answer, on every listener, bounded by {@code max-pending-handshakes}. */
    public HandshakeBudget handshakes() {
        return handshakes;
    }

    /** Answers refused WebSocket upgrades; goes after the HTTP codec, before the upgrade handler. */
    public UpgradeRefusalHandler upgradeRefusalHandler() {
        return new UpgradeRefusalHandler(admission, log, metrics);
    }

    public TopicLimits topicLimits() {
        return topicLimits;
    }

    public Readiness readiness() {
        return readiness;
    }

    public OpsEndpoints endpoints() {
        return endpoints;
    }

    public SysTopics sys() {
        return sys;
    }

    /** Drain and close every connection (see {@link GracefulShutdown}); blocks; runs once. Not on an event loop. */
    public void shutdown() {
        shutdown(() -> { });
    }

    /** The same; {@code farewell} fires {@link ShutdownEvent} on every open connection when the drain is over. */
    public void shutdown(Runnable farewell) {
        synchronized (this) {
            if (shutDown) {
                return;
            }
            shutDown = true;
        }
        sys.close();
        shutdown.run(farewell);
    }

    @Override
    public void close() {
        if (lag != null) {
            lag.close();
        }
        sys.close();
        timer.shutdownNow();
        readiness.stopped();
        metrics.close();
    }

    /** The version of the running jar, from its Maven metadata; "dev" when run from classes. */
    public static String version() {
        try (InputStream in = Operations.class.getResourceAsStream("/META-INF/maven/io.sluice/sluice-server/pom.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "dev");
            }
        } catch (IOException e) {
            // fall through
        }
        return "dev";
    }
}
