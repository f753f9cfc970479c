package io.sluice.server.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.sluice.server.ops.BrokerMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.sluice.server.transport.HandshakeTimeout;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The console's live feed: once a second a {@link Sample} of the broker's metrics (read from the meter
 * registry in memory, not by scraping {@code /metrics}), kept for the last {@code historySeconds} so a page
 * opened now draws its charts at once, and pushed to every open {@code GET /api/v1/feed} as Server-Sent
 * Events. A reader whose socket is not writable skips samples instead of holding them in memory.
 */
final class LiveFeed implements AdminApi.LiveStream {
    private final BrokerMetrics meters;
    private MeterRegistry metrics;
    private final int historySize;
    private final ArrayDeque<Sample> history = new ArrayDeque<>();
    private final Set<Channel> readers = ConcurrentHashMap.newKeySet();
    private long previousIn = -1;
    private long previousOut;
    private long previousDrops;
    private long previousPauses;
    private long[] previousLatency;
    private long previousMillis;

    /** One second of the broker. Rates are per second over the interval since the previous sample. */
    record Sample(long time, Map<String, Map<String, Long>> connections, double messagesInPerSecond,
                  double messagesOutPerSecond, double dropsPerSecond, double backpressurePausesPerSecond,
                  Double p99LatencyMillis) {
    }

    LiveFeed(BrokerMetrics meters, int historySeconds) {
        this.meters = meters;
        this.historySize = historySeconds;
    }

    /** Take one sample and send it to every reader; on the admin timer, once a second. */
    void sample(long nowMillis) {
        if (!meters.built()) {
            return; // nobody has asked for metrics yet (a broker started with --metrics-at-start false)
        }
        metrics = meters.registry();
        long in = total("sluice.messages.received");
        long out = total("sluice.messages.sent");
        long drops = total("sluice.messages.dropped");
        long pauses = total("sluice.backpressure.pauses");
        Timer latency = metrics.find("sluice.delivery.latency").timer();
        HistogramSnapshot snapshot = latency == null ? null : latency.takeSnapshot();
        if (previousIn < 0) {
            remember(nowMillis, in, out, drops, pauses, snapshot);
            return;
        }
        double seconds = Math.max(1, nowMillis - previousMillis) / 1000.0;
        Sample s = new Sample(nowMillis, AdminApi.connectionsByProtocol(metrics), (in - previousIn) / seconds,
                (out - previousOut) / seconds, (drops - previousDrops) / seconds, (pauses - previousPauses) / seconds,
                p99(snapshot));
        remember(nowMillis, in, out, drops, pauses, snapshot);
        // under the lock, so a reader opening now gets this sample in its history or as an event, never both
        synchronized (this) {
            history.addLast(s);
            while (history.size() > historySize) {
                history.removeFirst();
            }
            String event = event("sample", s);
            if (event != null && !readers.isEmpty()) {
                ByteBuf bytes = Unpooled.unreleasableBuffer(Unpooled.copiedBuffer(event, StandardCharsets.UTF_8));
                for (Channel c : readers) {
                    if (c.isWritable()) {
                        c.writeAndFlush(new DefaultHttpContent(bytes.duplicate()));
                    }
                }
            }
        }
    }

    private void remember(long nowMillis, long in, long out, long drops, long pauses, HistogramSnapshot snapshot) {
        previousMillis = nowMillis;
        previousIn = in;
        previousOut = out;
        previousDrops = drops;
        previousPauses = pauses;
        previousLatency = snapshot == null ? null : counts(snapshot);
    }

    private static long[] counts(HistogramSnapshot snapshot) {
        CountAtBucket[] buckets = snapshot.histogramCounts();
        long[] counts = new long[buckets.length + 1];
        for (int i = 0; i < buckets.length; i++) {
            counts[i] = (long) buckets[i].count();
        }
        counts[buckets.length] = snapshot.count();
        return counts;
    }

    /**
     * The 99th percentile of the deliveries of the last interval, from the growth of the latency histogram's
     * cumulative buckets, interpolated within the bucket it falls in; null when nothing was delivered.
     */
    private Double p99(HistogramSnapshot snapshot) {
        if (snapshot == null || previousLatency == null) {
            return null;
        }
        CountAtBucket[] buckets = snapshot.histogramCounts();
        long[] now = counts(snapshot);
        if (now.length != previousLatency.length) {
            return null;
        }
        long total = now[buckets.length] - previousLatency[buckets.length];
        if (total <= 0) {
            return null;
        }
        double target = total * 0.99;
        double lowerBound = 0;
        long lowerCount = 0;
        for (int i = 0; i < buckets.length; i++) {
            long count = now[i] - previousLatency[i];
            double bound = buckets[i].bucket(TimeUnit.MILLISECONDS);
            if (count >= target) {
                double within = count == lowerCount ? 1 : (target - lowerCount) / (count - lowerCount);
                return lowerBound + within * (bound - lowerBound);
            }
            lowerBound = bound;
            lowerCount = count;
        }
        return lowerBound;
    }

    private long total(String name) {
        double sum = 0;
        for (Meter m : metrics.find(name).meters()) {
            sum += AdminApi.value(m);
        }
        return (long) sum;
    }

    private String event(String name, Object data) {
        try {
            return "event: " + name + "\ndata: " + AdminJson.mapper().writeValueAsString(data) + "\n\n";
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    @Override
    public void open(ChannelHandlerContext ctx, HttpRequest request) {
        meters.registry(); // a reader wants samples: from now on, whatever --metrics-at-start says
        HttpResponse response = new DefaultHttpResponse(request.protocolVersion(), HttpResponseStatus.OK);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        HttpUtil.setTransferEncodingChunked(response, true);
        Channel channel = ctx.channel();
        // a stream, not a request: the keep-alive clock of the HTTP port no longer applies
        ctx.pipeline().fireUserEventTriggered(HandshakeTimeout.ESTABLISHED);
        ctx.write(response);
        synchronized (this) {
            List<Sample> past = new ArrayList<>(history);
            String first = event("history", past);
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer(first == null ? "" : first,
                    StandardCharsets.UTF_8)));
            readers.add(channel);
        }
        channel.closeFuture().addListener((ChannelFutureListener) f -> readers.remove(channel));
    }

    void close() {
        for (Channel c : readers) {
            c.close();
        }
    }
}
