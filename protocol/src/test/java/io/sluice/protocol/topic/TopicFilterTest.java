package io.sluice.protocol.topic;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TopicFilterTest {

    @ParameterizedTest(name = "valid filter {0} (MQTT 5 4.7.1)")
    @ValueSource(strings = {"#", "+", "a/b", "a/+/c", "a/#", "+/+", "/", "//", "+/#", "$SYS/#", "a//b", "sport/tennis/+"})
    void acceptsValidFilters(String filter) {
        assertEquals(filter, TopicFilter.validate(filter));
    }

    @ParameterizedTest(name = "invalid filter {0} (MQTT 5 4.7.1)")
    @ValueSource(strings = {"", "a#", "a/#/b", "a+", "a/b+", "+a", "#/a", "a/+b/c", "##", "a\u0000b"})
    void rejectsInvalidFilters(String filter) {
        assertThrows(InvalidTopicException.class, () -> TopicFilter.validate(filter));
    }

    @ParameterizedTest(name = "invalid topic name {0} (MQTT 5 4.7.3)")
    @ValueSource(strings = {"", "a/+", "#", "a/#", "a\u0000"})
    void rejectsInvalidNames(String name) {
        assertThrows(InvalidTopicException.class, () -> TopicName.validate(name));
    }

    @Test
    void rejectsOverlongNames() {
        String longName = "é".repeat(40_000);
        assertThrows(InvalidTopicException.class, () -> TopicName.validate(longName));
        assertEquals("a".repeat(65_535), TopicName.validate("a".repeat(65_535)));
    }

    @ParameterizedTest(name = "{0} matches {1}: {2}")
    @CsvSource({
            "sport/tennis/player1/#, sport/tennis/player1, true",
            "sport/tennis/player1/#, sport/tennis/player1/ranking, true",
            "sport/#, sport, true",
            "#, a/b/c, true",
            "+, a, true",
            "+, a/b, false",
            "+/+, /finance, true",
            "/+, /finance, true",
            "+, /finance, false",
            "sport/+/player1, sport/tennis/player1, true",
            "sport/+, sport/, true",
            "sport/+, sport, false",
            "#, $SYS/uptime, false",
            "+/uptime, $SYS/uptime, false",
            "$SYS/#, $SYS/uptime, true",
            "$SYS/+, $SYS/uptime, true",
            "a/b, a/b, true",
            "a/b, a/c, false",
            "a//b, a//b, true",
            "a/+/b, a//b, true",
    })
    void matchesPerSpecExamples(String filter, String topic, boolean expected) {
        assertEquals(expected, TopicFilter.matches(filter, topic));
    }

    /**
     * The in-place matcher against the definition it replaces (split both at '/', compare level by level), for
     * every filter and topic of up to four levels over an alphabet of empty, one-letter, two-letter (a prefix of
     * another), '+', '#' and '$' levels: the rule class (empty levels, '#' anywhere, '+' against empty levels,
     * '$' topics, trailing '/'), not examples.
     */
    @Test
    void matchesAgreesWithLevelByLevelDefinition() {
        String[] levels = {"", "a", "ab", "+", "#", "$SYS"};
        java.util.List<String> strings = new java.util.ArrayList<>();
        for (int n = 1; n <= 4; n++) {
            int combinations = (int) Math.pow(levels.length, n);
            for (int c = 0; c < combinations; c++) {
                StringBuilder sb = new StringBuilder();
                int rest = c;
                for (int i = 0; i < n; i++) {
                    sb.append(i == 0 ? "" : "/").append(levels[rest % levels.length]);
                    rest /= levels.length;
                }
                strings.add(sb.toString());
            }
        }
        int agreed = 0;
        for (String filter : strings) {
            for (String topic : strings) {
                if (topic.indexOf('+') >= 0 || topic.indexOf('#') >= 0) {
                    continue; // a topic name has no wildcards
                }
                assertEquals(bySplitting(filter, topic), TopicFilter.matches(filter, topic), filter + " against " + topic);
                agreed++;
            }
        }
        assertTrue(agreed > 500_000, "compared " + agreed);
    }

    private static boolean bySplitting(String filter, String topic) {
        if (topic.startsWith("$") && !filter.isEmpty() && (filter.charAt(0) == '+' || filter.charAt(0) == '#')) {
            return false;
        }
        String[] f = filter.split("/", -1);
        String[] t = topic.split("/", -1);
        int i = 0;
        for (; i < f.length; i++) {
            if (f[i].equals("#")) {
                return true;
            }
            if (i >= t.length) {
                return false;
            }
            if (!f[i].equals("+") && !f[i].equals(t[i])) {
                return false;
            }
        }
        return i == t.length;
    }

    @Test
    void parsesSharedSubscriptions() {
        SharedFilter s = SharedFilter.parse("$share/group1/sensors/+/temp");
        assertEquals("group1", s.group());
        assertEquals("sensors/+/temp", s.filter());
        assertTrue(SharedFilter.isShared("$share/g/#"));
        assertFalse(SharedFilter.isShared("share/g/#"));
        assertThrows(InvalidTopicException.class, () -> SharedFilter.parse("$share/g"));
        assertThrows(InvalidTopicException.class, () -> SharedFilter.parse("$share//a"));
        assertThrows(InvalidTopicException.class, () -> SharedFilter.parse("$share/g+/a"));
        assertThrows(InvalidTopicException.class, () -> SharedFilter.parse("$share/g/a#"));
    }
}
