package io.sluice.server;

import io.sluice.server.config.Settings;
import io.sluice.server.config.SettingsException;
import io.sluice.server.security.PasswdCommand;

import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.StringJoiner;
import java.util.function.Consumer;

/**
 * {@code java -jar sluice.jar [--flag value ...]}: parses the settings, starts the broker and prints one line
 * naming every listener and its bound address, which tests and tools read:
 * <pre>Sluice ready: mqtt=127.0.0.1:1883 http=127.0.0.1:8083</pre>
 * SIGTERM or Ctrl-C closes the broker and exits with 0; SIGHUP reloads the password, ACL, key and certificate
 * files. {@code java -jar sluice.jar passwd FILE USER} sets a password in a password file instead. Exit codes: 2 for a bad command line or config file,
 * 1 when the broker cannot start (a port in use, say).
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        // The JVM's default for SIGTERM and SIGINT is exit status 143 and 130; a clean stop is 0. Both the
        // signal handlers and the hook are in place before the ready line, which is when tools may signal.
        ShutdownSignals.exitCleanlyOn("TERM", "INT");
        Started started = start(args, System.out, System.err, true,
                sluice -> {
                    Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(sluice, System.out), "sluice-shutdown"));
                    ShutdownSignals.onHangup(() -> sluice.server().security().reload());
                });
        if (started.server() == null) {
            System.exit(started.exitCode());
        }
    }

    /** The outcome of start-up: a running broker, or the exit code to stop with. */
    public record Started(Sluice sluice, int exitCode) {
        /** The running server, null when start-up ended with an exit code. */
        public SluiceServer server() {
            return sluice == null ? null : sluice.server();
        }
    }

    /** Parse, configure logging, start and announce; never exits the JVM (tests call this). */
    public static Started start(String[] args, PrintStream out, PrintStream err) {
        return start(args, out, err, false, server -> { });
    }

    /** As {@link #start(String[], PrintStream, PrintStream)}, running {@code beforeReady} before the ready line. */
    static Started start(String[] args, PrintStream out, PrintStream err, boolean warmUp, Consumer<Sluice> beforeReady) {
        if (args.length > 0 && args[0].equals("passwd")) {
            return new Started(null, PasswdCommand.run(args, System.in, out, err));
        }
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h")) {
                out.print(Settings.help());
                out.flush();
                return new Started(null, 0);
            }
        }
        Settings settings;
        try {
            settings = Settings.parse(args);
        } catch (SettingsException e) {
            err.println("sluice: " + e.getMessage());
            err.flush();
            return new Started(null, 2);
        }
        Logging.configure(settings.get(Settings.LOG_LEVEL));
        if (warmUp && settings.get(Settings.WARM_UP) > 0) {
            WarmUp.Result w = WarmUp.run(settings, java.time.Duration.ofMillis(settings.get(Settings.WARM_UP)));
            io.sluice.server.events.Logs.get(Main.class).info("warmed up in {} ms: {} messages through a private broker{}",
                    w.millis(), w.messages(), w.settled() ? "" : " (the time ran out before the JIT settled)");
        }
        Sluice sluice;
        try {
            sluice = Sluice.launch(settings);
            PortFile.write(settings.get(Settings.PORT_FILE), sluice.server().listeners());
        } catch (RuntimeException e) {
            err.println("sluice: " + e.getMessage());
            err.flush();
            return new Started(null, 1);
        }
        beforeReady.accept(sluice);
        out.println(readyLine(sluice.server().listeners()));
        out.flush();
        return new Started(sluice, 0);
    }

    /**
     * Close the broker; with {@code --strict}, print the violations report and write {@code --violations-file}
     * (the end of a test run is when a non-Java test suite reads them).
     */
    static void stop(Sluice sluice, PrintStream out) {
        sluice.close();
        Settings settings = sluice.settings();
        if (!settings.get(Settings.STRICT)) {
            return;
        }
        out.print(sluice.violations().report());
        out.flush();
        java.nio.file.Path file = settings.get(Settings.VIOLATIONS_FILE);
        if (file != null) {
            try {
                java.nio.file.Files.writeString(file, sluice.violations().jsonLines());
            } catch (java.io.IOException e) {
                System.err.println("sluice: cannot write --violations-file " + file + ": " + e.getMessage());
            }
        }
    }

    /** {@code Sluice ready: mqtt=HOST:PORT http=HOST:PORT}, one entry per bound listener. */
    public static String readyLine(Map<String, InetSocketAddress> listeners) {
        StringJoiner line = new StringJoiner(" ", "Sluice ready: ", "");
        listeners.forEach((name, address) -> line.add(name + "=" + hostPort(address)));
        return line.toString();
    }

    static String hostPort(InetSocketAddress address) {
        String host = address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
