package io.sluice.server;

import sun.misc.Signal;

/**
 * Makes SIGTERM and SIGINT a clean stop: exit status 0 after the shutdown hooks (which close the broker) have
 * run, instead of the JVM's 128 + signal number. {@code sun.misc.Signal} (module jdk.unsupported) is the JDK's
 * only way to handle a signal; where it is missing the JVM's default still runs the hooks.
 */
final class ShutdownSignals {
    private ShutdownSignals() {
    }

    /** SIGHUP runs {@code action} (reloading security files), as daemons conventionally do. */
    static void onHangup(Runnable action) {
        try {
            Signal.handle(new Signal("HUP"), s -> action.run());
        } catch (IllegalArgumentException | LinkageError e) {
            // no SIGHUP here: files are still reloaded when they change
        }
    }

    static void exitCleanlyOn(String... signals) {
        for (String name : signals) {
            try {
                Signal.handle(new Signal(name), s -> new Thread(() -> System.exit(0), "sluice-signal").start());
            } catch (IllegalArgumentException | LinkageError e) {
                // Signal unknown on this platform, or already used by the JVM (-Xrs): keep the default.
            }
        }
    }
}
