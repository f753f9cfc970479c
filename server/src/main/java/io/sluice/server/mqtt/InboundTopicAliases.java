package io.sluice.server.mqtt;

/**
 * Topic aliases one MQTT 5 client sets towards the broker (section 3.3.2.3.4), 1 to the Topic Alias Maximum
 * the broker advertised; they last as long as the connection.
 */
final class InboundTopicAliases {
    private final String[] topics;

    InboundTopicAliases(int maximum) {
        this.topics = new String[maximum + 1];
    }

    boolean isValid(int alias) {
        return alias >= 1 && alias < topics.length;
    }

    /** The topic the alias stands for, or null when it was never set. */
    String topic(int alias) {
        return topics[alias];
    }

    void set(int alias, String topic) {
        topics[alias] = topic;
    }
}
