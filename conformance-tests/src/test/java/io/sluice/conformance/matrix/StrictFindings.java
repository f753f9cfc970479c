package io.sluice.conformance.matrix;

import io.sluice.conformance.TestBroker;
import io.sluice.server.events.Violation;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What strict mode found about the clients of the matrix: every rule a client broke during its checks, except
 * in the bad-input checks, which break rules on purpose (their violations are left out by cell, and, where a
 * script runs a row's checks in one go, by the client id {@code bad-input-...} those checks use). Rendered
 * under the matrix, so each finding is listed with its client and rule.
 */
public final class StrictFindings {
    private static final Map<String, List<Violation>> BY_ROW = new ConcurrentHashMap<>();
    private static final Map<String, Boolean> ROWS_RUN = new ConcurrentHashMap<>();
    /** Violations of the bad-input checks, by rule: they show that strict mode was watching. */
    private static final Map<String, Integer> ON_PURPOSE = new ConcurrentHashMap<>();

    private StrictFindings() {
    }

    /** How many violations the current broker has recorded: taken before a check runs. */
    static int mark() {
        TestBroker broker = TestBroker.current();
        return broker == null ? 0 : broker.violations().size();
    }

    /** The violations since {@code mark}, found while a check of {@code row} for {@code feature} ran. */
    static void collect(Row row, Feature feature, int mark) {
        TestBroker broker = TestBroker.current();
        if (broker == null) {
            return;
        }
        ROWS_RUN.put(row.toString(), true);
        List<Violation> all = broker.violations();
        for (Violation v : all.subList(Math.min(mark, all.size()), all.size())) {
            if (feature == Feature.BAD_INPUT || (v.clientId() != null && v.clientId().startsWith("bad-input"))) {
                ON_PURPOSE.merge(v.ruleId(), 1, Integer::sum);
            } else {
                BY_ROW.computeIfAbsent(row.toString(), k -> new ArrayList<>()).add(v);
            }
        }
    }

    /** The section under the matrix. */
    public static String markdown() {
        StringBuilder md = new StringBuilder("\n## Strict mode findings\n\n");
        md.append("Every check above ran against the broker in strict mode (`--strict`, see docs/testing.md), which\n")
                .append("records each protocol rule a client breaks. The bad-input checks break rules on purpose and are\n")
                .append("left out.\n\n");
        StringBuilder purpose = new StringBuilder();
        new TreeMap<>(ON_PURPOSE).forEach((rule, n) -> purpose.append(purpose.length() == 0 ? "" : ", ")
                .append('`').append(rule).append("` ").append(n));
        md.append("The bad-input checks' own violations, recorded and left out: ")
                .append(purpose.length() == 0 ? "none" : purpose).append(".\n\n");
        if (BY_ROW.isEmpty()) {
            md.append("No client broke a rule in any other check: ").append(ROWS_RUN.size()).append(" rows, no violation.\n");
            return md.toString();
        }
        md.append("| client (row) | rule | section | what happened |\n|---|---|---|---|\n");
        new TreeMap<>(BY_ROW).forEach((row, list) -> {
            Map<String, Violation> firstByRule = new TreeMap<>();
            Map<String, Integer> count = new TreeMap<>();
            for (Violation v : list) {
                firstByRule.putIfAbsent(v.ruleId(), v);
                count.merge(v.ruleId(), 1, Integer::sum);
            }
            firstByRule.forEach((rule, v) -> md.append("| ").append(row).append(" | `").append(rule).append("` | ")
                    .append(v.rule().protocol()).append(' ').append(v.rule().section()).append(" | ")
                    .append(v.detail().replace("|", "\\|")).append(count.get(rule) > 1 ? " (" + count.get(rule) + " times)" : "")
                    .append(" |\n"));
        });
        md.append("\nRows without a line broke no rule (").append(ROWS_RUN.size() - BY_ROW.size()).append(" of ")
                .append(ROWS_RUN.size()).append(").\n");
        return md.toString();
    }
}
