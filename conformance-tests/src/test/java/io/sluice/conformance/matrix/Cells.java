package io.sluice.conformance.matrix;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.function.ThrowingSupplier;
import org.opentest4j.TestAbortedException;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a row's checks into JUnit dynamic tests, one per cell, and records every outcome in the {@link Matrix}:
 * a cell whose broker feature is not built is aborted as "not built" (never run, never a pass); a missing client
 * is "skipped" with what to install, or a failure under {@code -Dsluice.requireAllClients=true}.
 */
public final class Cells {
    private Cells() {
    }

    public static boolean clientsRequired() {
        return Boolean.getBoolean("sluice.requireAllClients");
    }

    /** The features of the row that are applicable and built: the ones a script should run. */
    public static Set<Feature> runnable(Row row) {
        Set<Feature> out = EnumSet.noneOf(Feature.class);
        for (Feature f : row.features()) {
            if (row.missing(f).isEmpty()) {
                out.add(f);
            }
        }
        return out;
    }

    /**
     * @param unavailable null when the client can run here, otherwise what is missing and how to install it
     * @param checks      each applicable feature's check; returns a detail line, throws on failure
     */
    public static DynamicContainer row(Row row, String unavailable, Map<Feature, ThrowingSupplier<String>> checks) {
        List<DynamicNode> cells = new ArrayList<>();
        for (Feature f : Feature.values()) {
            if (!row.applies(f)) {
                continue;
            }
            ThrowingSupplier<String> check = checks.get(f);
            cells.add(DynamicTest.dynamicTest(f.title(), () -> run(row, f, unavailable, check)));
        }
        return DynamicContainer.dynamicContainer(row.toString(), cells);
    }

    private static void run(Row row, Feature f, String unavailable, ThrowingSupplier<String> check) throws Throwable {
        Set<Capability> missing = row.missing(f);
        if (!missing.isEmpty()) {
            Matrix.record(row, f, new Outcome(Outcome.Kind.NOT_BUILT, "needs " + missing));
            Assumptions.abort("not built: the broker does not offer " + missing + " yet");
        }
        if (unavailable != null) {
            if (clientsRequired()) {
                Matrix.record(row, f, Outcome.fail(unavailable));
                Assertions.fail(unavailable + " (-Dsluice.requireAllClients=true)");
            }
            Matrix.record(row, f, new Outcome(Outcome.Kind.SKIPPED, unavailable));
            Assumptions.abort(unavailable);
        }
        if (check == null) {
            Matrix.record(row, f, Outcome.fail("no check implemented"));
            Assertions.fail("no check implemented for " + row + " / " + f.title());
        }
        int mark = StrictFindings.mark();
        try {
            String detail = check.get();
            Matrix.record(row, f, Outcome.pass(detail == null ? "" : detail));
            System.out.println("[conformance] " + row + " / " + f.title() + ": pass " + (detail == null ? "" : detail));
        } catch (TestAbortedException e) {
            Matrix.record(row, f, new Outcome(Outcome.Kind.SKIPPED, e.getMessage()));
            throw e;
        } catch (Throwable t) {
            Matrix.record(row, f, Outcome.fail(String.valueOf(t)));
            throw t;
        } finally {
            StrictFindings.collect(row, f, mark);
        }
    }
}
