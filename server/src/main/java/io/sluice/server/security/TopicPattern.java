package io.sluice.server.security;

import io.sluice.protocol.topic.TopicLevels;
import io.sluice.protocol.topic.TopicName;

/**
 * One ACL topic filter, split into levels once, and the three questions an ACL asks of it: does it match a
 * topic name, does it cover every topic a subscription filter matches, does it share any topic with one.
 * As in MQTT (section 4.7.2), a filter starting with a wildcard never matches a topic starting with '$'.
 */
final class TopicPattern {
    private final String text;
    private final String[] levels;

    TopicPattern(String filter) {
        this.text = filter;
        this.levels = TopicLevels.split(filter);
    }

    String text() {
        return text;
    }

    private boolean wildcardFirst() {
        return levels[0].equals("+") || levels[0].equals("#");
    }

    /** Does this filter match the topic name? */
    boolean matches(String[] topic, boolean system) {
        if (system && wildcardFirst()) {
            return false;
        }
        for (int i = 0; i < levels.length; i++) {
            String l = levels[i];
            if (l.equals("#")) {
                return true;
            }
            if (i >= topic.length || (!l.equals("+") && !l.equals(topic[i]))) {
                return false;
            }
        }
        return levels.length == topic.length;
    }

    /** Does every topic the subscription {@code filter} matches also match this pattern? */
    boolean covers(String[] filter) {
        if (wildcardFirst() && startsWithDollar(filter)) {
            return false;
        }
        for (int i = 0; i < levels.length; i++) {
            String l = levels[i];
            if (l.equals("#")) {
                return true;
            }
            if (i >= filter.length) {
                return false;
            }
            String f = filter[i];
            if (l.equals("+") ? f.equals("#") : !l.equals(f)) {
                return false;
            }
        }
        return levels.length == filter.length;
    }

    /** Is there a topic name both this pattern and the subscription {@code filter} match? */
    boolean overlaps(String[] filter) {
        boolean dollarFilter = startsWithDollar(filter);
        boolean dollarPattern = levels[0].startsWith("$");
        // '$' topics are matched only by a literal '$' first level, on the side that has one
        if ((dollarFilter && wildcardFirst()) || (dollarPattern && isWildcard(filter[0]))) {
            return false;
        }
        int n = Math.max(levels.length, filter.length);
        for (int i = 0; i < n; i++) {
            String l = i < levels.length ? levels[i] : null;
            String f = i < filter.length ? filter[i] : null;
            if ("#".equals(l) || "#".equals(f)) {
                return true;
            }
            if (l == null || f == null) {
                return false;
            }
            if (!l.equals("+") && !f.equals("+") && !l.equals(f)) {
                return false;
            }
        }
        return true;
    }

    static String[] split(String topicOrFilter) {
        return TopicLevels.split(topicOrFilter);
    }

    static boolean isSystem(String topic) {
        return TopicName.isSystemTopic(topic);
    }

    private static boolean startsWithDollar(String[] filter) {
        return filter[0].startsWith("$");
    }

    private static boolean isWildcard(String level) {
        return level.equals("+") || level.equals("#");
    }

    @Override
    public String toString() {
        return text;
    }
}
