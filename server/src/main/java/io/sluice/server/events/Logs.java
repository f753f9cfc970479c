package io.sluice.server.events;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.spi.LocationAwareLogger;
import org.slf4j.helpers.AbstractLogger;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The server's loggers. Each logs through SLF4J to whatever binding the application has, as a plain SLF4J logger
 * would, and also hands the line to the sink of the broker whose thread logged it, if it has one: an embedded
 * broker in a test keeps its own log lines that way, apart from the other brokers of the JVM, whatever the
 * binding (slf4j-simple, Logback, Log4j) and without configuring it.
 *
 * <p>A broker's threads carry its sink: the thread that starts or stops it sets the sink while it does, and every
 * thread the broker creates from there (Netty's acceptor and I/O threads, its timers, writers) inherits it.
 * A line costs one thread-local read more than SLF4J's own; a disabled level costs nothing more. A JVM-wide
 * thread that one broker's thread happens to start (Netty's global executor) keeps that broker's sink; the
 * server does not log from such threads.
 */
public final class Logs {
    private static final InheritableThreadLocal<Consumer<String>> SINK = new InheritableThreadLocal<>();
    /** The most of a stack trace a captured line carries. */
    private static final int MAX_TRACE_CHARS = 4096;

    /**
     * A sink that drops the lines: logged nowhere, not even through SLF4J. For a private broker whose events are
     * nobody's business (the warm-up broker a start runs before the real one).
     */
    public static final Consumer<String> DISCARD = line -> { };

    private Logs() {
    }

    public static Logger get(Class<?> type) {
        return new Tee(LoggerFactory.getLogger(type));
    }

    public static Logger get(String name) {
        return new Tee(LoggerFactory.getLogger(name));
    }

    /**
     * Run {@code action} with {@code sink} receiving the log lines of this thread and of every thread started
     * from it meanwhile (those keep the sink for their lifetime).
     */
    public static <T> T capturing(Consumer<String> sink, Supplier<T> action) {
        Consumer<String> before = SINK.get();
        SINK.set(sink);
        try {
            return action.get();
        } finally {
            if (before == null) {
                SINK.remove();
            } else {
                SINK.set(before);
            }
        }
    }

    /** The same without a result. */
    public static void capturing(Consumer<String> sink, Runnable action) {
        capturing(sink, () -> {
            action.run();
            return null;
        });
    }

    /** A logger that logs through its delegate and copies each line to the current thread's sink. */
    static final class Tee extends LegacyAbstractLogger {
        private static final long serialVersionUID = 1L;
        private final transient Logger delegate;
        private final String shortName;

        Tee(Logger delegate) {
            this.delegate = delegate;
            this.name = delegate.getName();
            this.shortName = name.substring(name.lastIndexOf('.') + 1);
        }

        @Override
        public boolean isTraceEnabled() {
            return delegate.isTraceEnabled();
        }

        @Override
        public boolean isDebugEnabled() {
            return delegate.isDebugEnabled();
        }

        @Override
        public boolean isInfoEnabled() {
            return delegate.isInfoEnabled();
        }

        @Override
        public boolean isWarnEnabled() {
            return delegate.isWarnEnabled();
        }

        @Override
        public boolean isErrorEnabled() {
            return delegate.isErrorEnabled();
        }

        @Override
        protected String getFullyQualifiedCallerName() {
            return Tee.class.getName();
        }

        @Override
        protected void handleNormalizedLoggingCall(Level level, Marker marker, String message, Object[] args,
                                                   Throwable thrown) {
            Consumer<String> sink = SINK.get();
            if (sink == DISCARD) {
                return;
            }
            if (delegate instanceof LocationAwareLogger located) {
                // the caller is the frame below AbstractLogger's, so bindings that show it show the server's class
                located.log(marker, AbstractLogger.class.getName(), level.toInt(), message, args, thrown);
            } else {
                Object[] all = args == null ? new Object[0] : args;
                if (thrown != null) {
                    all = java.util.Arrays.copyOf(all, all.length + 1);
                    all[all.length - 1] = thrown;
                }
                switch (level) {
                    case ERROR -> delegate.error(marker, message, all);
                    case WARN -> delegate.warn(marker, message, all);
                    case INFO -> delegate.info(marker, message, all);
                    case DEBUG -> delegate.debug(marker, message, all);
                    case TRACE -> delegate.trace(marker, message, all);
                }
            }
            if (sink != null) {
                sink.accept(line(level, message, args, thrown));
            }
        }

        private String line(Level level, String message, Object[] args, Throwable thrown) {
            StringBuilder sb = new StringBuilder(96).append(level).append(" [").append(Thread.currentThread().getName())
                    .append("] ").append(shortName).append(" - ")
                    .append(args == null ? message : MessageFormatter.basicArrayFormat(message, args));
            if (thrown != null) {
                StringWriter trace = new StringWriter();
                thrown.printStackTrace(new PrintWriter(trace));
                sb.append('\n').append(trace.getBuffer(), 0, Math.min(trace.getBuffer().length(), MAX_TRACE_CHARS));
            }
            return sb.toString();
        }
    }
}
