package io.sluice.server.broker;

/**
 * What one client may read and write. Implementations are called on event loops and on publishers' threads at
 * once, so they are thread-safe and never block; they cache their answers per topic and filter.
 */
public interface TopicAccess {
    /** How much of what a filter matches the client may read. */
    enum Scope {
        /** every topic the filter matches: deliveries need no check */
        ALL,
        /** some of them: the subscription is granted, each delivery is checked ({@link #mayRead}) */
        SOME,
        /** none: the subscription is refused (MQTT 5 SUBACK 0x87, 3.1.1 0x80, STOMP ERROR) */
        NONE
    }

    TopicAccess ALL = new TopicAccess() {
        @Override
        public boolean mayPublish(String topic) {
            return true;
        }

        @Override
        public Scope subscribe(String filter) {
            return Scope.ALL;
        }

        @Override
        public boolean mayRead(String topic) {
            return true;
        }

        @Override
        public String toString() {
            return "TopicAccess.ALL";
        }
    };

    /** May the client publish to this topic name? */
    boolean mayPublish(String topic);

    /** How much of what this filter matches may the client read? */
    Scope subscribe(String filter);

    /** May the client receive a message published to this topic name? */
    boolean mayRead(String topic);

    /** Both rule sets must allow (an ACL file and a token's claims, say). */
    static TopicAccess both(TopicAccess a, TopicAccess b) {
        if (a == ALL) {
            return b;
        }
        if (b == ALL) {
            return a;
        }
        return new TopicAccess() {
            @Override
            public boolean mayPublish(String topic) {
                return a.mayPublish(topic) && b.mayPublish(topic);
            }

            @Override
            public Scope subscribe(String filter) {
                Scope x = a.subscribe(filter);
                Scope y = b.subscribe(filter);
                if (x == Scope.NONE || y == Scope.NONE) {
                    return Scope.NONE;
                }
                return x == Scope.ALL && y == Scope.ALL ? Scope.ALL : Scope.SOME;
            }

            @Override
            public boolean mayRead(String topic) {
                return a.mayRead(topic) && b.mayRead(topic);
            }
        };
    }
}
