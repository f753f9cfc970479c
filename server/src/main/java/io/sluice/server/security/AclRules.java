package io.sluice.server.security;

import io.sluice.server.broker.TopicAccess;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The topic rules of one client (an ACL file's lines for its user and patterns, or a token's claims) as a
 * {@link TopicAccess}. As in Mosquitto 2.0, a deny rule wins over any grant; what no rule grants is refused.
 * Answers are cached per topic and per filter, so a client's repeated publishes and deliveries on one topic
 * cost a map lookup, not a walk over the rules; each cache is bounded and starts over when full.
 */
final class AclRules implements TopicAccess {
    /** What a rule allows: read, write, both, or nothing (a deny rule). */
    enum Access {
        READ(true, false), WRITE(false, true), READWRITE(true, true), DENY(false, false);

        final boolean read;
        final boolean write;

        Access(boolean read, boolean write) {
            this.read = read;
            this.write = write;
        }

        static Access parse(String word) {
            return switch (word) {
                case "read" -> READ;
                case "write" -> WRITE;
                case "readwrite" -> READWRITE;
                case "deny" -> DENY;
                default -> null;
            };
        }
    }

    record Rule(Access access, TopicPattern pattern) {
        Rule(Access access, String filter) {
            this(access, new TopicPattern(filter));
        }
    }

    /** Entries per cache: a client's working set of topics; a wider one walks the rules again after a reset. */
    static final int CACHE_LIMIT = 1024;

    private final List<Rule> rules;
    private final Map<String, Boolean> publish = new ConcurrentHashMap<>();
    private final Map<String, Boolean> read = new ConcurrentHashMap<>();
    private final Map<String, Scope> subscribe = new ConcurrentHashMap<>();

    AclRules(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    List<Rule> rules() {
        return rules;
    }

    @Override
    public boolean mayPublish(String topic) {
        return cached(publish, topic, () -> decide(topic, false));
    }

    @Override
    public boolean mayRead(String topic) {
        return cached(read, topic, () -> decide(topic, true));
    }

    @Override
    public Scope subscribe(String filter) {
        return cached(subscribe, filter, () -> scope(filter));
    }

    private boolean decide(String topic, boolean reading) {
        String[] levels = TopicPattern.split(topic);
        boolean system = TopicPattern.isSystem(topic);
        boolean granted = false;
        for (Rule r : rules) {
            if (r.pattern.matches(levels, system)) {
                if (r.access == Access.DENY) {
                    return false;
                }
                granted |= reading ? r.access.read : r.access.write;
            }
        }
        return granted;
    }

    private Scope scope(String filter) {
        String[] levels = TopicPattern.split(filter);
        boolean covered = false;
        boolean someReadable = false;
        boolean someDenied = false;
        for (Rule r : rules) {
            if (r.access == Access.DENY) {
                if (r.pattern.covers(levels)) {
                    return Scope.NONE;
                }
                someDenied |= r.pattern.overlaps(levels);
            } else if (r.access.read) {
                covered |= r.pattern.covers(levels);
                someReadable |= covered || r.pattern.overlaps(levels);
            }
        }
        if (!someReadable) {
            return Scope.NONE;
        }
        return covered && !someDenied ? Scope.ALL : Scope.SOME;
    }

    private static <V> V cached(Map<String, V> cache, String key, java.util.function.Supplier<V> compute) {
        V v = cache.get(key);
        if (v == null) {
            v = compute.get();
            if (cache.size() >= CACHE_LIMIT) {
                cache.clear();
            }
            cache.put(key, v);
        }
        return v;
    }

    @Override
    public String toString() {
        return "AclRules" + rules;
    }
}
