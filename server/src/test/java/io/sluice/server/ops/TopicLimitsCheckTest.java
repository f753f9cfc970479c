package io.sluice.server.ops;

import io.sluice.server.events.Limit;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The limit checks at their edges, including multi-byte UTF-8 (length is in bytes, as MQTT counts it). */
class TopicLimitsCheckTest {
    private final TopicLimits limits = new TopicLimits(8, 3, 2);

    @Test
    void lengthInUtf8Bytes() {
        assertNull(limits.check("abcdefgh"));
        assertEquals(Limit.TOPIC_LENGTH, limits.check("abcdefghi"));
        assertNull(limits.check("éééé"), "4 chars, 8 bytes");
        assertEquals(Limit.TOPIC_LENGTH, limits.check("ééééa"), "5 chars, 9 bytes");
        assertEquals(Limit.TOPIC_LENGTH, limits.check("€€€"), "3 chars, 9 bytes");
    }

    @Test
    void levels() {
        assertNull(limits.check("a/b/c"));
        assertEquals(Limit.TOPIC_LEVELS, limits.check("a/b/c/"), "an empty level counts");
        assertEquals(Limit.TOPIC_LEVELS, limits.check("/a/b/"));
    }

    @Test
    void subscriptions() {
        assertTrue(limits.allowsAnotherSubscription(1));
        assertFalse(limits.allowsAnotherSubscription(2));
    }
}
