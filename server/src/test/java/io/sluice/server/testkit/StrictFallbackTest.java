package io.sluice.server.testkit;

import io.sluice.server.Sluice;
import io.sluice.server.events.Violation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;

import static io.sluice.server.testkit.StrictModeTest.awaitViolation;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Strict mode on the HTTP fallback and on STOMP heart-beats: a client that breaks each class of HTTP rule (a
 * method the path does not allow, a body over the limit, a bad reader or publish request, a resume id the broker
 * never sent) gets the same answer as without strict mode, and the breach is recorded under its rule with the
 * request quoted; a STOMP client later than its agreed heart-beat interval is recorded while the broker itself
 * still tolerates it.
 */
class StrictFallbackTest {
    private static Sluice strict;

    @BeforeAll
    static void start() {
        strict = Sluice.builder().strict(true)
                .set("http-max-content-length", "1k")
                .set("poll-timeout", "200ms")
                .set("stomp-heartbeat-min", "100ms")
                .start();
    }

    @AfterAll
    static void stop() {
        strict.close();
    }

    @BeforeEach
    void forget() {
        strict.violations().clear();
    }

    /** One HTTP request (head, and a body of {@code bodyBytes} bytes), the status it gets, the rule it breaks. */
    record Case(String name, String head, int bodyBytes, String status, String ruleId) {
        @Override
        public String toString() {
            return name;
        }

        byte[] bytes() {
            String h = head + "\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    + (bodyBytes > 0 ? "Content-Length: " + bodyBytes + "\r\n" : "") + "\r\n";
            byte[] headBytes = h.getBytes(StandardCharsets.US_ASCII);
            byte[] all = java.util.Arrays.copyOf(headBytes, headBytes.length + bodyBytes);
            java.util.Arrays.fill(all, headBytes.length, all.length, (byte) 'x');
            return all;
        }
    }

    static Stream<Case> httpRules() {
        return Stream.of(
                new Case("SSE reader with '#' not last", "GET /sse?filter=a/%23/b HTTP/1.1", 0, "400", "SLUICE-HTTP-reader"),
                new Case("long poll without a filter", "GET /poll HTTP/1.1", 0, "400", "SLUICE-HTTP-reader"),
                new Case("SSE reader asking for a shared subscription", "GET /sse?filter=%24share/g/a HTTP/1.1", 0, "400", "SLUICE-HTTP-reader"),
                new Case("SSE reader with an unknown envelope", "GET /sse?filter=a&envelope=xml HTTP/1.1", 0, "400", "SLUICE-HTTP-reader"),
                new Case("POST to a reader's path", "POST /sse?filter=a HTTP/1.1", 1, "405", "RFC9110-15.5.6"),
                new Case("GET on /publish", "GET /publish?topic=a HTTP/1.1", 0, "405", "RFC9110-15.5.6"),
                new Case("publish at QoS 2", "POST /publish?topic=a&qos=2 HTTP/1.1", 1, "400", "SLUICE-HTTP-publish"),
                new Case("publish without a topic", "POST /publish HTTP/1.1", 1, "400", "SLUICE-HTTP-publish"),
                new Case("publish to a wildcard topic", "POST /publish?topic=a/%2B HTTP/1.1", 1, "400", "SLUICE-HTTP-publish"),
                new Case("publish with retain=maybe", "POST /publish?topic=a&retain=maybe HTTP/1.1", 1, "400", "SLUICE-HTTP-publish"),
                new Case("publish body over the limit", "POST /publish?topic=a HTTP/1.1", 2048, "413", "RFC9110-15.5.14"),
                new Case("long poll resuming from an id never sent (tolerated)", "GET /poll?filter=a&since=garbage HTTP/1.1", 0, "200", "HTML-9.2-Last-Event-ID"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("httpRules")
    void eachBrokenHttpRuleIsRecordedAndAnswered(Case c) {
        try (RawSocket s = new RawSocket(strict.urls().httpPort())) {
            s.send(c.bytes());
            String answer = s.awaitText("\r\n", 5_000);
            assertTrue(answer.startsWith("HTTP/1.1 " + c.status() + " "), "the same answer as without strict mode: " + answer);
            Violation v = awaitViolation(strict);
            assertEquals(c.ruleId(), v.ruleId(), v.describe());
            assertEquals("http", v.transport());
            String quoted = new String(v.bytes(), StandardCharsets.UTF_8);
            assertTrue(quoted.startsWith(c.head() + "\r\n"), "the request line quoted: " + quoted);
        }
        assertEquals(1, strict.violations().all().size(), strict.violations().report());
    }

    @Test
    void anSseReaderResumingFromAnUnknownIdIsServedAndRecorded() {
        try (RawSocket s = new RawSocket(strict.urls().httpPort())) {
            s.send(("GET /sse?filter=resume/%23&token=secret-token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Last-Event-ID: not-an-id\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            assertTrue(s.awaitText("text/event-stream", 5_000).startsWith("HTTP/1.1 200 "), s.text());
            Violation v = awaitViolation(strict);
            assertEquals("HTML-9.2-Last-Event-ID", v.ruleId(), v.describe());
            assertEquals("sse", v.protocol());
            assertTrue(v.clientId().startsWith("$sse/"), v.describe());
            String quoted = new String(v.bytes(), StandardCharsets.UTF_8);
            assertTrue(quoted.contains("Last-Event-ID: not-an-id"), quoted);
            assertFalse(quoted.contains("secret-token"), "a token in the query string is never quoted: " + quoted);
        }
    }

    @Test
    void aWellFormedPublishAndReaderRecordNothing() {
        try (RawSocket s = new RawSocket(strict.urls().httpPort())) {
            s.send(new Case("", "POST /publish?topic=fine/t&qos=1 HTTP/1.1", 5, "", "").bytes());
            assertTrue(s.awaitText("\r\n", 5_000).startsWith("HTTP/1.1 200 "), s.text());
        }
        try (RawSocket s = new RawSocket(strict.urls().httpPort())) {
            s.send(new Case("", "GET /poll?filter=fine/%23 HTTP/1.1", 0, "", "").bytes());
            assertTrue(s.awaitText("\r\n", 5_000).startsWith("HTTP/1.1 200 "), s.text());
        }
        assertTrue(strict.violations().isEmpty(), strict.violations().report());
    }

    // ---- STOMP heart-beats

    @Test
    void aStompClientLatePastItsHeartBeatIsRecordedWhileTheBrokerStillToleratesIt() throws Exception {
        try (RawSocket s = new RawSocket(strict.urls().stompPort())) {
            // the client promises a heart-beat every 300 ms: strict allows 400 ms, the broker closes after 5.3 s
            s.send("CONNECT\naccept-version:1.2\nhost:x\nlogin:slow-beats\nheart-beat:300,0\n\n\0");
            assertTrue(s.awaitText("CONNECTED", 5_000).contains("heart-beat:0,300"), s.text());
            Thread.sleep(700); // the silence under test
            s.send("\n");
            Violation v = awaitViolation(strict);
            assertEquals("STOMP-1.2-heart-beating", v.ruleId(), v.describe());
            assertEquals("slow-beats", v.clientId());
            assertEquals(0, v.bytes().length, "a missing heart-beat has no bytes to quote");
            s.send("SUBSCRIBE\nid:1\ndestination:/topic/beats\nreceipt:r1\n\n\0");
            assertTrue(s.awaitText("RECEIPT", 5_000).contains("receipt-id:r1"), "still connected: " + s.text());
        }
        assertEquals(1, strict.violations().all().size(), strict.violations().report());
    }

    @Test
    void aStompClientBeatingOnTimeRecordsNothing() throws Exception {
        try (RawSocket s = new RawSocket(strict.urls().stompPort())) {
            // a heart-beat every second promised, one every 200 ms sent: on time even on a busy machine
            s.send("CONNECT\naccept-version:1.2\nhost:x\nlogin:good-beats\nheart-beat:1000,0\n\n\0");
            assertTrue(s.awaitText("CONNECTED", 5_000).contains("CONNECTED"), s.text());
            for (int i = 0; i < 6; i++) {
                Thread.sleep(200); // the client's own pace
                s.send("\n");
            }
            s.send("SUBSCRIBE\nid:1\ndestination:/topic/beats\nreceipt:r2\n\n\0");
            assertTrue(s.awaitText("RECEIPT", 5_000).contains("receipt-id:r2"), s.text());
        }
        assertTrue(strict.violations().isEmpty(), strict.violations().report());
    }
}
