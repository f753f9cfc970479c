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

    /** Reference matcher, level by level; the broker's trie must agree with it. */
    public static boolean matches(String filter, String topic) {
        if (TopicName.isSystemTopic(topic) && !filter.isEmpty()
                && (filter.charAt(0) == '+' || filter.charAt(0) == '#')) {
            return false;
        }
        String[] f = TopicLevels.split(filter);
        String[] t = TopicLevels.split(topic);
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
}
