package io.sluice.server.ops;

import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A STOMP client past a connection limit gets STOMP's answer, an ERROR frame, and the socket closes. */
class StompRefusalTest {
    private static final String CONNECT = "CONNECT\naccept-version:1.2\nhost:sluice\n\n\0";

    @Test
    void stompPastMaxConnectionsGetsAnErrorFrame() throws Exception {
        try (OpsTestServer server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.CONNECT_RATE, 0).with(Settings.MAX_CONNECTIONS, 1));
             Socket first = new Socket("127.0.0.1", server.stompPort())) {
            first.setSoTimeout(20_000);
            first.getOutputStream().write(CONNECT.getBytes(StandardCharsets.UTF_8));
            assertTrue(frame(first.getInputStream()).startsWith("CONNECTED\n"), "the first is admitted");

            // opened only now: two sockets opened together reach admission in either order (different event loops)
            try (Socket second = new Socket("127.0.0.1", server.stompPort())) {
                second.setSoTimeout(20_000);
                second.getOutputStream().write(CONNECT.getBytes(StandardCharsets.UTF_8));
                String error = frame(second.getInputStream());
                assertTrue(error.startsWith("ERROR\n"), error);
                assertTrue(error.contains("connection limit"), error);
                assertEquals(-1, second.getInputStream().read(), "closed after the ERROR");
            }
        }
    }

    /** One frame, up to its NUL, heart-beat EOLs before it skipped. */
    private static String frame(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int b = in.read(); b != 0; b = in.read()) {
            if (b < 0) {
                throw new IOException("closed before a whole frame: " + out);
            }
            if (out.size() > 0 || (b != '\n' && b != '\r')) {
                out.write(b);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
