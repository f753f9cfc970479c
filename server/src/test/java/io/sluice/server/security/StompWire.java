package io.sluice.server.security;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** A STOMP 1.2 client on a plain socket (or a TLS one), enough to log in, send, subscribe and read frames (also the cluster tests'). */
public final class StompWire implements AutoCloseable {
    public record Frame(String command, Map<String, String> headers, String body) {
        public String header(String name) {
            return headers.get(name);
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    StompWire(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(10_000);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** How long {@link #next} waits for a frame (10 s unless set). */
    public StompWire readTimeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
        return this;
    }

    public static StompWire open(int port) throws IOException {
        return new StompWire(new Socket("127.0.0.1", port));
    }

    /** CONNECT with these credentials (null: none); returns CONNECTED or ERROR. */
    public Frame connect(String login, String passcode) throws IOException {
        StringBuilder f = new StringBuilder("CONNECT\naccept-version:1.2\nhost:localhost\n");
        if (login != null) {
            f.append("login:").append(login).append('\n');
        }
        if (passcode != null) {
            f.append("passcode:").append(passcode).append('\n');
        }
        write(f.append('\n').toString());
        return next();
    }

    public void send(String destination, String body, String receipt) throws IOException {
        write("SEND\ndestination:" + destination + "\n" + (receipt == null ? "" : "receipt:" + receipt + "\n")
                + "content-length:" + body.getBytes(StandardCharsets.UTF_8).length + "\n\n" + body);
    }

    public void subscribe(String destination, String id, String receipt) throws IOException {
        write("SUBSCRIBE\ndestination:" + destination + "\nid:" + id + "\nack:auto\n"
                + (receipt == null ? "" : "receipt:" + receipt + "\n") + "\n");
    }

    private void write(String frameWithoutNul) throws IOException {
        out.write(frameWithoutNul.getBytes(StandardCharsets.UTF_8));
        out.write(0);
        out.flush();
    }

    /** The next frame (heart-beat newlines skipped); throws on timeout or end of stream. */
    public Frame next() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) == '\n' || b == '\r') {
            // heart-beats
        }
        while (b != 0) {
            if (b < 0) {
                throw new IOException("connection closed before a whole frame; read: " + buf.toString(StandardCharsets.UTF_8));
            }
            buf.write(b);
            b = in.read();
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        int blank = text.indexOf("\n\n");
        String head = blank < 0 ? text : text.substring(0, blank);
        String[] lines = head.split("\n");
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.putIfAbsent(lines[i].substring(0, colon), lines[i].substring(colon + 1));
        }
        return new Frame(lines[0], headers, blank < 0 ? "" : text.substring(blank + 2));
    }

    /** True once the server closed the connection (within the socket timeout). */
    boolean closedByServer() throws IOException {
        try {
            while (true) {
                if (in.read() < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
