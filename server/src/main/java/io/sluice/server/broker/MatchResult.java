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

    /** The {@code i}th shared group, {@code 0 <= i < groupCount()}. */
    public SharedGroup group(int i) {
        return groups[i];
    }

    /** The same match with only the shared groups {@code keep} says to keep (by index). */
    public MatchResult withGroups(java.util.function.IntPredicate keep) {
        int n = 0;
        for (int i = 0; i < groups.length; i++) {
            if (keep.test(i)) {
                n++;
            }
        }
        if (n == groups.length) {
            return this;
        }
        SharedGroup[] kept = new SharedGroup[n];
        int j = 0;
        for (int i = 0; i < groups.length; i++) {
            if (keep.test(i)) {
                kept[j++] = groups[i];
            }
        }
        return new MatchResult(targets, kept, generation);
    }

    /** The same match without its ordinary subscriptions. */
    MatchResult groupsOnly() {
        return targets.length == 0 ? this : new MatchResult(new Target[0], groups, generation);
    }

    boolean isEmpty() {
        return targets.length == 0 && groups.length == 0;
    }
}
