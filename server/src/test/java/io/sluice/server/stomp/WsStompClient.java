package io.sluice.server.stomp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompSubframeAggregator;
import io.netty.handler.codec.stomp.StompSubframeDecoder;
import io.netty.handler.codec.stomp.StompSubframeEncoder;

import javax.net.ssl.SSLContext;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * STOMP over the JDK's WebSocket client (ws:// or wss://). Frames are written and read by Netty's STOMP codec (in
 * embedded channels); each one goes out as one WebSocket text (or binary) message, or several together in one.
 */
public final class WsStompClient implements AutoCloseable {
    final WebSocket ws;
    private final BlockingQueue<StompTestClient.Frame> frames = new LinkedBlockingQueue<>();
    private final EmbeddedChannel decoder = new EmbeddedChannel(new StompSubframeDecoder(64 * 1024, 64 * 1024),
            new StompSubframeAggregator(1 << 20));

    private WsStompClient(URI uri, SSLContext tls, String... subprotocols) throws Exception {
        HttpClient.Builder http = HttpClient.newBuilder();
        if (tls != null) {
            http.sslContext(tls);
        }
        WebSocket.Builder b = http.build().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(20));
        if (subprotocols.length > 0) {
            b.subprotocols(subprotocols[0], java.util.Arrays.copyOfRange(subprotocols, 1, subprotocols.length));
        }
        ws = b.buildAsync(uri, new Listener()).get(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    static WsStompClient connect(int port, String path, String... subprotocols) throws Exception {
        return new WsStompClient(URI.create("ws://127.0.0.1:" + port + path), null, subprotocols);
    }

    /** Over TLS, trusting what {@code tls} trusts: {@code wss://host:port/stomp}. */
    public static WsStompClient connect(URI uri, SSLContext tls, String... subprotocols) throws Exception {
        return new WsStompClient(uri, tls, subprotocols);
    }

    static byte[] encode(StompFrame... frames) {
        EmbeddedChannel encoder = new EmbeddedChannel(new StompSubframeEncoder());
        for (StompFrame f : frames) {
            encoder.writeOutbound(f);
        }
        ByteBuf all = Unpooled.buffer();
        ByteBuf b;
        while ((b = encoder.readOutbound()) != null) {
            all.writeBytes(b);
            b.release();
        }
        byte[] bytes = ByteBufUtil.getBytes(all);
        all.release();
        return bytes;
    }

    /** All the frames in one text message. */
    void sendText(StompFrame... frames) throws Exception {
        ws.sendText(new String(encode(frames), StandardCharsets.UTF_8), true).get(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    public void sendText(String raw) throws Exception {
        ws.sendText(raw, true).get(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /** All the frames in one binary message. */
    void sendBinary(StompFrame... frames) throws Exception {
        ws.sendBinary(ByteBuffer.wrap(encode(frames)), true).get(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    StompTestClient.Frame next(StompCommand expected) throws InterruptedException {
        StompTestClient.Frame f = frames.poll(StompTestClient.TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(f, "no frame within " + StompTestClient.TIMEOUT_SECONDS + " s");
        assertEquals(expected, f.command(), f.toString());
        return f;
    }

    /** Waits for the next frame and checks its command. */
    public void expect(StompCommand expected) throws InterruptedException {
        next(expected);
    }

    StompTestClient.Frame poll(long millis) throws InterruptedException {
        return frames.poll(millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        ws.abort();
        decoder.finishAndReleaseAll();
    }

    private synchronized void received(byte[] bytes) {
        decoder.writeInbound(Unpooled.wrappedBuffer(bytes));
        StompFrame f;
        while ((f = decoder.readInbound()) != null) {
            List<Map.Entry<String, String>> headers = new ArrayList<>();
            f.headers().forEach(e -> headers.add(Map.entry(e.getKey().toString(), e.getValue().toString())));
            frames.add(new StompTestClient.Frame(f.command(), headers, ByteBufUtil.getBytes(f.content())));
            f.release();
        }
    }

    private final class Listener implements WebSocket.Listener {
        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            received(data.toString().getBytes(StandardCharsets.UTF_8));
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            received(bytes);
            webSocket.request(1);
            return null;
        }
    }
}
