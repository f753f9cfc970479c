package io.sluice.junit5;

import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A running Sluice broker for a test: on a class, one broker for all its tests (started before the first,
 * closed after the last); on a method, a broker of its own for that test (it wins over the class's). Every
 * listener is on an ephemeral port of 127.0.0.1, so classes running in parallel each get their own.
 * <pre>
 *   &#64;SluiceBroker(strict = true, settings = "mqtt-maximum-qos=1")
 *   class ClientTest {
 *       &#64;Test
 *       void publishes(&#64;SluiceUrl(SluiceUrl.Kind.TCP) String url, Sluice broker) { ... }
 *   }
 * </pre>
 * Test methods and lifecycle methods take the broker as a {@code Sluice} parameter, its URLs as
 * {@code SluiceUrls}, or one URL as a {@code String} or {@code URI} annotated with {@link SluiceUrl}. When a test
 * fails, the broker's journal (and its violations, and its traces when {@link #trace()} is on) are attached to
 * the test's report.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(SluiceExtension.class)
public @interface SluiceBroker {
    /**
     * Strict mode: record every protocol rule a client breaks. With {@link #failOnViolation()} (the default) a
     * test during which a violation was recorded fails with the report.
     */
    boolean strict() default false;

    /** In strict mode, fail a test during which any violation was recorded. */
    boolean failOnViolation() default true;

    /** Trace every packet and frame to a temporary directory, attached to a failing test's report. */
    boolean trace() default false;

    /** Settings as {@code name=value}, the names and syntax of {@code --help}: {@code "max-packet-size=4k"}. */
    String[] settings() default {};
}
