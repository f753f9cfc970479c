package io.sluice.server.ops;

import io.sluice.server.BrokerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With the default {@code --max-connections}, the bound follows the process's open-files limit, less what the
 * broker keeps for its own files: at the limit, the next client is accepted and refused in its protocol (MQTT 3.1.1
 * CONNACK 0x03), not left waiting unanswered in the listen backlog, and those connected keep working.
 */
class OpenFilesLimitTest {
    private static final int FILES = 700;

    @Test
    void theDefaultConnectionBoundFollowsTheOpenFilesLimitAndRefusesThePastInItsProtocol(@TempDir Path dir)
            throws Exception {
        int bound = FILES - Admission.OWN_FILES;
        List<Socket> connected = new ArrayList<>();
        try (BrokerProcess broker = BrokerProcess.startWithOpenFilesLimit(FILES, BrokerProcess.Ports.free(),
                dir.resolve("data"), dir.resolve("broker.log"))) {
            assertTrue(broker.logLines().stream().anyMatch(l -> l.contains("connections: at most " + bound + ",")),
                    "the start logs the bound it took from the open-files limit:\n" + broker.log());
            int port = broker.port("mqtt");
            try {
                for (int i = 0; i < bound; i++) {
                    Socket s = open(port);
                    connected.add(s);
                    assertArrayEquals(new byte[] {0x20, 2, 0, 0}, connect(s, "c" + i), "connection " + (i + 1));
                }
                // the one past the bound: accepted, answered "server unavailable", closed
                try (Socket past = open(port)) {
                    assertArrayEquals(new byte[] {0x20, 2, 0, 3}, connect(past, "past"));
                    assertThrows(EOFException.class, () -> new DataInputStream(past.getInputStream()).readByte(),
                            "closed after its refusal");
                }
                // those connected still work: PINGREQ, PINGRESP
                for (Socket s : List.of(connected.get(0), connected.get(bound - 1))) {
                    s.getOutputStream().write(new byte[] {(byte) 0xC0, 0});
                    byte[] pong = new byte[2];
                    new DataInputStream(s.getInputStream()).readFully(pong);
                    assertArrayEquals(new byte[] {(byte) 0xD0, 0}, pong);
                }
                // a place frees up when a client leaves
                connected.remove(0).close();
                byte[] answer = null;
                for (int attempt = 0; attempt < 100; attempt++) {
                    Socket s = open(port);
                    answer = connect(s, "again");
                    if (answer[3] == 0) {
                        connected.add(s);
                        break;
                    }
                    s.close();
                    Thread.sleep(50); // the broker sees the close a moment later
                }
                assertArrayEquals(new byte[] {0x20, 2, 0, 0}, answer, "admitted once a place is free");
                assertEquals(bound, connected.size());
            } finally {
                for (Socket s : connected) {
                    s.close();
                }
            }
        }
    }

    private static Socket open(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        s.setSoTimeout(10_000);
        return s;
    }

    /** Send an MQTT 3.1.1 CONNECT (clean session) and read the CONNACK. */
    private static byte[] connect(Socket s, String clientId) throws IOException {
        byte[] id = clientId.getBytes(StandardCharsets.UTF_8);
        byte[] variable = {0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60};
        OutputStream out = s.getOutputStream();
        out.write(0x10);
        out.write(variable.length + 2 + id.length);
        out.write(variable);
        out.write(0);
        out.write(id.length);
        out.write(id);
        out.flush();
        byte[] connack = new byte[4];
        new DataInputStream(s.getInputStream()).readFully(connack);
        return connack;
    }
}
