package io.sluice.server.transport;

import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import io.sluice.server.ops.HandshakeBudget;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * WebSocket upgrades take their places in {@code max-pending-handshakes} with every other listener's handshakes: at
 * the limit, an upgrade waits (accepted, unanswered) until a handshake ends, and an upgraded connection holds its
 * place until its protocol answers (CONNACK); a plain HTTP request is no handshake and gives its place back as it is
 * routed, so a kept-alive operator's connection does not hold the door shut.
 */
class WebSocketHandshakeBudgetTest {
    private static final byte[] CONNECT_1 = {0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 2, 'w', '1'};
    private static final byte[] CONNECT_2 = {0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 2, 'w', '2'};
    private static final byte[] CONNECT_3 = {0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 2, 't', '3'};
    private static final byte[] CONNACK_ACCEPTED = {0x20, 2, 0, 0};
    @Test
    void anUpgradeAtTheLimitWaitsForAPlaceAndAPlainRequestGivesItsPlaceBack() throws Exception {
        SluiceServer server = SluiceServer.start(TransportTestServer.settings().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.MAX_PENDING_HANDSHAKES, 1));
        try {
            HandshakeBudget budget = server.operations().handshakes();
            int http = server.port("http");
            HttpClient client = HttpClient.newHttpClient();
            URI uri = URI.create("ws://127.0.0.1:" + http + "/mqtt");
            Frames firstFrames = new Frames();
            WebSocket first = client.newWebSocketBuilder().subprotocols("mqtt").buildAsync(uri, firstFrames)
                    .get(20, TimeUnit.SECONDS);
            assertEquals(1, budget.pending(), "upgraded, its CONNECT not answered yet: it holds the one place");
            Frames secondFrames = new Frames();
            CompletableFuture<WebSocket> second = client.newWebSocketBuilder().subprotocols("mqtt")
                    .buildAsync(uri, secondFrames);
            await(() -> budget.waiting() == 1, "the second upgrade never waited; pending " + budget.pending());
            assertFalse(second.isDone(), "not upgraded while the place is held");

            first.sendBinary(ByteBuffer.wrap(CONNECT_1), true).get(20, TimeUnit.SECONDS);
            assertArrayEquals(CONNACK_ACCEPTED, firstFrames.next());
            WebSocket upgraded = second.get(20, TimeUnit.SECONDS); // once the first was answered
            upgraded.sendBinary(ByteBuffer.wrap(CONNECT_2), true).get(20, TimeUnit.SECONDS);
            assertArrayEquals(CONNACK_ACCEPTED, secondFrames.next());
            await(() -> budget.pending() == 0 && budget.waiting() == 0, "places not given back");
            first.abort();
            upgraded.abort();

            try (Socket operator = new Socket("127.0.0.1", http);
                 Socket device = new Socket("127.0.0.1", server.port("mqtt"))) {
                operator.setSoTimeout(20_000);
                operator.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                assertTrue(head(operator.getInputStream()).startsWith("HTTP/1.1 200"));
                // the operator's connection stays open (keep-alive) without holding the place
                device.setSoTimeout(20_000);
                device.getOutputStream().write(CONNECT_3);
                assertArrayEquals(CONNACK_ACCEPTED, read(device.getInputStream(), 4));
            }
        } finally {
            server.close();
        }
    }

    /** The binary messages a JDK WebSocket receives, one whole message each. */
    private static final class Frames implements WebSocket.Listener {
        private final BlockingQueue<byte[]> messages = new LinkedBlockingQueue<>();
        private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            partial.writeBytes(b);
            if (last) {
                messages.add(partial.toByteArray());
                partial.reset();
            }
            ws.request(1);
            return null;
        }

        byte[] next() throws InterruptedException {
            byte[] m = messages.poll(20, TimeUnit.SECONDS);
            assertNotNull(m, "no message within 20 s");
            return m;
        }
    }

    private static String head(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (!out.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed inside the response head: " + out);
            }
            out.write(b);
        }
        return out.toString(StandardCharsets.US_ASCII);
    }

    private static byte[] read(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) {
            throw new IOException("closed after " + b.length + " bytes");
        }
        return b;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(10);
        }
    }
}
