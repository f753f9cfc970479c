package io.sluice.server.delta;

import io.sluice.server.config.Settings;

/**
 * @param fullEvery             at most this many messages in a row per topic go as deltas before one goes in full
 * @param maxBytesPerConnection payload bytes one connection keeps as bases for its deltas
 */
public record DeltaConfig(int fullEvery, long maxBytesPerConnection) {
    public static DeltaConfig from(Settings s) {
        return new DeltaConfig(s.get(Settings.DELTA_FULL_EVERY), s.get(Settings.DELTA_MEMORY));
    }
}
