package io.sluice.server;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback ports for a server that is stopped and started again on the same port. A port from {@code bind(0)} lies
 * in the kernel's ephemeral range, where any client socket on the machine may be given it while the server is down,
 * and the restart then fails with "address already in use". These ports come from below that range, which the kernel
 * never hands out on its own.
 */
public final class StablePorts {
    private static final int LOWEST = 10_000;

    private StablePorts() {
    }

    public static int free() throws IOException {
        int below = ephemeralRangeStart();
        if (below - LOWEST < 1_000) {
            return anyFree();
        }
        for (int attempt = 0; attempt < 100; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(LOWEST, below);
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // another server holds it: try another
            }
        }
        return anyFree();
    }

    private static int anyFree() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static int ephemeralRangeStart() {
        try {
            String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
            return Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException notLinux) {
            return 49_152; // the IANA dynamic range, which other systems use
        }
    }
}
