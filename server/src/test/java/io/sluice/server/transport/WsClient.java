package io.sluice.server.transport;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The JDK's WebSocket client, with everything it receives queued as events a test can wait for. */
final class WsClient implements AutoCloseable {
    static final long WAIT_SECONDS = 20;

    sealed interface Event {
    }

    record Binary(String data) implements Event {
    }

    record Text(String data) implements Event {
    }

    record Pong(String data) implements Event {
    }

    record Closed(int status, String reason) implements Event {
    }

    record Failed(Throwable error) implements Event {
    }

    final WebSocket ws;
    final BlockingQueue<Event> events;
    final AtomicInteger pings;

    private WsClient(WebSocket ws, BlockingQueue<Event> events, AtomicInteger pings) {
        this.ws = ws;
        this.events = events;
        this.pings = pings;
    }

    static WsClient connect(int port, String path, String... subprotocols) throws Exception {
        BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        AtomicInteger pings = new AtomicInteger();
        WebSocket.Builder builder = HttpClient.newHttpClient().newWebSocketBuilder()
                .connectTimeout(Duration.ofSeconds(WAIT_SECONDS));
        if (subprotocols.length > 0) {
            builder.subprotocols(subprotocols[0], java.util.Arrays.copyOfRange(subprotocols, 1, subprotocols.length));
        }
        WebSocket ws = builder.buildAsync(URI.create("ws://127.0.0.1:" + port + path), new Collector(events, pings))
                .get(WAIT_SECONDS, TimeUnit.SECONDS);
        return new WsClient(ws, events, pings);
    }

    void binary(String data, boolean last) {
        ws.sendBinary(ByteBuffer.wrap(data.getBytes(StandardCharsets.UTF_8)), last).join();
    }

    void text(String data, boolean last) {
        ws.sendText(data, last).join();
    }

    Event next() throws InterruptedException {
        Event e = events.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        if (e == null) {
            throw new AssertionError("nothing received within " + WAIT_SECONDS + " s");
        }
        return e;
    }

    @Override
    public void close() {
        ws.abort();
    }

    private static final class Collector implements WebSocket.Listener {
        private final BlockingQueue<Event> events;
        private final AtomicInteger pings;
        private final ByteArrayOutputStream binary = new ByteArrayOutputStream();
        private final StringBuilder text = new StringBuilder();

        Collector(BlockingQueue<Event> events, AtomicInteger pings) {
            this.events = events;
            this.pings = pings;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            binary.writeBytes(bytes);
            if (last) {
                events.add(new Binary(binary.toString(StandardCharsets.UTF_8)));
                binary.reset();
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                events.add(new Text(text.toString()));
                text.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onPing(WebSocket ws, ByteBuffer message) {
            pings.incrementAndGet();
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onPong(WebSocket ws, ByteBuffer message) {
            events.add(new Pong(StandardCharsets.UTF_8.decode(message).toString()));
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            events.add(new Closed(statusCode, reason));
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            events.add(new Failed(error));
        }
    }
}
