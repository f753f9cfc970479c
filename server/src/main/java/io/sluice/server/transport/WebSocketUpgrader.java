package io.sluice.server.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.Utf8FrameValidator;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.timeout.IdleStateHandler;
import io.sluice.protocol.ws.FramePayloadCodec;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Transport;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Carries out a WebSocket upgrade: asks the {@link SubprotocolNegotiator}, refuses with HTTP 400 (body naming the
 * supported subprotocols) or performs the handshake with Netty's handshaker, then turns the HTTP pipeline into a
 * WebSocket one:
 * <pre>
 *   [ws-idle] wsdecoder/wsencoder  [ws-inflate ws-deflate]  utf8  ws-control  ws-heartbeat  ws-payload  (protocol | ws-sniffer)
 * </pre>
 * Once the protocol is known, {@link ProtocolInstaller#assign} takes out what it will not use (MQTT: utf8,
 * ws-heartbeat and ws-idle).
 * The 101 response names the subprotocol the negotiator chose, whichever of several
 * {@code Sec-WebSocket-Protocol} headers offered it. A negotiated subprotocol is installed once the first bytes
 * do not contradict it ({@link ProtocolSniffer#expecting}); a connection served by its path gets its protocol at
 * once; one served by neither is sniffed. permessage-deflate is negotiated by {@link WebSocketCompression} when
 * the client offers it.
 * Frames are decoded and limited by Netty ({@code ws-max-frame-size}, close 1009; protocol violations get
 * their RFC 6455 close status); the protocol sees only bytes.
 */
public final class WebSocketUpgrader {
    private final SubprotocolNegotiator negotiator;
    private final ProtocolRegistry registry;
    private final TransportConfig config;
    private final WebSocketDecoderConfig decoderConfig;
    /** The same with RSV bits allowed, for connections that negotiated permessage-deflate. */
    private final WebSocketDecoderConfig compressedDecoderConfig;
    private final WebSocketCompression compression;

    public WebSocketUpgrader(ProtocolRegistry registry, TransportConfig config) {
        this.negotiator = new SubprotocolNegotiator(registry);
        this.registry = registry;
        this.config = config;
        this.decoderConfig = WebSocketDecoderConfig.newBuilder()
                .maxFramePayloadLength(config.maxFrameSize())
                .expectMaskedFrames(true)
                .allowExtensions(false)
                .closeOnProtocolViolation(true)
                .build();
        this.compressedDecoderConfig = decoderConfig.toBuilder().allowExtensions(true).build();
        this.compression = new WebSocketCompression(config.compression());
    }

    public static boolean isUpgrade(FullHttpRequest request) {
        String upgrade = request.headers().get(HttpHeaderNames.UPGRADE);
        return upgrade != null && upgrade.toLowerCase().contains("websocket");
    }

    /** Upgrade (or refuse) the request; {@code router} is the handler whose place the WebSocket handlers take. */
    public void upgrade(ChannelHandlerContext router, FullHttpRequest request) {
        Channel channel = router.channel();
        String path = new QueryStringDecoder(request.uri()).path();
        List<String> offered = request.headers().getAll(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL);
        SubprotocolNegotiator.Decision decision = negotiator.decide(offered, path);
        if (decision instanceof SubprotocolNegotiator.Refuse refuse) {
            ConnectionReporter.refused(channel, Refusal.BAD_HANDSHAKE,
                    "WebSocket upgrade to " + path + ": " + refuse.reason());
            HttpResponses.textAndClose(router, HttpResponseStatus.BAD_REQUEST, refuse.reason() + "\n");
            return;
        }
        SubprotocolNegotiator.Serve serve = decision instanceof SubprotocolNegotiator.Serve s ? s : null;
        if (offered.size() > 1) {
            // RFC 6455 section 11.3.4: several headers mean one comma list. Netty's handshaker reads only the
            // first, so it would answer without the subprotocol the negotiator chose from a later one.
            request.headers().set(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL, String.join(", ", offered));
        }
        String host = request.headers().get(HttpHeaderNames.HOST, "localhost");
        WebSocketCompression.Negotiated deflate = compression.negotiate(request.headers(), ConnectionReporter.events(channel));
        WebSocketServerHandshaker handshaker = new WebSocketServerHandshakerFactory("ws://" + host + request.uri(),
                serve == null ? null : serve.token(), deflate == null ? decoderConfig : compressedDecoderConfig)
                .newHandshaker(request);
        if (handshaker == null) {
            compression.release(deflate, ConnectionReporter.events(channel));
            ConnectionReporter.refused(channel, Refusal.UNSUPPORTED_VERSION,
                    "WebSocket upgrade to " + path + ": unsupported WebSocket version "
                    + request.headers().get(HttpHeaderNames.SEC_WEBSOCKET_VERSION));
            WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(channel)
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        HttpHeaders extensions = new DefaultHttpHeaders();
        if (deflate != null) {
            extensions.set(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS, deflate.responseHeader());
        }
        try {
            handshaker.handshake(channel, request, extensions, channel.newPromise())
                    .addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        } catch (WebSocketServerHandshakeException e) {
            compression.release(deflate, ConnectionReporter.events(channel));
            ConnectionReporter.refused(channel, Refusal.BAD_HANDSHAKE,
                    "WebSocket upgrade to " + path + ": " + e.getMessage());
            HttpResponses.textAndClose(router, HttpResponseStatus.BAD_REQUEST, e.getMessage() + "\n");
            return;
        }
        ChannelPipeline p = channel.pipeline();
        p.remove(router.handler());
        removeRequestGates(p);
        if (deflate != null) {
            compression.install(channel, deflate);
        }
        if (config.idleTimeoutMillis() > 0) {
            p.addBefore("wsdecoder", "ws-idle",
                    new IdleStateHandler(config.idleTimeoutMillis(), 0, 0, TimeUnit.MILLISECONDS));
        }
        p.addLast("utf8", new Utf8FrameValidator(true));
        p.addLast("ws-control", new WebSocketControl());
        p.addLast("ws-heartbeat", new WebSocketHeartbeat(config.pingIntervalMillis(), config.idleTimeoutMillis()));
        if (serve != null && serve.subprotocol() != null) {
            p.addLast("ws-payload", new FramePayloadCodec(serve.module().acceptsTextFrames()));
            p.addLast("ws-sniffer", ProtocolSniffer.expecting(registry, serve.module(), serve.subprotocol(), path,
                    config.sniffLimit()));
            ProtocolInstaller.assign(channel, serve.module());
        } else if (serve != null) {
            p.addLast("ws-payload", new FramePayloadCodec(serve.module().acceptsTextFrames()));
            ProtocolInstaller.install(channel, serve.module(),
                    new ConnectionInfo(Transport.WEBSOCKET, null, channel.remoteAddress(), path));
        } else {
            p.addLast("ws-payload", new FramePayloadCodec(true));
            p.addLast("ws-sniffer", new ProtocolSniffer(registry, path, config.sniffLimit()));
        }
    }

    /**
     * The gates in front of the router judge HTTP requests only, and the 101 has already passed them: after the
     * upgrade they would stay in every WebSocket's pipeline for its lifetime (a context and, for some, a handler
     * each), which idle connections pay for by the hundred thousand.
     */
    private static void removeRequestGates(ChannelPipeline p) {
        for (String name : p.names()) {
            if (name.equals(HttpInitializer.REQUEST_GATE) || name.startsWith(HttpInitializer.SECURITY_GATE)) {
                p.remove(name);
            }
        }
    }
}
