package io.sluice.junit5;

import io.sluice.server.Sluice;
import io.sluice.server.SluiceBuilder;
import io.sluice.server.SluiceUrls;
import io.sluice.server.events.Violation;
import io.sluice.server.testkit.Journal;
import org.junit.jupiter.api.MediaType;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Runs the broker {@link SluiceBroker} asks for. A class's broker lives in the class's extension store and a
 * method's in the method's, so JUnit closes each at the end of its scope, and tests running in parallel never
 * share state through this extension: each looks its broker up from its own context.
 */
public final class SluiceExtension implements BeforeAllCallback, BeforeEachCallback, AfterTestExecutionCallback,
        ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(SluiceExtension.class);
    private static final String BROKER = "broker";
    private static final String MARK = "mark";

    /** A broker and the settings it was started with, closed with the store that holds it. */
    @SuppressWarnings("deprecation")
    static final class Running implements ExtensionContext.Store.CloseableResource, AutoCloseable {
        final Sluice sluice;
        final SluiceBroker config;
        final Path traceDir;

        Running(SluiceBroker config) {
            this.config = config;
            try {
                this.traceDir = config.trace() ? Files.createTempDirectory("sluice-trace") : null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            SluiceBuilder b = Sluice.builder().strict(config.strict());
            if (traceDir != null) {
                b.trace(traceDir);
            }
            for (String s : config.settings()) {
                int eq = s.indexOf('=');
                if (eq <= 0) {
                    throw new ExtensionConfigurationException("@SluiceBroker settings are name=value, not '" + s + "'");
                }
                b.set(s.substring(0, eq).trim(), s.substring(eq + 1).trim());
            }
            this.sluice = b.start();
        }

        @Override
        public void close() {
            sluice.close();
            if (traceDir != null) {
                try (Stream<Path> files = Files.walk(traceDir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException e) {
                    // a temporary directory left behind is harmless
                }
            }
        }
    }

    /** Where a test's story starts in the broker's journal and violations. */
    record Mark(String line, int violations) {
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        AnnotationSupport.findAnnotation(context.getRequiredTestClass(), SluiceBroker.class)
                .ifPresent(config -> context.getStore(NS).put(BROKER, new Running(config)));
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Optional<SluiceBroker> onMethod = context.getTestMethod()
                .flatMap(m -> AnnotationSupport.findAnnotation(m, SluiceBroker.class));
        onMethod.ifPresent(config -> context.getStore(NS).put(BROKER, new Running(config)));
        Running running = running(context);
        if (running != null) {
            String line = "test started: " + context.getUniqueId();
            running.sluice.journal().add(line);
            running.sluice.log().add(line);
            context.getStore(NS).put(MARK, new Mark(line, running.sluice.violations().all().size()));
        }
    }

    /**
     * After the test method, before {@code @AfterEach}: a failed test gets the broker's story attached; a test
     * that passed fails if strict mode recorded a violation during it.
     */
    @Override
    public void afterTestExecution(ExtensionContext context) throws Exception {
        Running running = running(context);
        Mark mark = context.getStore(NS).get(MARK, Mark.class);
        if (running == null || mark == null) {
            return;
        }
        List<Violation> all = running.sluice.violations().all();
        List<Violation> during = all.subList(Math.min(mark.violations(), all.size()), all.size());
        if (context.getExecutionException().isPresent()) {
            attach(context, running, mark);
            return;
        }
        if (running.config.strict() && running.config.failOnViolation() && !during.isEmpty()) {
            attach(context, running, mark);
            StringBuilder sb = new StringBuilder("strict mode: " + during.size() + " protocol violation(s) during this test\n");
            during.forEach(v -> sb.append("  ").append(v.describe()).append('\n'));
            throw new AssertionError(sb.toString());
        }
    }

    /** Report entries first, then files: a runner that takes no files (a test kit's) still shows the entries. */
    private static void attach(ExtensionContext context, Running running, Mark mark) throws IOException {
        String journal = since(running.sluice.journal(), mark);
        String log = since(running.sluice.log(), mark);
        context.publishReportEntry("sluice.journal", journal);
        context.publishReportEntry("sluice.log", log);
        if (running.config.strict()) {
            context.publishReportEntry("sluice.violations", running.sluice.violations().report());
        }
        context.publishFile("sluice-journal.txt", MediaType.TEXT_PLAIN_UTF_8, p -> Files.writeString(p, journal));
        context.publishFile("sluice-log.txt", MediaType.TEXT_PLAIN_UTF_8, p -> Files.writeString(p, log));
        if (running.traceDir != null) {
            running.sluice.syncTraces();
            context.publishDirectory("sluice-trace", dir -> {
                try (Stream<Path> files = Files.list(running.traceDir)) {
                    for (Path f : files.toList()) {
                        Files.copy(f, dir.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            });
        }
    }

    /** The lines of a journal from the test's start mark on (all of them if the mark has rotated out). */
    private static String since(Journal journal, Mark mark) {
        List<String> lines = journal.lines();
        int from = 0;
        for (int i = lines.size() - 1; i >= 0; i--) {
            if (lines.get(i).endsWith(mark.line())) {
                from = i;
                break;
            }
        }
        return String.join("\n", lines.subList(from, lines.size())) + "\n";
    }

    /** The broker of this context: the method's own, else the nearest class's. */
    static Running running(ExtensionContext context) {
        for (ExtensionContext c = context; c != null; c = c.getParent().orElse(null)) {
            Running r = c.getStore(NS).get(BROKER, Running.class);
            if (r != null) {
                return r;
            }
        }
        return null;
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        if (type == Sluice.class || type == SluiceUrls.class) {
            return true;
        }
        return parameter.isAnnotated(SluiceUrl.class) && (type == String.class || type == URI.class);
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        Running running = running(context);
        if (running == null) {
            throw new ParameterResolutionException("no broker for " + parameter.getParameter()
                    + ": annotate the test class or method with @SluiceBroker");
        }
        Class<?> type = parameter.getParameter().getType();
        if (type == Sluice.class) {
            return running.sluice;
        }
        SluiceUrls urls = running.sluice.urls();
        if (type == SluiceUrls.class) {
            return urls;
        }
        SluiceUrl.Kind kind = parameter.findAnnotation(SluiceUrl.class).orElseThrow().value();
        String url = switch (kind) {
            case TCP -> urls.mqtt();
            case WS -> urls.mqttWs();
            case STOMP -> urls.stomp();
            case STOMP_WS -> urls.stompWs();
            case SSE -> urls.sse();
            case HTTP -> urls.http();
        };
        if (url == null) {
            throw new ParameterResolutionException("the broker's " + kind + " listener is switched off by its settings");
        }
        return type == URI.class ? URI.create(url) : url;
    }
}
