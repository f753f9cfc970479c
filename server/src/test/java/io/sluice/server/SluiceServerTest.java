package io.sluice.server;

import io.sluice.server.config.Settings;
import io.sluice.server.transport.LineEchoModuleAccess;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The embedding API: ports, disabled listeners, the io-threads setting, close releasing everything. */
class SluiceServerTest {
    private static Settings local() {
        return Settings.defaults().with(Settings.BIND, "127.0.0.1").with(Settings.MQTT_PORT, 0)
                .with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, 0);
    }

    private static String echo(int port, String line) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write(line.getBytes(StandardCharsets.UTF_8));
            out.flush();
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
        }
    }

    @Test
    void oneIoThreadServesConcurrentConnections() throws Exception {
        try (SluiceServer server = SluiceServer.start(local().with(Settings.IO_THREADS, 1), LineEchoModuleAccess.modules());
             Socket first = new Socket("127.0.0.1", server.port("mqtt"))) {
            first.setSoTimeout(20_000);
            BufferedReader firstIn = new BufferedReader(new InputStreamReader(first.getInputStream(), StandardCharsets.UTF_8));
            first.getOutputStream().write("MQ open\n".getBytes(StandardCharsets.UTF_8));
            assertEquals("mqtt:MQ open", firstIn.readLine());
            assertEquals("mqtt:MQ second", echo(server.port("mqtt"), "MQ second\n")); // while the first stays open
            first.getOutputStream().write("MQ still\n".getBytes(StandardCharsets.UTF_8));
            assertEquals("mqtt:MQ still", firstIn.readLine());
        }
    }

    @Test
    void disabledListenersHaveNoPortAndCloseIsIdempotentAndFreesThePorts() throws Exception {
        SluiceServer server = SluiceServer.start(local().with(Settings.STOMP_PORT, -1), LineEchoModuleAccess.modules());
        int mqtt = server.port("mqtt");
        assertTrue(mqtt > 0);
        assertEquals(-1, server.port("stomp"));
        assertEquals(-1, server.port("nonsense"));
        assertEquals(java.util.List.of("mqtt", "http"), java.util.List.copyOf(server.listeners().keySet()));
        server.close();
        server.close();
        assertThrows(java.io.IOException.class, () -> new Socket("127.0.0.1", mqtt).close());
        try (SluiceServer again = SluiceServer.start(local().with(Settings.MQTT_PORT, mqtt), LineEchoModuleAccess.modules())) {
            assertEquals(mqtt, again.port("mqtt"));
            assertEquals("mqtt:MQ back", echo(mqtt, "MQ back\n"));
        }
    }
}
