package io.sluice.server.config;

import java.util.function.Function;

/**
 * One setting: its flag ({@code --name}), the same name as a config-file key, a default, and a parser that
 * rejects bad values with a message naming the flag.
 */
public final class Setting<T> {
    private final String name;
    private final T defaultValue;
    private final String help;
    private final Function<String, T> parser;
    private final Function<T, String> format;

    Setting(String name, T defaultValue, String help, Function<String, T> parser) {
        this(name, defaultValue, help, parser, String::valueOf);
    }

    /** {@code format} writes a value the way the flag takes it (a duration as "10s", not 10000). */
    Setting(String name, T defaultValue, String help, Function<String, T> parser, Function<T, String> format) {
        this.name = name;
        this.defaultValue = defaultValue;
        this.help = help;
        this.parser = parser;
        this.format = format;
    }

    /** A value as it would be written on the command line. */
    public String format(T value) {
        return format.apply(value);
    }

    public String name() {
        return name;
    }

    public T defaultValue() {
        return defaultValue;
    }

    public String help() {
        return help;
    }

    T parse(String raw) {
        try {
            return parser.apply(raw.trim());
        } catch (RuntimeException e) {
            String why = e.getMessage() == null ? "" : " (" + e.getMessage() + ")";
            throw new SettingsException("--" + name + ": bad value '" + raw + "'" + why);
        }
    }
}
