package io.sluice.protocol.topic;

/**
 * Validation and matching of topic filters (MQTT 5 section 4.7.1): '+' matches one level, '#' the rest,
 * and a filter that starts with a wildcard does not match a topic that starts with '$' (section 4.7.2).
 * Shared subscriptions ({@code $share/GROUP/FILTER}, section 4.8.2) are parsed by {@link SharedFilter}.
 */
public final class TopicFilter {
    private TopicFilter() {
    }

    public static String validate(String filter) {
        if (filter == null || filter.isEmpty()) {
            throw new InvalidTopicException("topic filter is empty");
        }
        int levelStart = 0;
        for (int i = 0; i < filter.length(); i++) {
            char c = filter.charAt(i);
            if (c == '/') {
                levelStart = i + 1;
            } else if (c == '+') {
                boolean alone = i == levelStart && (i + 1 == filter.length() || filter.charAt(i + 1) == '/');
                if (!alone) {
                    throw new InvalidTopicException("'+' must fill a whole level in '" + filter + "'");
                }
            } else if (c == '#') {
                if (i != levelStart || i + 1 != filter.length()) {
                    throw new InvalidTopicException("'#' must be the last level, alone, in '" + filter + "'");
                }
            } else if (c == '\u0000') {
                throw new InvalidTopicException("topic filter contains U+0000");
            }
        }
        TopicName.checkLength(filter);
        return filter;
    }

    public static boolean isValid(String filter) {
        try {
            validate(filter);
            return true;
        } catch (InvalidTopicException e) {
            return false;
        }
    }

    public static boolean hasWildcard(String filter) {
        return filter.indexOf('+') >= 0 || filter.indexOf('#') >= 0;
    }

    /**
     * Reference matcher, level by level; the broker's trie must agree with it. It walks both strings in place (no
     * split, no substrings): the publish path asks it for every message (history filters, conflation), so it must
     * not allocate.
     */
    public static boolean matches(String filter, String topic) {
        if (TopicName.isSystemTopic(topic) && !filter.isEmpty()
                && (filter.charAt(0) == '+' || filter.charAt(0) == '#')) {
            return false;
        }
        int filterLength = filter.length();
        int topicLength = topic.length();
        int f = 0; // start of the filter's current level
        int t = 0; // start of the topic's current level; past topicLength once the topic has no more levels
        while (true) {
            int fEnd = filter.indexOf('/', f);
            if (fEnd < 0) {
                fEnd = filterLength;
            }
            int levelLength = fEnd - f;
            if (levelLength == 1 && filter.charAt(f) == '#') {
                return true; // the rest, including the parent level alone ("a/#" matches "a")
            }
            if (t > topicLength) {
                return false; // the filter has levels left, the topic none
            }
            int tEnd = topic.indexOf('/', t);
            if (tEnd < 0) {
                tEnd = topicLength;
            }
            boolean plus = levelLength == 1 && filter.charAt(f) == '+';
            if (!plus && (levelLength != tEnd - t || !filter.regionMatches(f, topic, t, levelLength))) {
                return false;
            }
            if (fEnd == filterLength) {
                return tEnd == topicLength;
            }
            f = fEnd + 1;
            t = tEnd + 1; // past topicLength when this was the topic's last level
        }
    }
}
