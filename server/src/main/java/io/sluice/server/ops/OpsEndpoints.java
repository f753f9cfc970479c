package io.sluice.server.ops;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.sluice.server.transport.HttpResponses;

import java.util.List;
import java.util.Locale;

/**
 * The operator's HTTP endpoints on the HTTP port: {@code GET /metrics} (Prometheus text format, or OpenMetrics
 * when the scraper asks for it), {@code GET /healthz} (200 while the process is alive) and {@code GET /readyz}
 * (200 while accepting traffic, 503 once shutdown has begun, so load balancers stop sending clients before
 * connections close). The server registers {@link #handle} for each of {@link #PATHS}.
 */
public final class OpsEndpoints {
    public static final String METRICS = "/metrics";
    public static final String HEALTHZ = "/healthz";
    public static final String READYZ = "/readyz";
    public static final List<String> PATHS = List.of(METRICS, HEALTHZ, READYZ);
    private static final String TEXT = "text/plain; charset=utf-8";

    private final BrokerMetrics metrics;
    private final Readiness readiness;

    public OpsEndpoints(BrokerMetrics metrics, Readiness readiness) {
        this.metrics = metrics;
        this.readiness = readiness;
    }

    /** Answer one request for one of {@link #PATHS}, on the connection's event loop. */
    public void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (!HttpMethod.GET.equals(request.method())) {
            HttpResponses.text(ctx, request, HttpResponseStatus.METHOD_NOT_ALLOWED, TEXT, "use GET\n");
            return;
        }
        switch (new QueryStringDecoder(request.uri()).path()) {
            case METRICS -> {
                String accept = request.headers().get(HttpHeaderNames.ACCEPT);
                HttpResponses.text(ctx, request, HttpResponseStatus.OK, BrokerMetrics.contentType(accept),
                        metrics.scrape(accept));
            }
            case HEALTHZ -> HttpResponses.text(ctx, request,
                    readiness.isAlive() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, TEXT,
                    readiness.isAlive() ? "ok\n" : "stopped\n");
            case READYZ -> HttpResponses.text(ctx, request,
                    readiness.isReady() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, TEXT,
                    readiness.state().name().toLowerCase(Locale.ROOT) + "\n");
            default -> HttpResponses.text(ctx, request, HttpResponseStatus.NOT_FOUND, TEXT, "not found\n");
        }
    }
}
