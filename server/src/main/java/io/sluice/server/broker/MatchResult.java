package io.sluice.server.broker;

/** What one topic matched: ordinary subscriptions grouped per session, and shared groups. Immutable. */
public final class MatchResult {
    static final MatchResult EMPTY = new MatchResult(new Target[0], new SharedGroup[0], 0);

    final Target[] targets;
    final SharedGroup[] groups;
    final long generation;

    MatchResult(Target[] targets, SharedGroup[] groups, long generation) {
        this.targets = targets;
        this.groups = groups;
        this.generation = generation;
    }

    /** Sessions with at least one matching ordinary subscription. */
    public int sessionCount() {
        return targets.length;
    }

    /** The session of the {@code i}th match, {@code 0 <= i < sessionCount()}. */
    public Session session(int i) {
        return targets[i].session;
    }

    /** Shared subscription groups that matched. */
    public int groupCount() {
        return groups.length;
    }

    boolean isEmpty() {
        return targets.length == 0 && groups.length == 0;
    }
}
