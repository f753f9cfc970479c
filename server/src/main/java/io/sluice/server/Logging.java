package io.sluice.server;

/**
 * Configures slf4j-simple before the first logger exists: the level from {@code --log-level}, one line per event
 * with an ISO date-time and the thread. The rest of the defaults live in {@code simplelogger.properties}.
 */
final class Logging {
    private static final String PREFIX = "org.slf4j.simpleLogger.";

    private Logging() {
    }

    static void configure(String level) {
        System.setProperty(PREFIX + "defaultLogLevel", level);
        System.setProperty(PREFIX + "showDateTime", "true");
        System.setProperty(PREFIX + "dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
    }
}
