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

    Setting(String name, T defaultValue, String help, Function<String, T> parser) {
        this.name = name;
        this.defaultValue = defaultValue;
        this.help = help;
        this.parser = parser;
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
