package io.sluice.server.stomp;

import io.netty.buffer.Unpooled;
import io.sluice.protocol.ws.Subprotocol;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.BrokerConfig;
import io.sluice.server.config.Settings;
import io.sluice.server.transport.ProtocolModule.Recognition;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the transport asks of the module: names, subprotocols, paths, and recognising a first frame. */
class StompModuleTest {
    private static Recognition recognize(StompModule m, String head) {
        return m.recognize(Unpooled.copiedBuffer(head, StandardCharsets.US_ASCII));
    }

    @Test
    void contract() {
        try (Broker broker = new Broker(BrokerConfig.DEFAULTS)) {
            StompModule m = new StompModule(broker, Settings.defaults());
            assertEquals("stomp", m.name());
            assertEquals(List.of(Subprotocol.STOMP_12, Subprotocol.STOMP_11, Subprotocol.STOMP_10), m.subprotocols());
            assertEquals(List.of("/stomp"), m.paths());
            assertTrue(m.acceptsTextFrames());

            assertEquals(Recognition.YES, recognize(m, "CONNECT\naccept-version:1.2\n"));
            assertEquals(Recognition.YES, recognize(m, "STOMP\r\n"));
            assertEquals(Recognition.YES, recognize(m, "\n\r\nCONNECT\n"));
            assertEquals(Recognition.NEED_MORE, recognize(m, ""));
            assertEquals(Recognition.NEED_MORE, recognize(m, "\n\n"));
            assertEquals(Recognition.NEED_MORE, recognize(m, "CONN"));
            assertEquals(Recognition.NEED_MORE, recognize(m, "STOMP\r"));
            assertEquals(Recognition.NO, recognize(m, "CONNECTED\n"));
            assertEquals(Recognition.NO, recognize(m, "SEND\n"));
            assertEquals(Recognition.NO, recognize(m, "\u0010\u0012\u0000\u0004MQTT"));
            assertEquals(Recognition.NO, recognize(m, "GET / HTTP/1.1\r\n"));
        }
    }
}
