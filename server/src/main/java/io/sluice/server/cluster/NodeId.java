package io.sluice.server.cluster;

import io.sluice.server.config.Settings;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * This node's name in the cluster. It must stay the same across restarts, because it names the node's durable
 * JetStream consumer (what other nodes sent it while it was down waits there) and its routes: so unless
 * {@code --node-id} gives one, it is made once and kept in the data directory. Without a data directory
 * ({@code --persistence none}) nothing survives a restart anyway, and each run gets a new one.
 */
public final class NodeId {
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    static final String FILE = "node-id";

    private NodeId() {
    }

    public static String of(Settings settings) {
        String id = settings.get(Settings.NODE_ID);
        if (!id.isEmpty()) {
            if (!VALID.matcher(id).matches()) {
                throw new IllegalArgumentException("--node-id '" + id + "' is not a node name: use 1 to 64 letters, "
                        + "digits, '-' or '_'");
            }
            return id;
        }
        if (settings.get(Settings.PERSISTENCE).equals("none")) {
            return fresh();
        }
        Path file = settings.get(Settings.DATA_DIR).resolve(FILE);
        try {
            if (Files.exists(file)) {
                String kept = Files.readString(file, StandardCharsets.UTF_8).trim();
                if (VALID.matcher(kept).matches()) {
                    return kept;
                }
                throw new IllegalStateException(file + " does not hold a node name ('" + kept + "'); delete it to get "
                        + "a new one, or give --node-id");
            }
            String made = fresh();
            Files.createDirectories(file.getParent());
            Files.writeString(file, made + "\n", StandardCharsets.UTF_8);
            return made;
        } catch (IOException e) {
            throw new IllegalStateException("cannot keep the node id in " + file + " (" + e.getMessage()
                    + "); give --node-id or a writable --data-dir", e);
        }
    }

    private static String fresh() {
        byte[] b = new byte[6];
        new SecureRandom().nextBytes(b);
        return "n" + HexFormat.of().formatHex(b);
    }
}
