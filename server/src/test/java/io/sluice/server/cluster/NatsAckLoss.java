package io.sluice.server.cluster;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback proxy in front of a NATS server that passes the NATS client protocol both ways and, while {@link #lose}
 * is on, drops the acknowledgement a client sends for the first delivery of a JetStream message to one consumer: the
 * message was taken and done, and its acknowledgement lost on the way, so JetStream hands it again once its ack wait
 * runs out. The acknowledgement of a copy handed again goes through, so each message is handed at most twice.
 *
 * <p>Only what the client sends is read (line by line, {@code PUB} and {@code HPUB} with their payloads); what the
 * server sends is passed byte for byte. An acknowledgement is a {@code PUB} of {@code +ACK} (or nothing) to the reply
 * subject JetStream gave the delivery, {@code $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>...} (with a domain
 * and an account hash after {@code ACK} in the newer form).
 */
final class NatsAckLoss implements AutoCloseable {
    private final ServerSocket server;
    private final int natsPort;
    private final String consumer;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final AtomicInteger lost = new AtomicInteger();
    private final AtomicInteger againAcked = new AtomicInteger();
    private volatile boolean lose;
    private volatile boolean closed;

    NatsAckLoss(int natsPort, String consumer) throws IOException {
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.natsPort = natsPort;
        this.consumer = consumer;
        Thread t = new Thread(this::accept, "nats-ack-loss");
        t.setDaemon(true);
        t.start();
    }

    /** The port clients connect to instead of NATS's. */
    int port() {
        return server.getLocalPort();
    }

    /** Drop the acknowledgements of first deliveries to the consumer from now on ({@code true}), or none. */
    void lose(boolean on) {
        lose = on;
    }

    /** Acknowledgements of first deliveries dropped. */
    int lost() {
        return lost.get();
    }

    /** Acknowledgements of copies JetStream handed again (delivered twice or more) passed on. */
    int againAcked() {
        return againAcked.get();
    }

    private void accept() {
        while (!closed) {
            Socket in;
            try {
                in = server.accept();
            } catch (IOException e) {
                return;
            }
            try {
                Socket out = new Socket(InetAddress.getLoopbackAddress(), natsPort);
                open.add(in);
                open.add(out);
                thread(() -> fromClient(in, out));
                thread(() -> fromServer(out, in));
            } catch (IOException e) {
                closeQuietly(in);
            }
        }
    }

    private static void thread(Runnable r) {
        Thread t = new Thread(r, "nats-ack-loss-pipe");
        t.setDaemon(true);
        t.start();
    }

    private void fromServer(Socket from, Socket to) {
        byte[] buf = new byte[16 * 1024];
        try (InputStream i = from.getInputStream(); OutputStream o = to.getOutputStream()) {
            for (int n; (n = i.read(buf)) >= 0; ) {
                o.write(buf, 0, n);
                o.flush();
            }
        } catch (IOException e) {
            // closed
        } finally {
            closeBoth(from, to);
        }
    }

    private void fromClient(Socket from, Socket to) {
        try (InputStream i = new BufferedInputStream(from.getInputStream());
             OutputStream o = new BufferedOutputStream(to.getOutputStream())) {
            for (byte[] line; (line = readLine(i)) != null; ) {
                String text = new String(line, StandardCharsets.US_ASCII).trim();
                String[] words = text.split(" +");
                String op = words[0].toUpperCase(java.util.Locale.ROOT);
                if (op.equals("PUB") || op.equals("HPUB")) {
                    byte[] payload = i.readNBytes(Integer.parseInt(words[words.length - 1]) + 2); // and its CRLF
                    if (op.equals("PUB") && dropped(words[1], payload)) {
                        continue;
                    }
                    o.write(line);
                    o.write(payload);
                } else {
                    o.write(line);
                }
                if (i.available() == 0) {
                    o.flush();
                }
            }
        } catch (IOException | RuntimeException e) {
            // closed, or a line this proxy does not read: the connection ends and the client reconnects
        } finally {
            closeBoth(from, to);
        }
    }

    /** Whether this PUB is a first delivery's acknowledgement to the consumer, dropped now. */
    private boolean dropped(String subject, byte[] payload) {
        if (!subject.startsWith("$JS.ACK.")) {
            return false;
        }
        String body = new String(payload, 0, payload.length - 2, StandardCharsets.US_ASCII);
        if (!body.isEmpty() && !body.equals("+ACK")) {
            return false; // in progress, not wanted, terminated: not an acknowledgement
        }
        String[] t = subject.split("\\.");
        int at = t.length == 9 ? 3 : 5; // the consumer's token, in the older and the newer form
        if (t.length < 9 || !t[at].equals(consumer)) {
            return false;
        }
        long delivered = Long.parseLong(t[at + 1]);
        if (delivered > 1) {
            againAcked.incrementAndGet();
            return false;
        }
        if (!lose) {
            return false;
        }
        lost.incrementAndGet();
        return true;
    }

    /** A line up to and with its LF, or null at the end of the stream. */
    private static byte[] readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(128);
        for (int b; (b = in.read()) >= 0; ) {
            line.write(b);
            if (b == '\n') {
                return line.toByteArray();
            }
        }
        return null;
    }

    private void closeBoth(Socket a, Socket b) {
        closeQuietly(a);
        closeQuietly(b);
        open.remove(a);
        open.remove(b);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closed already
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        for (Socket s : open) {
            closeQuietly(s);
        }
        server.close();
    }
}
