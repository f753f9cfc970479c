package io.sluice.server.security;

import io.sluice.server.Main;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Nothing is open to a network by accident (the rule of Mosquitto 2.0). */
class SafeDefaultsTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private Main.Started run(String... args) {
        return Main.start(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void withNoBindAndNoAuthenticationEveryListenerIsOnLoopback() {
        Main.Started s = run("--mqtt-port", "0", "--http-port", "0", "--stomp-port", "0");
        try {
            s.server().listeners().forEach((name, address) ->
                    assertTrue(address.getAddress().isLoopbackAddress(), name + " bound to " + address));
            assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("Sluice ready: mqtt=127.0.0.1:"), out.toString());
        } finally {
            s.server().close();
        }
    }

    @Test
    void aNetworkBindWithoutAuthenticationRefusesToStartNamingTheOptIn() {
        Main.Started s = run("--bind", "0.0.0.0", "--mqtt-port", "0", "--http-port", "0", "--stomp-port", "0");
        assertNull(s.server());
        assertEquals(1, s.exitCode());
        String message = err.toString(StandardCharsets.UTF_8);
        assertTrue(message.contains("--allow-anonymous true"), message);
        assertTrue(message.contains("--bind 0.0.0.0"), message);
    }

    /** Every combination of bind, authentication and opt-in. */
    @Test
    void theRuleForEveryCombination() {
        for (String loopback : new String[] {"127.0.0.1", "127.0.0.2", "::1", "localhost"}) {
            for (boolean auth : new boolean[] {false, true}) {
                for (boolean anon : new boolean[] {false, true}) {
                    assertEquals(loopback, BindPolicy.host(loopback, auth, anon));
                }
            }
        }
        for (String network : new String[] {"0.0.0.0", "::", "192.0.2.10"}) {
            assertThrows(IllegalStateException.class, () -> BindPolicy.host(network, false, false), network);
            assertEquals(network, BindPolicy.host(network, false, true));
            assertEquals(network, BindPolicy.host(network, true, false));
            assertEquals(network, BindPolicy.host(network, true, true));
        }
        assertEquals("127.0.0.1", BindPolicy.host("", false, false));
        assertEquals("127.0.0.1", BindPolicy.host("", false, true));
        assertEquals("0.0.0.0", BindPolicy.host("", true, false));
        assertTrue(BindPolicy.anonymousAllowed(false, false));
        assertTrue(BindPolicy.anonymousAllowed(true, true));
        assertEquals(false, BindPolicy.anonymousAllowed(true, false));
    }
}
