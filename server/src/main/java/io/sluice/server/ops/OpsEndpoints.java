package io.sluice.server.ops;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The operator's HTTP endpoints on the HTTP port: {@code GET /metrics} (Prometheus text format, or OpenMetrics
 * when asked for), {@code GET /healthz} (200 while the process is alive) and {@code GET /readyz} (200 while
 * accepting traffic, 503 once shutdown has begun). Each answer is small and built on the event loop; the
 * scrape walks the sessions once (see {@link SessionCensus}).
 */
public final class OpsEndpoints {
    public static final String METRICS = "/metrics";
    public static final String HEALTHZ = "/healthz";
    public static final String READYZ = "/readyz";
    public static final List<String> PATHS = List.of(METRICS, HEALTHZ, READYZ);

    private final BrokerMetrics metrics;
    private final Readiness readiness;

    public OpsEndpoints(BrokerMetrics metrics, Readiness readiness) {
        this.metrics = metrics;
        this.readiness = readiness;
    }

    /** The answer to a request for one of {@link #PATHS} (query string ignored), or null for any other path. */
    public FullHttpResponse respond(HttpRequest request, ByteBufAllocator alloc) {
        String path = request.uri();
        int q = path.indexOf('?');
        if (q >= 0) {
            path = path.substring(0, q);
        }
        if (!PATHS.contains(path)) {
            return null;
        }
        HttpMethod method = request.method();
        if (!HttpMethod.GET.equals(method) && !HttpMethod.HEAD.equals(method)) {
            FullHttpResponse r = text(alloc, request, HttpResponseStatus.METHOD_NOT_ALLOWED, "use GET\n",
                    "text/plain; charset=utf-8");
            r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            return r;
        }
        return switch (path) {
            case METRICS -> {
                String accept = request.headers().get(HttpHeaderNames.ACCEPT);
                yield text(alloc, request, HttpResponseStatus.OK, metrics.scrape(accept), BrokerMetrics.contentType(accept));
            }
            case HEALTHZ -> readiness.isAlive()
                    ? text(alloc, request, HttpResponseStatus.OK, "ok\n", "text/plain; charset=utf-8")
                    : text(alloc, request, HttpResponseStatus.SERVICE_UNAVAILABLE, "stopped\n", "text/plain; charset=utf-8");
            default -> readiness.isReady()
                    ? text(alloc, request, HttpResponseStatus.OK, "ready\n", "text/plain; charset=utf-8")
                    : text(alloc, request, HttpResponseStatus.SERVICE_UNAVAILABLE,
                            readiness.state().name().toLowerCase() + "\n", "text/plain; charset=utf-8");
        };
    }

    private static FullHttpResponse text(ByteBufAllocator alloc, HttpRequest request, HttpResponseStatus status,
                                         String body, String contentType) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        boolean head = HttpMethod.HEAD.equals(request.method());
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                head ? alloc.buffer(0) : alloc.buffer(bytes.length).writeBytes(bytes));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
        return r;
    }
}
