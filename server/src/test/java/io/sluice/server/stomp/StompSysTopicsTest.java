package io.sluice.server.stomp;

import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.ops.BrokerMetrics;
import io.sluice.server.ops.SysTopics;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** A STOMP subscriber reads $SYS/broker/... through /topic/, and /topic/# does not match it. */
class StompSysTopicsTest {
    @Test
    void stompReadsSysTopics() throws Exception {
        try (StompTestServer server = new StompTestServer();
             BrokerMetrics metrics = new BrokerMetrics(server.broker);
             SysTopics sys = new SysTopics(server.broker, metrics, "test");
             StompTestClient c = new StompTestClient(server.port())) {
            c.connect("1.2");
            c.subscribe("/topic/#", "all");
            c.subscribe("/topic/$SYS/broker/version", "version");
            sys.publishNow();
            StompTestClient.Frame m = c.next(StompCommand.MESSAGE);
            assertEquals("version", m.header("subscription"));
            assertEquals("/topic/$SYS/broker/version", m.header("destination"));
            assertEquals("sluice version test", m.text());
            assertNull(c.poll(300), "'/topic/#' matched a $SYS topic");
        }
    }
}
