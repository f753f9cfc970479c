package io.sluice.server.cluster;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A loopback TCP proxy in front of a broker's MQTT port that forwards whole MQTT packets both ways until it meets
 * the first packet of one type going one way: that packet is not forwarded, both connections are cut and the
 * proxy stops listening, as a network failure at exactly that point of an exchange would. The client on the other
 * side is a real one; only where the connection breaks is chosen.
 */
final class CuttingProxy implements AutoCloseable {
    /** Which way a packet travels. */
    enum Way { TO_BROKER, TO_CLIENT }

    private final ServerSocket server;
    private final int brokerPort;
    private final Way cutWay;
    private final int cutType;
    private final CountDownLatch cut = new CountDownLatch(1);
    private volatile Socket client;
    private volatile Socket broker;

    /** Cut at the first packet of MQTT type {@code type} (3 PUBLISH, 5 PUBREC, 6 PUBREL, ...) going {@code way}. */
    CuttingProxy(int brokerPort, Way way, int type) throws IOException {
        this.server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        this.brokerPort = brokerPort;
        this.cutWay = way;
        this.cutType = type;
        Thread t = new Thread(this::accept, "cutting-proxy");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** Whether the cut happened within the time. */
    boolean awaitCut(long seconds) throws InterruptedException {
        return cut.await(seconds, TimeUnit.SECONDS);
    }

    private void accept() {
        try {
            client = server.accept();
            broker = new Socket(InetAddress.getLoopbackAddress(), brokerPort);
            pump(client.getInputStream(), broker.getOutputStream(), Way.TO_BROKER);
            pump(broker.getInputStream(), client.getOutputStream(), Way.TO_CLIENT);
        } catch (IOException e) {
            close();
        }
    }

    private void pump(InputStream from, OutputStream to, Way way) {
        Thread t = new Thread(() -> {
            try {
                DataInputStream in = new DataInputStream(from);
                while (true) {
                    byte[] packet = readPacket(in);
                    if (way == cutWay && (packet[0] & 0xF0) >> 4 == cutType) {
                        cut.countDown();
                        close();
                        return;
                    }
                    to.write(packet);
                    to.flush();
                }
            } catch (IOException e) {
                close();
            }
        }, "cutting-proxy-" + way);
        t.setDaemon(true);
        t.start();
    }

    /** One MQTT packet: the fixed header's first byte, its Remaining Length (a variable byte integer), the rest. */
    private static byte[] readPacket(DataInputStream in) throws IOException {
        int first = in.readUnsignedByte();
        byte[] header = new byte[5];
        header[0] = (byte) first;
        int length = 0;
        int n = 1;
        for (int shift = 0; ; shift += 7) {
            int b = in.readUnsignedByte();
            header[n++] = (byte) b;
            length |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                break;
            }
            if (n == 5) {
                throw new IOException("malformed Remaining Length");
            }
        }
        byte[] packet = new byte[n + length];
        System.arraycopy(header, 0, packet, 0, n);
        in.readFully(packet, n, length);
        return packet;
    }

    @Override
    public void close() {
        for (java.io.Closeable c : new java.io.Closeable[] {server, client, broker}) {
            if (c != null) {
                try {
                    c.close();
                } catch (IOException e) {
                    // closing anyway
                }
            }
        }
    }
}
