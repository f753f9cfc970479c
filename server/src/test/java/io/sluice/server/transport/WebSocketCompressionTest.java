package io.sluice.server.transport;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtension;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionUtil;
import io.netty.handler.codec.http.websocketx.extensions.compression.PerMessageDeflateClientExtensionHandshaker;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.UnaryOperator;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * permessage-deflate (RFC 7692) checked on the wire: the extension line of the 101, RSV1 on the frames, and
 * payloads inflated by the JDK's own zlib (not Netty's), both directions; the fallbacks and the limits.
 */
class WebSocketCompressionTest {
    private static final int RSV1 = WebSocketExtension.RSV1;
    private static final byte[] TAIL = {0, 0, (byte) 0xff, (byte) 0xff};
    private static final String OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits";

    /** A line that compresses well and is over the default smallest size worth compressing. */
    private static String document(int n) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < 40; i++) {
            sb.append("\"field").append(i).append("\":\"value ").append(i % 7).append("\",");
        }
        return sb.append("\"n\":").append(n).append("}").toString();
    }

    @Test
    void anOfferIsAcceptedAndBothDirectionsCompress() throws Exception {
        try (SluiceServer server = TransportTestServer.start();
             RawWebSocket ws = RawWebSocket.connect(server.port("http"))) {
            String head = ws.upgrade("/mqtt", OFFER);
            assertTrue(head.startsWith("HTTP/1.1 101"), head);
            assertEquals("permessage-deflate", extensionLine(head), head);

            Deflater deflater = new Deflater(6, true);
            Inflater inflater = new Inflater(true);
            for (int n = 0; n < 3; n++) { // context takeover both ways: each message refers to the ones before
                String line = document(n);
                ws.send(new BinaryWebSocketFrame(true, RSV1, Unpooled.wrappedBuffer(deflate(deflater, line + "\n"))));
                WebSocketFrame reply = ws.read();
                assertEquals(RSV1, reply.rsv(), "a reply over the smallest size is compressed");
                byte[] wire = ByteBufUtil.getBytes(reply.content());
                reply.release();
                assertEquals("mqtt:" + line + "\n", inflate(inflater, wire));
                assertTrue(wire.length < line.length() / 3, "compressed to " + wire.length + " of " + line.length());
            }

            ws.send(new BinaryWebSocketFrame(Unpooled.copiedBuffer("short\n", StandardCharsets.UTF_8)));
            WebSocketFrame small = ws.read();
            assertEquals(0, small.rsv(), "a message under ws-compression-min-size goes out as it is");
            assertEquals("mqtt:short\n", small.content().toString(StandardCharsets.UTF_8));
            small.release();
        }
    }

    @Test
    void withoutAnOfferOrWithCompressionOffFramesAreNotCompressedAndRsv1IsAViolation() throws Exception {
        for (UnaryOperator<Settings> s : Arrays.<UnaryOperator<Settings>>asList(x -> x,
                x -> x.with(Settings.WS_COMPRESSION, false))) {
            try (SluiceServer server = TransportTestServer.start(s);
                 RawWebSocket ws = RawWebSocket.connect(server.port("http"))) {
                boolean off = !server.settings().get(Settings.WS_COMPRESSION);
                String head = off ? ws.upgrade("/mqtt", OFFER) : ws.upgrade("/mqtt");
                assertTrue(head.startsWith("HTTP/1.1 101"), head);
                assertNull(extensionLine(head), head);
                String line = document(1);
                ws.send(new BinaryWebSocketFrame(Unpooled.copiedBuffer(line + "\n", StandardCharsets.UTF_8)));
                WebSocketFrame reply = ws.read();
                assertEquals(0, reply.rsv());
                assertEquals("mqtt:" + line + "\n", reply.content().toString(StandardCharsets.UTF_8));
                reply.release();
                ws.send(new BinaryWebSocketFrame(true, RSV1,
                        Unpooled.wrappedBuffer(deflate(new Deflater(6, true), line + "\n"))));
                assertEquals(1002, closeStatus(ws), "RSV1 without a negotiated extension (RFC 6455 section 5.2)");
            }
        }
    }

    @Test
    void anOfferTheServerCannotHonourIsDeclinedAndTheNextOneTaken() throws Exception {
        try (SluiceServer server = TransportTestServer.start()) {
            try (RawWebSocket ws = RawWebSocket.connect(server.port("http"))) {
                String head = ws.upgrade("/mqtt", "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10");
                assertTrue(head.startsWith("HTTP/1.1 101"), head);
                assertNull(extensionLine(head), "the JDK's zlib cannot shrink its window: " + head);
            }
            try (RawWebSocket ws = RawWebSocket.connect(server.port("http"))) {
                String head = ws.upgrade("/mqtt", "Sec-WebSocket-Extensions: x-unknown, "
                        + "permessage-deflate; server_max_window_bits=10, permessage-deflate; client_max_window_bits",
                        "Sec-WebSocket-Extensions: permessage-deflate");
                assertTrue(head.startsWith("HTTP/1.1 101"), head);
                assertEquals("permessage-deflate", extensionLine(head), head);
            }
            try (RawWebSocket ws = RawWebSocket.connect(server.port("http"))) {
                String head = ws.upgrade("/mqtt", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99");
                assertTrue(head.startsWith("HTTP/1.1 101"), head);
                assertNull(extensionLine(head), "an out-of-range parameter declines the offer: " + head);
            }
        }
    }

    @Test
    void pastTheMemoryBudgetConnectionsCompressWithoutContextTakeoverThenNotAtAll() throws Exception {
        long deflate = WebSocketCompression.DEFLATE_CONTEXT_BYTES;
        long inflate = WebSocketCompression.INFLATE_CONTEXT_BYTES;
        // room for one connection keeping both contexts, and one more inflating context
        try (SluiceServer server = TransportTestServer.start(s -> s.with(Settings.WS_COMPRESSION_MEMORY, deflate + 2 * inflate))) {
            int port = server.port("http");
            RawWebSocket first = RawWebSocket.connect(port);
            assertEquals("permessage-deflate", extensionLine(first.upgrade("/mqtt", OFFER)));
            assertEquals(deflate + inflate, memoryGauge(server));
            try (RawWebSocket second = RawWebSocket.connect(port);
                 RawWebSocket third = RawWebSocket.connect(port);
                 RawWebSocket fourth = RawWebSocket.connect(port)) {
                // past the budget: no compressing context kept; the client's inflating one is kept and counted, as
                // answering client_no_context_takeover unasked makes some clients fail the handshake
                String answer = extensionLine(second.upgrade("/mqtt", OFFER));
                assertEquals("permessage-deflate; server_no_context_takeover", answer);
                assertNotNull(new PerMessageDeflateClientExtensionHandshaker().handshakeExtension(
                        WebSocketExtensionUtil.extractExtensions(answer).get(0)), "Netty's client takes the answer");
                assertEquals(deflate + 2 * inflate, memoryGauge(server));
                // no room left even for that: uncompressed
                assertNull(extensionLine(third.upgrade("/mqtt", OFFER)));
                // unless the client offers to keep no context itself: then nothing is kept at all
                String line = extensionLine(fourth.upgrade("/mqtt",
                        "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover"));
                assertNotNull(line);
                assertTrue(line.contains("server_no_context_takeover") && line.contains("client_no_context_takeover"), line);
                assertEquals(deflate + 2 * inflate, memoryGauge(server));
                // without context takeover every message inflates on its own, from a fresh inflater
                for (int n = 0; n < 2; n++) {
                    String doc = document(n);
                    fourth.send(new BinaryWebSocketFrame(true, RSV1,
                            Unpooled.wrappedBuffer(deflate(new Deflater(6, true), doc + "\n"))));
                    WebSocketFrame reply = fourth.read();
                    assertEquals(RSV1, reply.rsv());
                    assertEquals("mqtt:" + doc + "\n", inflate(new Inflater(true), ByteBufUtil.getBytes(reply.content())));
                    reply.release();
                }
            }
            first.close();
            long deadline = System.nanoTime() + WsClient.WAIT_SECONDS * 1_000_000_000L;
            while (memoryGauge(server) != 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, memoryGauge(server), "closed connections give their contexts' memory back");
            try (RawWebSocket again = RawWebSocket.connect(port)) {
                assertEquals("permessage-deflate", extensionLine(again.upgrade("/mqtt", OFFER)));
            }
        }
    }

    @Test
    void contextTakeoverOffMeansNoCompressingContextForAnyone() throws Exception {
        try (SluiceServer server = TransportTestServer.start(s -> s.with(Settings.WS_COMPRESSION_CONTEXT_TAKEOVER, false));
             RawWebSocket ws = RawWebSocket.connect(server.port("http"))) {
            assertEquals("permessage-deflate; server_no_context_takeover", extensionLine(ws.upgrade("/stomp", OFFER)));
            assertEquals(WebSocketCompression.INFLATE_CONTEXT_BYTES, memoryGauge(server));
        }
    }

    @Test
    void aMessageInflatingPastTheFrameLimitClosesWith1009AndOneAtTheLimitPasses() throws Exception {
        int limit = 4096;
        try (SluiceServer server = TransportTestServer.start(s -> s.with(Settings.WS_MAX_FRAME_SIZE, limit))) {
            byte[] atLimit = new byte[limit];
            Arrays.fill(atLimit, (byte) 'a');
            atLimit[limit - 1] = '\n';
            try (RawWebSocket ws = RawWebSocket.connect(server.port("http"))) {
                extensionLine(ws.upgrade("/mqtt", OFFER));
                ws.send(new BinaryWebSocketFrame(true, RSV1,
                        Unpooled.wrappedBuffer(deflate(new Deflater(6, true), new String(atLimit, StandardCharsets.US_ASCII)))));
                WebSocketFrame reply = ws.read();
                assertInstanceOf(BinaryWebSocketFrame.class, reply, () -> "a message inflating to the limit passes: " + (reply instanceof CloseWebSocketFrame c ? c.statusCode() + " " + c.reasonText() : reply));
                assertEquals("mqtt:" + new String(atLimit, StandardCharsets.US_ASCII),
                        inflate(new Inflater(true), ByteBufUtil.getBytes(reply.content())));
                reply.release();
            }
            byte[] over = Arrays.copyOf(atLimit, limit + 1);
            over[limit - 1] = 'a';
            over[limit] = '\n';
            try (RawWebSocket ws = RawWebSocket.connect(server.port("http"))) {
                extensionLine(ws.upgrade("/mqtt", OFFER));
                byte[] bomb = deflate(new Deflater(9, true), new String(over, StandardCharsets.US_ASCII));
                assertTrue(bomb.length < limit / 10);
                ws.send(new BinaryWebSocketFrame(true, RSV1, Unpooled.wrappedBuffer(bomb)));
                assertEquals(1009, closeStatus(ws));
                assertTrue(ws.closedByServer());
            }
            try (RawWebSocket ws = RawWebSocket.connect(server.port("http"))) { // a bomb: 1 MB of one letter
                extensionLine(ws.upgrade("/mqtt", OFFER));
                byte[] bomb = deflate(new Deflater(9, true), "a".repeat(1 << 20) + "\n");
                assertTrue(bomb.length < limit, "deflated to " + bomb.length);
                ws.send(new BinaryWebSocketFrame(true, RSV1, Unpooled.wrappedBuffer(bomb)));
                assertEquals(1009, closeStatus(ws));
            }
            try (RawWebSocket ws = RawWebSocket.connect(server.port("http"))) {
                extensionLine(ws.upgrade("/mqtt", OFFER));
                ws.send(new BinaryWebSocketFrame(true, RSV1, Unpooled.wrappedBuffer(new byte[] {(byte) 0xff, 1, 2, 3})));
                assertEquals(1007, closeStatus(ws), "undecodable deflate data");
            }
        }
    }

    @Test
    void bytesBeforeAndAfterCompressionAreCountedPerProtocol() throws Exception {
        try (SluiceServer server = TransportTestServer.start()) {
            for (String path : new String[] {"/mqtt", "/stomp"}) {
                try (RawWebSocket ws = RawWebSocket.connect(server.port("http"))) {
                    ws.upgrade(path, OFFER);
                    String line = document(7);
                    ws.send(new BinaryWebSocketFrame(Unpooled.copiedBuffer(line + "\n", StandardCharsets.UTF_8)));
                    WebSocketFrame reply = ws.read();
                    int wire = reply.content().readableBytes();
                    reply.release();
                    String protocol = path.substring(1);
                    assertEquals(protocol.length() + 1 + line.length() + 1, counter(server, "sluice.ws.deflate.before", protocol));
                    assertEquals(wire, counter(server, "sluice.ws.deflate.after", protocol));
                }
            }
        }
    }

    private static double counter(SluiceServer server, String name, String protocol) {
        FunctionCounter c = server.operations().metrics().registry().find(name).tag("protocol", protocol).functionCounter();
        return c == null ? -1 : c.count();
    }

    private static long memoryGauge(SluiceServer server) {
        Gauge g = server.operations().metrics().registry().find("sluice.ws.deflate.memory").gauge();
        return g == null ? -1 : (long) g.value();
    }

    /** The value of the 101's Sec-WebSocket-Extensions, or null when there is none. */
    private static String extensionLine(String head) {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase().startsWith("sec-websocket-extensions:")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return null;
    }

    private static int closeStatus(RawWebSocket ws) throws Exception {
        WebSocketFrame f;
        while ((f = ws.read()) != null) {
            if (f instanceof CloseWebSocketFrame close) {
                int status = close.statusCode();
                close.release();
                return status;
            }
            f.release();
        }
        return -1;
    }

    /** RFC 7692 section 7.2.1: deflate, sync flush, drop the trailing 00 00 FF FF. */
    private static byte[] deflate(Deflater deflater, String text) {
        deflater.setInput(text.getBytes(StandardCharsets.UTF_8));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = deflater.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH)) > 0) {
            out.write(buf, 0, n);
        }
        byte[] all = out.toByteArray();
        assertArrayEquals(TAIL, Arrays.copyOfRange(all, all.length - 4, all.length));
        return Arrays.copyOf(all, all.length - 4);
    }

    /** RFC 7692 section 7.2.2: append 00 00 FF FF and inflate. */
    private static String inflate(Inflater inflater, byte[] wire) throws DataFormatException {
        byte[] in = Arrays.copyOf(wire, wire.length + 4);
        System.arraycopy(TAIL, 0, in, wire.length, 4);
        inflater.setInput(in);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = inflater.inflate(buf)) > 0) {
            out.write(buf, 0, n);
        }
        assertFalse(inflater.finished(), "a message ends on a sync flush, not the end of the stream");
        return out.toString(StandardCharsets.UTF_8);
    }
}
