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

/** On shutdown every STOMP client gets an ERROR frame, with or without subscriptions, then the close. */
class StompShutdownTest {
    private static final String CONNECT = "CONNECT\naccept-version:1.2\nhost:sluice\n\n\0";
    private static final String SUBSCRIBE = "SUBSCRIBE\nid:0\ndestination:/topic/a\n\n\0";

    @Test
    void everyStompClientGetsAnErrorFrameOnShutdown() throws Exception {
        OpsTestServer server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L));
        try (Socket publisher = new Socket("127.0.0.1", server.stompPort());
             Socket subscriber = new Socket("127.0.0.1", server.stompPort())) {
            for (Socket s : new Socket[] {publisher, subscriber}) {
                s.setSoTimeout(20_000);
                s.getOutputStream().write(CONNECT.getBytes(StandardCharsets.UTF_8));
                assertTrue(frame(s.getInputStream()).startsWith("CONNECTED\n"));
            }
            subscriber.getOutputStream().write(SUBSCRIBE.getBytes(StandardCharsets.UTF_8));
            // the subscription exists once the trie holds it
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (server.broker.trie().subscriptionCount() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            server.shutdown();
            for (Socket s : new Socket[] {publisher, subscriber}) {
                String error = frame(s.getInputStream());
                assertTrue(error.startsWith("ERROR\n") && error.contains("server shutting down"), error);
                assertEquals(-1, s.getInputStream().read(), "closed after the ERROR");
            }
        } finally {
            server.close();
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
