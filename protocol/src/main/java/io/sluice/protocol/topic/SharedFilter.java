package io.sluice.protocol.topic;

/**
 * A shared subscription filter {@code $share/GROUP/FILTER} (MQTT 5 section 4.8.2): the group name is one
 * non-empty level without wildcards, and the filter after it is an ordinary topic filter.
 */
public record SharedFilter(String group, String filter) {
    public static final String PREFIX = "$share/";

    public static boolean isShared(String filter) {
        return filter.startsWith(PREFIX);
    }

    public static SharedFilter parse(String shared) {
        if (!isShared(shared)) {
            throw new InvalidTopicException("'" + shared + "' is not a shared subscription");
        }
        int slash = shared.indexOf('/', PREFIX.length());
        if (slash < 0 || slash == PREFIX.length()) {
            throw new InvalidTopicException("shared subscription '" + shared + "' needs $share/GROUP/FILTER");
        }
        String group = shared.substring(PREFIX.length(), slash);
        if (group.indexOf('+') >= 0 || group.indexOf('#') >= 0) {
            throw new InvalidTopicException("share group name '" + group + "' contains a wildcard");
        }
        return new SharedFilter(group, TopicFilter.validate(shared.substring(slash + 1)));
    }
}
