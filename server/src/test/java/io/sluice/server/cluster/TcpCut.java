package io.sluice.server.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP proxy to one port that can be cut and healed: cut, every connection through it is closed and new
 * ones are closed as soon as they come (a network that drops a node's traffic, or a client's); healed, new
 * connections go through again, on the same port. Whatever protocol runs over it is passed byte for byte.
 */
final class TcpCut implements AutoCloseable {
    private final ServerSocket server;
    private final int targetPort;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private volatile boolean cut;
    private volatile boolean swallow;
    private final java.util.concurrent.atomic.AtomicInteger turnedAway = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closed;

    TcpCut(int targetPort) throws IOException {
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.targetPort = targetPort;
        Thread t = new Thread(this::accept, "tcp-cut-" + targetPort);
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** Close every connection through it, and each new one as it comes, until {@link #heal}. */
    void cut() {
        cut = true;
        for (Socket s : open) {
            closeQuietly(s);
        }
        open.clear();
    }

    /** Connections closed as they came while cut. */
    int turnedAway() {
        return turnedAway.get();
    }

    void heal() {
        cut = false;
        swallow = false;
    }

    /**
     * What the target sends is read and dropped, the connections left open, until {@link #cut} (or {@link #heal}): a
     * link that loses what is on its way to the client in the moment before it breaks.
     */
    void swallow() {
        swallow = true;
    }

    private void accept() {
        while (!closed) {
            Socket in;
            try {
                in = server.accept();
            } catch (IOException e) {
                return;
            }
            if (cut) {
                closeQuietly(in);
                turnedAway.incrementAndGet();
                continue;
            }
            try {
                Socket out = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                open.add(in);
                open.add(out);
                pipe(in, out, false);
                pipe(out, in, true);
            } catch (IOException e) {
                closeQuietly(in);
            }
        }
    }

    private void pipe(Socket from, Socket to, boolean fromTarget) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 * 1024];
            try (InputStream i = from.getInputStream(); OutputStream o = to.getOutputStream()) {
                for (int n; (n = i.read(buf)) >= 0; ) {
                    if (fromTarget && swallow) {
                        continue;
                    }
                    o.write(buf, 0, n);
                    o.flush();
                }
            } catch (IOException e) {
                // cut, or one side closed
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        }, "tcp-cut-pipe");
        t.setDaemon(true);
        t.start();
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
        cut();
        server.close();
    }
}
