package io.sluice.server.config;

/** A flag or config-file entry that cannot be used; the message names it and says what is wrong. */
public final class SettingsException extends RuntimeException {
    public SettingsException(String message) {
        super(message);
    }
}
