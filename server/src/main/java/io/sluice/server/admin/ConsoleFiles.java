package io.sluice.server.admin;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.sluice.server.transport.HttpResponses;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The console's static files, built by the Maven build (console/, bundled by esbuild) into the jar under
 * {@code console/}, read into memory once and served at {@code /} and {@code /console/...}: no disk on the event
 * loop, nothing fetched from elsewhere. Anyone may load them; what they show comes from the admin API, which
 * decides who may see it.
 */
public final class ConsoleFiles {
    public static final String ROOT = "/";
    public static final String PREFIX = "/console/";
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8", "svg", "image/svg+xml", "png", "image/png", "map", "application/json");
    private static final String[] FILES = {"index.html", "console.js", "console.css"};

    private final Map<String, byte[]> files = new HashMap<>();

    public ConsoleFiles() {
        for (String name : FILES) {
            try (InputStream in = ConsoleFiles.class.getResourceAsStream("/console/" + name)) {
                if (in != null) {
                    files.put(name, in.readAllBytes());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the console's " + name + " from the jar", e);
            }
        }
    }

    /** The console was built into this jar (the build had Node.js). */
    public boolean present() {
        return files.containsKey("index.html");
    }

    public void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (!HttpMethod.GET.equals(request.method()) && !HttpMethod.HEAD.equals(request.method())) {
            HttpResponses.text(ctx, request, HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", "use GET\n");
            return;
        }
        String path = new QueryStringDecoder(request.uri()).path();
        String name = path.equals(ROOT) || path.equals(PREFIX) ? "index.html" : path.substring(PREFIX.length());
        byte[] body = files.get(name);
        if (body == null) {
            String why = present() ? "not found: " + path + "\n"
                    : "the console was not built into this jar: install Node.js 20+ with npm and run "
                    + "mvn -B -q -DskipTests package again (the admin API at /api/v1/ works without it)\n";
            HttpResponses.text(ctx, request, HttpResponseStatus.NOT_FOUND, "text/plain; charset=utf-8", why);
            return;
        }
        FullHttpResponse response = new DefaultFullHttpResponse(request.protocolVersion(), HttpResponseStatus.OK,
                HttpMethod.HEAD.equals(request.method()) ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        String ext = name.substring(name.lastIndexOf('.') + 1);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, TYPES.getOrDefault(ext, "application/octet-stream"))
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE)
                .set("X-Content-Type-Options", "nosniff")
                // the page loads only its own files and talks only to this broker (its WebSockets included)
                .set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; worker-src 'self' blob:; img-src 'self' data:; "
                        + "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
                .set("X-Frame-Options", "DENY");
        HttpUtil.setContentLength(response, body.length);
        if (HttpUtil.isKeepAlive(request)) {
            ctx.writeAndFlush(response);
        } else {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
