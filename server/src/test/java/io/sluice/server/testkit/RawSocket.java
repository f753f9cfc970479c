package io.sluice.server.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** A plain TCP socket for hand-written packets and frames: what a broken client sends, byte for byte. */
final class RawSocket implements AutoCloseable {
    private final Socket socket = new Socket();
    private final InputStream in;
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private boolean eof;

    RawSocket(int port) {
        try {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(50);
            in = socket.getInputStream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void send(byte[] bytes) {
        try {
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void send(String text) {
        send(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Read until {@code count} bytes in all have arrived (or the deadline); what arrived so far. */
    byte[] awaitBytes(int count, long millis) {
        long deadline = System.currentTimeMillis() + millis;
        while (received.size() < count && !eof && System.currentTimeMillis() < deadline) {
            readSome();
        }
        return received.toByteArray();
    }

    /** Read until the text appears (or the deadline). */
    String awaitText(String expected, long millis) {
        long deadline = System.currentTimeMillis() + millis;
        while (!text().contains(expected) && !eof && System.currentTimeMillis() < deadline) {
            readSome();
        }
        return text();
    }

    String text() {
        return received.toString(StandardCharsets.UTF_8);
    }

    /** True once the server closed the connection (within the deadline). */
    boolean awaitClosed(long millis) {
        long deadline = System.currentTimeMillis() + millis;
        while (!eof && System.currentTimeMillis() < deadline) {
            readSome();
        }
        return eof;
    }

    private void readSome() {
        byte[] buf = new byte[4096];
        try {
            int n = in.read(buf);
            if (n < 0) {
                eof = true;
            } else {
                received.write(buf, 0, n);
            }
        } catch (SocketTimeoutException e) {
            // nothing yet
        } catch (IOException e) {
            eof = true;
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    // ---- MQTT packets, written out by hand

    static byte[] bytes(int... b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = (byte) b[i];
        }
        return out;
    }

    /** CONNECT of protocol level 4 (3.1.1) or 5, clean, with this client id and keep-alive. */
    static byte[] connect(int level, String clientId, int keepAlive) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(bytes(0, 4, 'M', 'Q', 'T', 'T', level, 0x02, keepAlive >> 8, keepAlive & 0xFF));
        if (level == 5) {
            body.write(0);
        }
        byte[] id = clientId.getBytes(StandardCharsets.UTF_8);
        body.writeBytes(bytes(id.length >> 8, id.length & 0xFF));
        body.writeBytes(id);
        return packet(0x10, body.toByteArray());
    }

    /** A packet: first byte, remaining length (one byte: these packets are short), body. */
    static byte[] packet(int first, byte[] body) {
        if (body.length > 127) {
            throw new IllegalArgumentException("test packets stay under 128 bytes");
        }
        byte[] out = new byte[body.length + 2];
        out[0] = (byte) first;
        out[1] = (byte) body.length;
        System.arraycopy(body, 0, out, 2, body.length);
        return out;
    }

    static byte[] packet(int first, int... body) {
        return packet(first, bytes(body));
    }
}
