package io.sluice.conformance.matrix;

import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestPlan;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Prints the compatibility matrix when the test plan ends and writes it to {@code docs/compatibility.md}
 * (system property {@code sluice.matrixFile}), so the committed table is the one this run measured. A filtered
 * run (-Dtest=...) that leaves cells unreached prints its partial table but does not overwrite the file.
 * Registered through META-INF/services for the JUnit Platform launcher.
 */
public final class MatrixReport implements TestExecutionListener {

    @Override
    public void testPlanExecutionFinished(TestPlan testPlan) {
        if (Matrix.isEmpty()) {
            return;
        }
        String table = Matrix.markdown() + StrictFindings.markdown();
        StringBuilder out = new StringBuilder("\n==== Sluice compatibility matrix ====\n").append(table);
        for (String failure : Matrix.failures()) {
            out.append("FAILED: ").append(failure).append('\n');
        }
        String file = System.getProperty("sluice.matrixFile");
        if (file == null) {
            out.append("(sluice.matrixFile not set: the matrix is not written)\n");
        } else if (!Matrix.complete()) {
            out.append("(partial run: ").append(file).append(" left as it was)\n");
        } else {
            Path path = Path.of(file).toAbsolutePath().normalize();
            try {
                Files.createDirectories(path.getParent());
                Files.writeString(path, table, StandardCharsets.UTF_8);
                out.append("(written to ").append(path).append(")\n");
            } catch (IOException e) {
                out.append("could not write ").append(path).append(": ").append(e).append('\n');
            }
        }
        System.out.println(out);
    }
}
