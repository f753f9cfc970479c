package io.sluice.protocol.stomp;

import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class StompDestinationTest {
    @Test
    void topicsMapToMqttTopicsBothWays() {
        StompDestination d = StompDestination.forSend("/topic/sensors/k1/temp");
        assertEquals("sensors/k1/temp", d.mqttTopic());
        assertNull(d.shareGroup());
        assertEquals("/topic/sensors/k1/temp", StompDestination.ofMqttTopic(d.mqttTopic()));
        assertEquals("/topic//leading/empty", StompDestination.ofMqttTopic(StompDestination.forSend("/topic//leading/empty").mqttTopic()));
    }

    @Test
    void subscribeAllowsWildcardsSendDoesNot() {
        assertEquals("sensors/+/temp", StompDestination.forSubscribe("/topic/sensors/+/temp").mqttTopic());
        assertEquals("#", StompDestination.forSubscribe("/topic/#").mqttTopic());
        assertThrows(StompDestination.InvalidDestinationException.class, () -> StompDestination.forSend("/topic/a/+"));
        assertThrows(StompDestination.InvalidDestinationException.class, () -> StompDestination.forSubscribe("/topic/a/#/b"));
    }

    @Test
    void queuesLiveInTheReservedNamespace() {
        StompDestination q = StompDestination.forSend("/queue/orders");
        assertEquals("$stomp/queue/orders", q.mqttTopic());
        assertEquals("stomp", q.shareGroup());
        assertEquals("/queue/orders", StompDestination.ofMqttTopic(q.mqttTopic()));
        assertThrows(StompDestination.InvalidDestinationException.class, () -> StompDestination.forSubscribe("/queue/a/#"));
        assertThrows(StompDestination.InvalidDestinationException.class, () -> StompDestination.forSubscribe("/topic/$stomp/queue/orders"));
    }

    @Test
    void otherDestinationsAreRefused() {
        for (String bad : new String[] {"", "/topic/", "/queue/", "/exchange/x", "/amq/queue/x", "topic/a", "/topic/$SYS/x"}) {
            assertThrows(StompDestination.InvalidDestinationException.class, () -> StompDestination.forSend(bad), bad);
        }
        assertEquals("$SYS/broker/#", StompDestination.forSubscribe("/topic/$SYS/broker/#").mqttTopic());
    }

    @Test
    void replyToMapping() {
        assertEquals("a/b", StompDestination.toMqttTopicOrNull("/topic/a/b"));
        assertEquals("$stomp/queue/q", StompDestination.toMqttTopicOrNull("/queue/q"));
        assertNull(StompDestination.toMqttTopicOrNull("/temp-queue/x"));
    }
}
