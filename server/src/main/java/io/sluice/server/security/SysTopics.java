package io.sluice.server.security;

import io.sluice.server.broker.TopicAccess;

/** $SYS topics, which tell about every client of the broker, are readable only by the configured users. */
final class SysTopics {
    private SysTopics() {
    }

    /** Everything but reading $SYS. */
    static final TopicAccess NOT_READABLE = new TopicAccess() {
        @Override
        public boolean mayPublish(String topic) {
            return true;
        }

        @Override
        public Scope subscribe(String filter) {
            // a filter starting with a wildcard never matches $SYS (MQTT section 4.7.2)
            return filter.equals("$SYS") || filter.startsWith("$SYS/") ? Scope.NONE : Scope.ALL;
        }

        @Override
        public boolean mayRead(String topic) {
            return !(topic.equals("$SYS") || topic.startsWith("$SYS/"));
        }
    };
}
