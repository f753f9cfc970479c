package io.sluice.server.admin;

import io.sluice.server.broker.Broker;
import io.sluice.server.config.Settings;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.ops.Operations;
import io.sluice.server.security.Security;
import io.sluice.server.transport.HttpEndpoints;
import io.sluice.server.events.Logs;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The admin API and the console of one broker, built from the settings. How the server wires it:
 * {@link #connectionEvents()} to the protocol modules beside the operations' events, {@link #trafficCounter()}
 * first in every socket's pipeline, {@link #register} on the HTTP endpoints, {@link #close()} when it stops.
 * Its own thread answers requests and samples the topic rates once a second.
 */
public final class Admin implements AutoCloseable {
    private static final org.slf4j.Logger log = Logs.get(Admin.class);
    /** How long a topic with no message keeps its place in the rate table. */
    private static final long TOPIC_IDLE_MILLIS = TimeUnit.MINUTES.toMillis(15);
    /** The live feed's memory: a console opened now shows the last 15 minutes. */
    private static final int FEED_HISTORY_SECONDS = 15 * 60;

    private final ConnectionTable connections;
    private final TopicRates rates;
    private final ThreadPoolExecutor worker;
    private final ScheduledExecutorService timer;
    private final AdminApi api;
    private final LiveFeed feed;
    private final Broker broker;
    private long lastSampleMillis = System.currentTimeMillis();

    public Admin(Settings settings, Broker broker, Operations ops, Security security,
                 Supplier<Map<String, InetSocketAddress>> listeners) {
        this.broker = broker;
        this.connections = new ConnectionTable(broker);
        this.rates = new TopicRates(settings.get(Settings.ADMIN_MAX_TOPICS), TOPIC_IDLE_MILLIS);
        // one thread, a short queue: an operator's clicks, never a reason to hold memory or an event loop
        this.worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(256),
                r -> daemon(r, "sluice-admin"));
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "sluice-admin-timer"));
        AdminAccess access = new AdminAccess(settings.get(Settings.ADMIN_API), security.authenticating(),
                Set.copyOf(settings.get(Settings.ADMIN_USERS)), security::login);
        this.api = new AdminApi(broker, settings, ops.metrics()::registry, connections, rates, access, worker,
                listeners, Operations.version());
        this.feed = new LiveFeed(ops.metrics(), FEED_HISTORY_SECONDS);
        api.feed(feed);
        if (settings.get(Settings.ADMIN_MAX_TOPICS) > 0) {
            broker.stats().observePublishes(rates::published);
        }
        timer.scheduleAtFixedRate(this::sample, 1, 1, TimeUnit.SECONDS);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private void sample() {
        try {
            long now = System.currentTimeMillis();
            rates.sample(now - lastSampleMillis, now);
            feed.sample(now);
            lastSampleMillis = now;
        } catch (RuntimeException e) {
            // a failed sample must not end the schedule: the next second tries again
            log.warn("admin sampling failed; the console's charts may show a gap", e);
        }
    }

    /** What the protocol adapters report to, beside the operations' events. */
    public ConnectionEvents connectionEvents() {
        return connections;
    }

    /** A new handler for the front of a new socket's pipeline. */
    public io.netty.channel.ChannelHandler trafficCounter() {
        return connections.newTrafficCounter();
    }

    public ConnectionTable connections() {
        return connections;
    }

    /** Serve the API under {@code /api/v1/} and the console at {@code /} and {@code /console/}. */
    public void register(HttpEndpoints http) {
        http.registerPrefix(AdminApi.PREFIX, api::handle);
        ConsoleFiles console = new ConsoleFiles();
        http.register(ConsoleFiles.ROOT, console::handle);
        http.registerPrefix(ConsoleFiles.PREFIX, console::handle);
    }

    @Override
    public void close() {
        broker.stats().observePublishes(m -> { });
        timer.shutdownNow();
        worker.shutdownNow();
        feed.close();
    }
}
