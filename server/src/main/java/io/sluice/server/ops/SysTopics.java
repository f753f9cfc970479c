package io.sluice.server.ops;

import io.sluice.server.broker.Broker;
import io.sluice.server.broker.BrokerStats;
import io.sluice.server.broker.Message;
import io.sluice.server.events.Logs;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The {@code $SYS/broker/...} tree, under Mosquitto's names where Mosquitto has one, published through
 * {@link Broker#publish} as retained QoS 0 messages every {@code sys-interval}: so MQTT and STOMP subscribers
 * read them like any topic, a new subscriber gets the latest values at once, and a filter starting with a
 * wildcard ({@code #}, {@code +/...}) does not match them (MQTT 5 section 4.7.2). A value is published again
 * only when it changed. The messages are the broker's own: they are not counted as client traffic.
 */
public final class SysTopics implements AutoCloseable {
    public static final String PREFIX = "$SYS/broker/";
    private static final String[] WINDOWS = {"1min", "5min", "15min"};

    private final Broker broker;
    private final BrokerMetrics metrics;
    private final String version;
    private final long startNanos = System.nanoTime();
    private final Map<String, String> lastPublished = new HashMap<>();
    private final Map<String, LoadAverage> loads = new LinkedHashMap<>();
    private ScheduledFuture<?> task;
    /** In a cluster: the totals over every node alive ({@code $SYS/broker/cluster/...}); null for a single broker. */
    private volatile Supplier<Map<String, Long>> clusterTotals;

    public SysTopics(Broker broker, BrokerMetrics metrics, String version) {
        this.broker = broker;
        this.metrics = metrics;
        this.version = version;
        for (String name : new String[] {"messages/received", "messages/sent", "bytes/received", "bytes/sent",
                "publish/messages/received", "publish/messages/sent", "connections"}) {
            loads.put(name, new LoadAverage());
        }
    }

    /** Publish now and then every {@code intervalMillis} on the timer; 0 publishes nothing. */
    public void start(ScheduledExecutorService timer, long intervalMillis) {
        if (intervalMillis <= 0) {
            return;
        }
        task = timer.scheduleWithFixedDelay(this::publishSafely, 0, intervalMillis, TimeUnit.MILLISECONDS);
    }

    private void publishSafely() {
        try {
            publishNow();
        } catch (RuntimeException e) {
            Logs.get(SysTopics.class).warn("$SYS update failed (retrying next interval)", e);
        }
    }

    /** Compute every value and publish those that changed. One thread at a time (the timer's). */
    public synchronized void publishNow() {
        for (Map.Entry<String, String> e : values().entrySet()) {
            String topic = PREFIX + e.getKey();
            if (e.getValue().equals(lastPublished.get(topic))) {
                continue;
            }
            lastPublished.put(topic, e.getValue());
            byte[] payload = e.getValue().getBytes(StandardCharsets.UTF_8);
            metrics.ownPublish(payload.length);
            broker.publish(Message.builder(topic).payload(payload).qos(0).retain(true).build(), outcome -> { });
        }
    }

    /**
     * This node's counters that add up across a cluster, under their {@code $SYS/broker/} names: each node sends its
     * own to the others, which sum them into {@code $SYS/broker/cluster/...}. Cheap (no walk over the sessions).
     */
    public Map<String, Long> counters() {
        BrokerStats stats = broker.stats();
        long dropped = 0;
        for (BrokerStats.Drop d : BrokerStats.Drop.values()) {
            dropped += stats.drops(d);
        }
        Map<String, Long> c = new LinkedHashMap<>();
        c.put("clients/connected", metrics.connectedClients());
        c.put("messages/received", metrics.clientPublished());
        c.put("messages/sent", stats.delivered.sum());
        c.put("bytes/received", metrics.clientPublishedBytes());
        c.put("bytes/sent", stats.deliveredBytes.sum());
        c.put("publish/messages/dropped", dropped);
        c.put("subscriptions/count", (long) broker.trie().subscriptionCount());
        return c;
    }

    /** In a cluster, also publish {@code $SYS/broker/cluster/<name>}: the totals {@code totals} gives. */
    public void clusterTotals(Supplier<Map<String, Long>> totals) {
        this.clusterTotals = totals;
    }

    /** The tree, relative to {@code $SYS/broker/}. */
    Map<String, String> values() {
        BrokerStats stats = broker.stats();
        SessionCensus census = SessionCensus.take(broker);
        long received = metrics.clientPublished();
        long sent = stats.delivered.sum();
        long bytesReceived = metrics.clientPublishedBytes();
        long bytesSent = stats.deliveredBytes.sum();
        long dropped = 0;
        for (BrokerStats.Drop d : BrokerStats.Drop.values()) {
            dropped += stats.drops(d);
        }
        long connected = metrics.connectedClients();

        Map<String, String> v = new LinkedHashMap<>();
        v.put("version", "sluice version " + version);
        v.put("uptime", (System.nanoTime() - startNanos) / 1_000_000_000L + " seconds");
        v.put("clients/connected", Long.toString(connected));
        v.put("clients/active", Long.toString(connected));
        v.put("clients/disconnected", Long.toString(census.offline()));
        v.put("clients/inactive", Long.toString(census.offline()));
        v.put("clients/total", Long.toString(connected + census.offline()));
        v.put("clients/maximum", Long.toString(metrics.maxConnectedClients()));
        v.put("messages/received", Long.toString(received));
        v.put("messages/sent", Long.toString(sent));
        v.put("messages/stored", Long.toString(census.queuedReliable() + census.inflight() + broker.retained().size()));
        v.put("messages/inflight", Long.toString(census.inflight()));
        v.put("publish/messages/received", Long.toString(received));
        v.put("publish/messages/sent", Long.toString(sent));
        v.put("publish/messages/dropped", Long.toString(dropped));
        v.put("bytes/received", Long.toString(bytesReceived));
        v.put("bytes/sent", Long.toString(bytesSent));
        v.put("retained messages/count", Long.toString(broker.retained().size()));
        v.put("subscriptions/count", Long.toString(broker.trie().subscriptionCount()));
        v.put("store/messages/count", Long.toString(census.queuedReliable()));
        v.put("store/messages/bytes", Long.toString(census.queuedBytes()));

        long now = System.nanoTime();
        feed("messages/received", received, now, v);
        feed("messages/sent", sent, now, v);
        feed("bytes/received", bytesReceived, now, v);
        feed("bytes/sent", bytesSent, now, v);
        feed("publish/messages/received", received, now, v);
        feed("publish/messages/sent", sent, now, v);
        feed("connections", metrics.connectsTotal(), now, v);
        Supplier<Map<String, Long>> totals = clusterTotals;
        if (totals != null) {
            totals.get().forEach((k, n) -> v.put("cluster/" + k, Long.toString(n)));
        }
        return v;
    }

    private void feed(String name, long count, long now, Map<String, String> out) {
        LoadAverage load = loads.get(name);
        load.update(count, now);
        for (int i = 0; i < WINDOWS.length; i++) {
            out.put("load/" + name + "/" + WINDOWS[i], String.format(Locale.ROOT, "%.2f", load.average(i)));
        }
    }

    @Override
    public void close() {
        if (task != null) {
            task.cancel(false);
        }
    }
}
