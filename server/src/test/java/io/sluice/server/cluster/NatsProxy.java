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
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback proxy in front of a NATS server that reads the NATS client protocol both ways and drops the messages a
 * {@link Rule} names, passing everything else unchanged: a network that loses exactly some of a client's traffic (an
 * acknowledgement, the heartbeats and bucket changes a split would keep apart) while its connection stays up.
 *
 * <p>Messages are {@code PUB}/{@code HPUB} from the client and {@code MSG}/{@code HMSG} from the server, each read
 * whole (its line and payload); every other line (INFO, CONNECT, SUB, PING ...) passes as it is.
 */
final class NatsProxy implements AutoCloseable {
    /** Which messages are dropped. */
    interface Rule {
        /**
         * {@code toServer}: sent by the client (a publish) or by the server (a delivery); {@code subject} the message's
         * subject; {@code payload} its body (headers included for HPUB/HMSG). Called on the proxy's threads.
         */
        boolean drop(boolean toServer, String subject, byte[] payload);
    }

    private final ServerSocket server;
    private final int natsPort;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private volatile Rule rule = (toServer, subject, payload) -> false;
    private volatile boolean closed;

    NatsProxy(int natsPort) throws IOException {
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.natsPort = natsPort;
        Thread t = new Thread(this::accept, "nats-proxy");
        t.setDaemon(true);
        t.start();
    }

    /** The URL clients connect to instead of NATS's. */
    String url() {
        return "nats://127.0.0.1:" + server.getLocalPort();
    }

    /** Drop what {@code rule} names from now on. */
    void rule(Rule rule) {
        this.rule = rule;
    }

    /** Drop nothing from now on. */
    void passAll() {
        rule((toServer, subject, payload) -> false);
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
                pipe(in, out, true);
                pipe(out, in, false);
            } catch (IOException e) {
                closeQuietly(in);
            }
        }
    }

    private void pipe(Socket from, Socket to, boolean toServer) {
        Thread t = new Thread(() -> {
            try (InputStream i = new BufferedInputStream(from.getInputStream());
                 OutputStream o = new BufferedOutputStream(to.getOutputStream())) {
                for (byte[] line; (line = readLine(i)) != null; ) {
                    String[] words = new String(line, StandardCharsets.US_ASCII).trim().split(" +");
                    String op = words[0].toUpperCase(Locale.ROOT);
                    boolean message = toServer ? op.equals("PUB") || op.equals("HPUB")
                            : op.equals("MSG") || op.equals("HMSG");
                    if (message) {
                        // the last number is the payload's size (headers included); then its CRLF
                        byte[] payload = i.readNBytes(Integer.parseInt(words[words.length - 1]) + 2);
                        if (rule.drop(toServer, words[1], java.util.Arrays.copyOf(payload, payload.length - 2))) {
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
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        }, "nats-proxy-pipe");
        t.setDaemon(true);
        t.start();
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
