package io.sluice.server.events;

import java.util.Locale;

/** A per-request limit a SUBSCRIBE, PUBLISH or SEND can exceed; counted in {@code sluice_limit_rejections_total}. */
public enum Limit {
    SUBSCRIPTIONS_PER_CLIENT("max-subscriptions-per-client"),
    TOPIC_LENGTH("max-topic-length"),
    TOPIC_LEVELS("max-topic-levels"),
    /** The broker's total of sessions: a STOMP SUBSCRIBE (or a new queue) opens one. */
    SESSIONS("max-sessions");

    private final String label = name().toLowerCase(Locale.ROOT);
    private final String setting;

    Limit(String setting) {
        this.setting = setting;
    }

    public String label() {
        return label;
    }

    /** The flag that sets it, for log lines that say what to do. */
    public String setting() {
        return setting;
    }
}
