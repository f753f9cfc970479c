package io.sluice.conformance.matrix;

/** One cell's result. */
public record Outcome(Kind kind, String detail) {
    public enum Kind {
        PASS("pass"), FAIL("FAIL"), NOT_BUILT("not built"), SKIPPED("skipped"), NOT_APPLICABLE("—");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    public static Outcome pass(String detail) {
        return new Outcome(Kind.PASS, detail);
    }

    public static Outcome fail(String detail) {
        return new Outcome(Kind.FAIL, detail);
    }
}
