package io.sluice.server.testkit;

import io.sluice.server.Sluice;
import io.sluice.server.events.Violation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static io.sluice.server.testkit.RawSocket.bytes;
import static io.sluice.server.testkit.RawSocket.connect;
import static io.sluice.server.testkit.RawSocket.packet;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Strict mode against a client that breaks each class of rule with hand-written packets and frames: the
 * violation is recorded under the rule's identifier, with the client id and the offending bytes, and the client
 * still gets the spec's answer (the connection closes, or, for what a lenient broker tolerates, stays open).
 */
class StrictModeTest {
    private static Sluice strict;

    @BeforeAll
    static void start() {
        strict = Sluice.builder().strict(true).start();
    }

    @AfterAll
    static void stop() {
        strict.close();
    }

    @BeforeEach
    void forget() {
        strict.violations().clear();
    }

    /** A client at an MQTT protocol level sends CONNECT (unless it breaks the rule first), then the bad bytes. */
    record Case(String name, int level, boolean connectFirst, byte[] bad, String ruleId, boolean closes) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> mqttRules() {
        return Stream.of(
                new Case("packet before CONNECT", 4, false, packet(0xC0), "MQTT-3.1.0-1", true),
                new Case("second CONNECT", 4, true, connect(4, "again", 60), "MQTT-3.1.0-2", true),
                new Case("server-only packet (CONNACK) from a client", 5, true, packet(0x20, 0, 0, 0), "MQTT-2.1.2", true),
                new Case("wildcard in a PUBLISH topic, 3.1.1", 4, true, packet(0x30, 0, 3, 'a', '/', '+', 'x'), "MQTT-3.3.2-2", true),
                new Case("wildcard in a PUBLISH topic, 5", 5, true, packet(0x30, 0, 3, 'a', '/', '#', 0, 'x'), "MQTT-3.3.2-2", true),
                new Case("PUBLISH with both QoS bits", 4, true, packet(0x36, 0, 1, 'a', 0, 1, 'x'), "MQTT-3.3.1-4", true),
                new Case("SUBSCRIBE without a filter, 3.1.1", 4, true, packet(0x82, 0, 1), "MQTT-3.8.3-3", true),
                new Case("SUBSCRIBE without a filter, 5", 5, true, packet(0x82, 0, 1, 0), "MQTT-3.8.3-2", true),
                new Case("'#' not last in a filter, 3.1.1", 4, true, packet(0x82, 0, 1, 0, 5, 'a', '/', '#', '/', 'b', 0), "MQTT-4.7.1-2", true),
                new Case("UNSUBSCRIBE without a filter", 4, true, packet(0xA2, 0, 1), "MQTT-3.10.3-2", true),
                new Case("Topic Alias 0", 5, true, packet(0x30, 0, 3, 'a', '/', 'b', 3, 0x23, 0, 0, 'x'), "MQTT-3.3.2-8", true),
                new Case("Topic Alias above the maximum", 5, true, packet(0x30, 0, 3, 'a', '/', 'b', 3, 0x23, 0, 100, 'x'), "MQTT-3.3.2-9", true),
                new Case("reserved flags of SUBSCRIBE not 0010", 4, true, packet(0x80, 0, 1, 0, 1, 'a', 0), "MQTT-2.2.2-2", true),
                new Case("a remaining length of five bytes", 4, true, bytes(0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F), "MQTT-4.8", true),
                new Case("CONNECT with its reserved flag set", 4, false, reservedFlagConnect(), "MQTT-3.1.2-3", true),
                new Case("PUBACK for a packet id never sent (tolerated)", 4, true, packet(0x40, 0x12, 0x34), "MQTT-4.3.2-4", false));
    }

    private static byte[] reservedFlagConnect() {
        byte[] c = connect(4, "reserved", 60);
        c[9] = 0x03; // clean session, and bit 0, which MQTT reserves
        return c;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mqttRules")
    void eachBrokenMqttRuleIsRecordedAndAnswered(Case c) {
        String clientId = "bad-" + Math.abs(c.name().hashCode());
        try (RawSocket s = new RawSocket(strict.urls().mqttPort())) {
            if (c.connectFirst()) {
                s.send(connect(c.level(), clientId, 60));
                assertTrue(s.awaitBytes(4, 5_000).length >= 4, "CONNACK");
            }
            s.send(c.bad());
            Violation v = awaitViolation(strict);
            assertEquals(c.ruleId(), v.ruleId(), v.describe());
            assertEquals("mqtt", v.protocol());
            assertEquals("tcp", v.transport());
            if (c.connectFirst()) {
                assertEquals(clientId, v.clientId(), v.describe());
            }
            assertArrayEquals(c.bad(), v.bytes(), "the offending packet, byte for byte: " + v.describe());
            if (c.closes()) {
                assertTrue(s.awaitClosed(5_000), "the broker closes the connection");
            } else {
                s.send(packet(0xC0));
                byte[] all = s.awaitBytes(6, 5_000);
                assertEquals(6, all.length, "a tolerated violation leaves the connection open: PINGRESP answers");
                assertEquals((byte) 0xD0, all[4]);
            }
        }
        assertEquals(1, strict.violations().all().size(), strict.violations().report());
    }

    @Test
    void aClientSilentPastItsKeepAliveIsRecordedBeforeTheBrokerWouldDisconnectIt() throws Exception {
        try (RawSocket s = new RawSocket(strict.urls().mqttPort())) {
            s.send(connect(4, "sleepy", 2));
            assertTrue(s.awaitBytes(4, 5_000).length >= 4);
            // 2 s Keep Alive: strict allows 2.2 s, the broker disconnects at 3 s; 2.6 s is late but still connected
            Thread.sleep(2_600);
            s.send(packet(0xC0));
            Violation v = awaitViolation(strict);
            assertEquals("MQTT-3.1.2-23", v.ruleId(), v.describe());
            assertEquals("sleepy", v.clientId());
            assertEquals(6, s.awaitBytes(6, 5_000).length, "the broker itself tolerates it: PINGRESP");
        }
    }

    @Test
    void lenientBrokerAnswersTheSameButRecordsNothing() {
        try (Sluice lenient = Sluice.start(); RawSocket s = new RawSocket(lenient.urls().mqttPort())) {
            s.send(connect(4, "c", 60));
            assertTrue(s.awaitBytes(4, 5_000).length >= 4);
            s.send(packet(0x40, 0x12, 0x34));
            s.send(packet(0x30, 0, 3, 'a', '/', '+', 'x'));
            assertTrue(s.awaitClosed(5_000), "the wildcard PUBLISH still closes the connection");
            assertTrue(lenient.violations().isEmpty(), lenient.violations().report());
            assertFalse(lenient.journal().lines().isEmpty(), "the journal still tells what happened");
        }
    }

    static Stream<Object[]> stompRules() {
        String connect = "CONNECT\naccept-version:1.2\nhost:x\nlogin:stomp-bad\n\n\0";
        return Stream.of(
                new Object[] {"frame before CONNECT", "", "SEND\ndestination:/topic/a\n\nx\0", "STOMP-1.2-connecting"},
                new Object[] {"SEND without destination", connect, "SEND\n\nx\0", "STOMP-1.2-client-frames"},
                new Object[] {"subscription id used twice", connect,
                        "SUBSCRIBE\nid:1\ndestination:/topic/a\n\n\0SUBSCRIBE\nid:1\ndestination:/topic/b\n\n\0", "STOMP-1.2-subscribe-id"},
                new Object[] {"ACK of an unknown subscription", connect, "UNSUBSCRIBE\nid:9\n\n\0", "STOMP-1.2-unsubscribe"},
                new Object[] {"a server frame from a client", connect, "MESSAGE\ndestination:/topic/a\n\n\0", "STOMP-1.2-commands"},
                new Object[] {"COMMIT of no transaction", connect, "COMMIT\ntransaction:t9\n\n\0", "STOMP-1.2-transactions"});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stompRules")
    void eachBrokenStompRuleIsRecordedAndAnsweredWithError(String name, String before, String bad, String ruleId) {
        try (RawSocket s = new RawSocket(strict.urls().stompPort())) {
            if (!before.isEmpty()) {
                s.send(before);
                assertTrue(s.awaitText("CONNECTED", 5_000).contains("CONNECTED"));
            }
            s.send(bad);
            Violation v = awaitViolation(strict);
            assertEquals(ruleId, v.ruleId(), v.describe());
            assertEquals("stomp", v.protocol());
            if (!before.isEmpty()) {
                assertEquals("stomp-bad", v.clientId());
            }
            assertTrue(new String(v.bytes(), java.nio.charset.StandardCharsets.UTF_8)
                    .startsWith(bad.substring(0, bad.indexOf('\n'))), v.describe());
            assertTrue(s.awaitText("ERROR", 5_000).contains("ERROR"), "the client is told");
            assertTrue(s.awaitClosed(5_000));
        }
    }

    @Test
    void theReportNamesRuleSectionClientAndBytes() {
        try (RawSocket s = new RawSocket(strict.urls().mqttPort())) {
            s.send(connect(4, "reporter", 60));
            s.awaitBytes(4, 5_000);
            s.send(packet(0x30, 0, 3, 'a', '/', '+', 'x'));
            awaitViolation(strict);
        }
        String report = strict.violations().report();
        assertTrue(report.contains("[MQTT-3.3.2-2] (MQTT 3.3.2.1)"), report);
        assertTrue(report.contains("client 'reporter'"), report);
        assertTrue(report.contains("bytes: 30 06 00 03 61 2f 2b 78"), report);
        String json = strict.violations().jsonLines();
        assertTrue(json.contains("\"rule\":\"MQTT-3.3.2-2\""), json);
    }

    static Violation awaitViolation(Sluice sluice) {
        long deadline = System.currentTimeMillis() + 5_000;
        while (System.currentTimeMillis() < deadline) {
            List<Violation> all = sluice.violations().all();
            if (!all.isEmpty()) {
                return all.get(0);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        throw new AssertionError("no violation recorded; journal:\n" + sluice.journal().text());
    }

}
