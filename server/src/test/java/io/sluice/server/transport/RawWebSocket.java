package io.sluice.server.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A WebSocket client on a plain socket, for what the JDK client will not do: stay silent when pinged, send raw
 * requests, read raw responses. Frames are encoded and decoded by Netty's own client-side codecs (masked
 * outbound, unmasked inbound), so nothing here hand-writes framing.
 */
final class RawWebSocket implements AutoCloseable {
    final Socket socket;
    private final InputStream in;
    private final EmbeddedChannel encoder = new EmbeddedChannel(new WebSocket13FrameEncoder(true));
    private final EmbeddedChannel unmaskedEncoder = new EmbeddedChannel(new WebSocket13FrameEncoder(false));
    private final EmbeddedChannel decoder = new EmbeddedChannel(new WebSocket13FrameDecoder(false, true, 1 << 20));

    private RawWebSocket(Socket socket) throws IOException {
        this.socket = socket;
        this.socket.setSoTimeout((int) (WsClient.WAIT_SECONDS * 1000));
        this.in = socket.getInputStream();
    }

    static RawWebSocket connect(int port) throws IOException {
        return new RawWebSocket(new Socket("127.0.0.1", port));
    }

    /** Send an upgrade request for {@code path} with the given extra header lines; return the response head. */
    String upgrade(String path, String... headerLines) throws IOException {
        StringBuilder req = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
        for (String h : headerLines) {
            req.append(h).append("\r\n");
        }
        req.append("\r\n");
        sendRaw(req.toString().getBytes(StandardCharsets.US_ASCII));
        return readHead();
    }

    void sendRaw(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
    }

    /** The status line and headers of an HTTP response, up to the blank line. */
    String readHead() throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed inside the response head: " + head);
            }
            head.write(b);
            byte[] h = head.toByteArray();
            int n = h.length;
            if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
                return head.toString(StandardCharsets.US_ASCII);
            }
        }
    }

    /** Everything up to end of stream (a response body followed by the server closing). */
    String readToEnd() throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    void send(WebSocketFrame frame) throws IOException {
        send(encoder, frame);
    }

    /** A frame without the mask RFC 6455 section 5.1 requires of clients. */
    void sendUnmasked(WebSocketFrame frame) throws IOException {
        send(unmaskedEncoder, frame);
    }

    private void send(EmbeddedChannel encoder, WebSocketFrame frame) throws IOException {
        encoder.writeOutbound(frame);
        ByteBuf out;
        while ((out = encoder.readOutbound()) != null) {
            byte[] bytes = new byte[out.readableBytes()];
            out.readBytes(bytes);
            out.release();
            sendRaw(bytes);
        }
    }

    /** The next frame from the server, or null when the server closed the connection. */
    WebSocketFrame read() throws IOException {
        byte[] buf = new byte[8192];
        while (true) {
            WebSocketFrame frame = decoder.readInbound();
            if (frame != null) {
                return frame;
            }
            int n = in.read(buf);
            if (n < 0) {
                return null;
            }
            decoder.writeInbound(Unpooled.copiedBuffer(buf, 0, n));
        }
    }

    /** Whether the server closed the connection (end of stream) before the socket timeout, discarding frames. */
    boolean closedByServer() throws IOException {
        try {
            WebSocketFrame f;
            while ((f = read()) != null) {
                f.release();
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // connection reset: closed as well
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
        encoder.finishAndReleaseAll();
        unmaskedEncoder.finishAndReleaseAll();
        decoder.finishAndReleaseAll();
    }
}
