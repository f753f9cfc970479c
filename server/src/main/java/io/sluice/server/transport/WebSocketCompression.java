package io.sluice.server.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionData;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionFilter;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionFilterProvider;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionUtil;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketServerExtension;
import io.netty.handler.codec.http.websocketx.extensions.compression.PerMessageDeflateServerExtensionHandshaker;
import io.sluice.server.config.Settings;
import io.sluice.server.events.ConnectionEvents;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * permessage-deflate (RFC 7692) on the WebSockets of the HTTP port. Netty's
 * {@link PerMessageDeflateServerExtensionHandshaker} reads each offer and makes the codecs; this class decides
 * which offer to accept and at what memory cost, and puts the codecs in the pipeline.
 *
 * <p>A deflate context kept between messages ("context takeover", RFC 7692 section 7.1.1) is large: zlib at
 * window 15 and memory level 8 reserves 256 KB to compress, and a connection that receives a few kilobytes
 * touches all of it (measured RSS: 250-270 KB per compressing context, 27-51 KB per inflating one, with
 * {@code benchmarks.jar bandwidth --contexts}; docs/transport.md). So the contexts connections keep share one budget
 * ({@code ws-compression-memory}); a connection negotiated past it gets {@code server_no_context_takeover} (a
 * server may answer it unasked, section 7.1.1.1), so its compressing context lives only while one message is
 * compressed, one per I/O thread at a time. Its inflating context is kept unless the client offered
 * {@code client_no_context_takeover} (answering that unasked makes some clients, Netty's among them, fail the
 * handshake), and is counted; with no room even for that, the connection goes uncompressed.
 *
 * <p>The JDK's zlib cannot shrink its own window, so an offer that insists on {@code server_max_window_bits}
 * is declined (the client's next offer, or none, is used); {@code client_max_window_bits} is answered with
 * {@code ws-compression-client-window-bits}. Outgoing messages under {@code ws-compression-min-size} go out
 * uncompressed, which per-message deflate allows message by message (RSV1 clear, section 6).
 */
public final class WebSocketCompression {
    /** RSS of one compressing context once its window has filled (zlib, window 15, memory level 8). */
    static final long DEFLATE_CONTEXT_BYTES = 270 * 1024;
    /** RSS of one inflating context once its window has filled (a 32 KB window, zlib's state, Netty's buffers). */
    static final long INFLATE_CONTEXT_BYTES = 52 * 1024;

    private static final int INFLATE_SLACK = 64 * 1024;
    private static final String SERVER_NO_CONTEXT = "server_no_context_takeover";
    private static final String CLIENT_NO_CONTEXT = "client_no_context_takeover";

    /**
     * @param enabled           negotiate at all
     * @param minSize           smallest outgoing message compressed
     * @param level             deflate level, 1-9
     * @param contextTakeover   keep contexts between messages while the budget allows
     * @param clientWindowBits  client_max_window_bits answered to clients that offer the parameter
     * @param memoryBudget      bytes the kept contexts of all connections may use together
     * @param maxMessageSize    largest inflated incoming frame payload (the frame size limit applies after inflating too)
     */
    public record Config(boolean enabled, int minSize, int level, boolean contextTakeover, int clientWindowBits,
                         long memoryBudget, int maxMessageSize) {
        public static Config from(Settings s) {
            return new Config(s.get(Settings.WS_COMPRESSION), s.get(Settings.WS_COMPRESSION_MIN_SIZE),
                    s.get(Settings.WS_COMPRESSION_LEVEL), s.get(Settings.WS_COMPRESSION_CONTEXT_TAKEOVER),
                    s.get(Settings.WS_COMPRESSION_CLIENT_WINDOW_BITS), s.get(Settings.WS_COMPRESSION_MEMORY),
                    s.get(Settings.WS_MAX_FRAME_SIZE));
        }
    }

    /** An accepted offer: the codecs, the response header value, and the memory reserved for its contexts. */
    public record Negotiated(WebSocketServerExtension extension, String responseHeader, long reservedBytes) {
        public boolean contextTakeover() {
            return reservedBytes > 0;
        }
    }

    private final Config config;
    private final PerMessageDeflateServerExtensionHandshaker handshaker;
    private final AtomicLong reserved = new AtomicLong();

    public WebSocketCompression(Config config) {
        this.config = config;
        WebSocketExtensionFilter small = frame -> frame.content().readableBytes() < config.minSize();
        WebSocketExtensionFilterProvider filters = new WebSocketExtensionFilterProvider() {
            @Override
            public WebSocketExtensionFilter encoderFilter() {
                return small;
            }

            @Override
            public WebSocketExtensionFilter decoderFilter() {
                return WebSocketExtensionFilter.NEVER_SKIP;
            }
        };
        // allowServerWindowSize false: the JDK's zlib has a fixed window; server no-context allowed (how the
        // fallback past the budget is asked for), client no-context taken whenever the client offers it
        // Netty's inflater stops a bomb once its output buffer cannot grow, but where exactly depends on how the
        // buffer grew; CompressionMeter holds inflated frames to the exact limit, this only bounds the memory
        this.handshaker = new PerMessageDeflateServerExtensionHandshaker(config.level(), false,
                config.clientWindowBits(), true, true, filters, config.maxMessageSize() + INFLATE_SLACK);
    }

    /** Bytes reserved now by connections keeping their contexts. */
    public long reservedBytes() {
        return reserved.get();
    }

    /**
     * The first permessage-deflate offer of the request's {@code Sec-WebSocket-Extensions} that can be accepted,
     * with its contexts' memory reserved (release it with {@link #release} if the upgrade fails); null when
     * compression is off or nothing offered is acceptable.
     */
    public Negotiated negotiate(HttpHeaders request, ConnectionEvents events) {
        if (!config.enabled()) {
            return null;
        }
        List<String> lines = request.getAll(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS);
        if (lines.isEmpty()) {
            return null;
        }
        List<WebSocketExtensionData> offers;
        try {
            offers = WebSocketExtensionUtil.extractExtensions(String.join(",", lines));
        } catch (RuntimeException e) {
            return null; // an unreadable header: serve the WebSocket uncompressed
        }
        for (WebSocketExtensionData offer : offers) {
            try {
                WebSocketServerExtension ext = config.contextTakeover() ? handshaker.handshakeExtension(offer) : null;
                if (ext == null || !reserve(cost(ext.newReponseData()))) {
                    // past the budget (or context takeover off): the server keeps no compressing context; the
                    // client keeps its own unless it offered not to, as a client may refuse an answer imposing
                    // client_no_context_takeover unasked (Netty's does): its inflating context is then counted
                    ext = handshaker.handshakeExtension(withoutServerContextTakeover(offer));
                    if (ext == null || !reserve(cost(ext.newReponseData()))) {
                        continue; // no room even for that: this offer goes uncompressed
                    }
                }
                long cost = cost(ext.newReponseData());
                if (cost > 0) {
                    events.compressionMemory(cost);
                }
                return new Negotiated(ext, header(ext.newReponseData()), cost);
            } catch (RuntimeException e) {
                // a malformed parameter value: this offer is declined
            }
        }
        return null;
    }

    /** Put the codecs of an accepted offer after Netty's frame decoder; the memory is released when the channel closes. */
    public void install(Channel channel, Negotiated negotiated) {
        ChannelPipeline p = channel.pipeline();
        CompressionMeter meter = new CompressionMeter(config.maxMessageSize());
        p.addAfter("wsdecoder", "ws-deflate-wire", meter.wireSide())
                .addAfter("ws-deflate-wire", "ws-inflate", negotiated.extension().newExtensionDecoder())
                .addAfter("ws-inflate", "ws-deflate", negotiated.extension().newExtensionEncoder())
                .addAfter("ws-deflate", "ws-deflate-raw", meter.rawSide());
        if (negotiated.reservedBytes() > 0) {
            ConnectionEvents events = ConnectionReporter.events(channel);
            channel.closeFuture().addListener(f -> release(negotiated, events));
        }
    }

    /** Give back what {@link #negotiate} reserved (the upgrade failed, or the connection closed). */
    public void release(Negotiated negotiated, ConnectionEvents events) {
        if (negotiated != null && negotiated.reservedBytes() > 0) {
            reserved.addAndGet(-negotiated.reservedBytes());
            events.compressionMemory(-negotiated.reservedBytes());
        }
    }

    private boolean reserve(long bytes) {
        if (bytes == 0) {
            return true;
        }
        while (true) {
            long now = reserved.get();
            if (now + bytes > config.memoryBudget()) {
                return false;
            }
            if (reserved.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    /** The contexts an accepted offer keeps between messages: none in a direction without context takeover. */
    static long cost(WebSocketExtensionData response) {
        Map<String, String> p = response.parameters();
        return (p.containsKey(SERVER_NO_CONTEXT) ? 0 : DEFLATE_CONTEXT_BYTES)
                + (p.containsKey(CLIENT_NO_CONTEXT) ? 0 : INFLATE_CONTEXT_BYTES);
    }

    private static WebSocketExtensionData withoutServerContextTakeover(WebSocketExtensionData offer) {
        Map<String, String> p = new LinkedHashMap<>(offer.parameters());
        p.put(SERVER_NO_CONTEXT, null);
        return new WebSocketExtensionData(offer.name(), p);
    }

    /** The response's extension line, in RFC 7692's syntax: {@code permessage-deflate; name[=value]...}. */
    static String header(WebSocketExtensionData data) {
        StringBuilder sb = new StringBuilder(data.name());
        data.parameters().forEach((k, v) -> {
            sb.append("; ").append(k);
            if (v != null) {
                sb.append('=').append(v);
            }
        });
        return sb.toString();
    }
}
