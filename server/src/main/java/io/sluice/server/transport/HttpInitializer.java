package io.sluice.server.transport;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.ConnectionLog;
import io.sluice.server.events.Rule;
import io.sluice.server.events.RuleBreaches;
import io.sluice.server.events.Transport;

import java.util.List;
import java.util.function.Supplier;

/**
 * The pipeline of the HTTP + WebSocket port: HTTP/1.1 decoding with bounded headers and bodies, then the
 * {@link HttpRouter}. Everything on this port must reach a protocol or an endpoint within the handshake timeout.
 */
public final class HttpInitializer extends ChannelInitializer<SocketChannel> {
    /** The request gate's name; it sees HTTP requests only, so a WebSocket upgrade removes it. */
    static final String REQUEST_GATE = "http-gate";
    /** The security gates' names, followed by their index; HTTP requests only, like the request gate. */
    static final String SECURITY_GATE = "http-security-";

    private final TransportConfig config;
    private final HttpEndpoints endpoints;
    private final WebSocketUpgrader upgrader;
    private final Supplier<ChannelHandler> requestGate;
    private final List<Supplier<ChannelHandler>> securityGates;
    private final ConnectionEvents events;

    public HttpInitializer(ProtocolRegistry registry, HttpEndpoints endpoints, TransportConfig config) {
        this(registry, endpoints, config, null, new ConnectionLog());
    }

    /**
     * {@code requestGate}: a handler per connection put before the router, which sees every complete request
     * first and may answer it itself (connection admission refusing an upgrade with 429/503); null for none.
     */
    public HttpInitializer(ProtocolRegistry registry, HttpEndpoints endpoints, TransportConfig config,
                           Supplier<ChannelHandler> requestGate, ConnectionEvents events) {
        this(registry, endpoints, config, requestGate, events, List.of());
    }

    /**
     * {@code securityGates}: handlers put after the request gate and before the router, in order (the origin
     * check, CORS), which refuse or annotate a request before any endpoint or upgrade sees it.
     */
    public HttpInitializer(ProtocolRegistry registry, HttpEndpoints endpoints, TransportConfig config,
                           Supplier<ChannelHandler> requestGate, ConnectionEvents events,
                           List<Supplier<ChannelHandler>> securityGates) {
        this.securityGates = List.copyOf(securityGates);
        this.events = events;
        this.config = config;
        this.endpoints = endpoints;
        this.upgrader = new WebSocketUpgrader(registry, config);
        this.requestGate = requestGate;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        ConnectionReporter.attach(ch, Transport.WEBSOCKET, events);
        ch.pipeline()
                .addLast("handshake-timeout", new HandshakeTimeout(config.handshakeTimeoutMillis(), false))
                .addLast("http", new HttpServerCodec(new HttpDecoderConfig()
                        .setMaxInitialLineLength(4096)
                        .setMaxHeaderSize(config.maxHeaderSize())))
                .addLast("http-aggregator", new ReportingAggregator(config.maxContentLength()));
        if (requestGate != null) {
            ch.pipeline().addLast(REQUEST_GATE, requestGate.get());
        }
        for (int i = 0; i < securityGates.size(); i++) {
            ch.pipeline().addLast(SECURITY_GATE + i, securityGates.get(i).get());
        }
        ch.pipeline().addLast("http-router", new HttpRouter(endpoints, upgrader));
    }

    /** Netty's aggregator, which answers a body over the limit with 413; strict mode records the breach too. */
    private static final class ReportingAggregator extends HttpObjectAggregator {
        ReportingAggregator(int maxContentLength) {
            super(maxContentLength);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) throws Exception {
            if (oversized instanceof HttpRequest request) {
                RuleBreaches.report(ctx.channel(), Rule.HTTP_CONTENT_TOO_LARGE, "http", null,
                        "a body over " + maxContentLength() + " bytes (--http-max-content-length)", request);
            }
            super.handleOversizedMessage(ctx, oversized);
        }
    }
}
