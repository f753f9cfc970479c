package io.sluice.server.broker;

/** What one topic matched: ordinary subscriptions grouped per session, and shared groups. Immutable. */
final class MatchResult {
    static final MatchResult EMPTY = new MatchResult(new Target[0], new SharedGroup[0], 0);

    final Target[] targets;
    final SharedGroup[] groups;
    final long generation;

    MatchResult(Target[] targets, SharedGroup[] groups, long generation) {
        this.targets = targets;
        this.groups = groups;
        this.generation = generation;
    }

    boolean isEmpty() {
        return targets.length == 0 && groups.length == 0;
    }
}
