package io.sluice.server.transport;

import io.sluice.protocol.ws.Subprotocol;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The negotiation rules alone, without sockets: header parsing, ordering, paths, sniffing, refusals. */
class SubprotocolNegotiatorTest {
    private final ProtocolRegistry registry = new ProtocolRegistry()
            .register(LineEchoModule.mqttLike()).register(LineEchoModule.stompLike());
    private final SubprotocolNegotiator negotiator = new SubprotocolNegotiator(registry);

    private SubprotocolNegotiator.Serve serve(List<String> offered, String path) {
        return assertInstanceOf(SubprotocolNegotiator.Serve.class, negotiator.decide(offered, path));
    }

    @Test
    void offersSpreadOverSeveralHeadersAndCommasAreReadInOrder() {
        SubprotocolNegotiator.Serve s = serve(List.of(" chat ,, x-unknown", "v10.stomp, mqtt"), "/mqtt");
        assertEquals(Subprotocol.STOMP_10, s.subprotocol());
        assertEquals("v10.stomp", s.token());
        assertEquals("stomp", s.module().name());
    }

    @Test
    void theClientsSpellingIsWhatIsEchoed() {
        SubprotocolNegotiator.Serve s = serve(List.of("MQTT"), "/");
        assertEquals(Subprotocol.MQTT, s.subprotocol());
        assertEquals("MQTT", s.token());
    }

    @Test
    void withoutOffersThePathDecidesElseTheFirstBytes() {
        SubprotocolNegotiator.Serve byPath = serve(List.of(), "/stomp");
        assertEquals("stomp", byPath.module().name());
        assertEquals(null, byPath.subprotocol());
        assertInstanceOf(SubprotocolNegotiator.Sniff.class, negotiator.decide(List.of(), "/"));
        assertInstanceOf(SubprotocolNegotiator.Sniff.class, negotiator.decide(List.of(""), "/other"));
    }

    @Test
    void onlyUnknownOffersAreRefusedNamingWhatIsSupported() {
        SubprotocolNegotiator.Refuse r = assertInstanceOf(SubprotocolNegotiator.Refuse.class,
                negotiator.decide(List.of("chat, wamp.2.json"), "/mqtt"));
        assertTrue(r.reason().contains("chat") && r.reason().contains("wamp.2.json"), r.reason());
        assertTrue(r.reason().contains("mqtt, mqttv3.1, v12.stomp, v11.stomp, v10.stomp"), r.reason());
    }

    @Test
    void aKnownSubprotocolWithoutAModuleIsUnsupported() {
        ProtocolRegistry mqttOnly = new ProtocolRegistry().register(LineEchoModule.mqttLike());
        SubprotocolNegotiator.Decision d = new SubprotocolNegotiator(mqttOnly).decide(List.of("v12.stomp"), "/");
        assertInstanceOf(SubprotocolNegotiator.Refuse.class, d);
        assertInstanceOf(SubprotocolNegotiator.Refuse.class, new SubprotocolNegotiator(new ProtocolRegistry())
                .decide(List.of(), "/"));
    }

    @Test
    void twoModulesCannotClaimTheSameSubprotocolPathOrName() {
        assertThrows(IllegalArgumentException.class, () -> registry.register(LineEchoModule.mqttLike()));
        assertThrows(IllegalArgumentException.class, () -> registry.register(new LineEchoModule("other",
                List.of(Subprotocol.MQTT_V31), List.of(), List.of(), false)));
        assertThrows(IllegalArgumentException.class, () -> registry.register(new LineEchoModule("other",
                List.of(), List.of("/stomp"), List.of(), false)));
    }
}
