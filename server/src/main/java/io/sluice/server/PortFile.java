package io.sluice.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * {@code --port-file FILE}: the bound ports as one JSON object, {@code {"mqtt":40123,"http":40124,"stomp":40125}},
 * for test suites that start the broker with port 0 and need to know where it listens. Written to a temporary
 * file and moved into place, so a reader polling for the file never sees half of it.
 */
final class PortFile {
    private PortFile() {
    }

    static void write(Path file, Map<String, InetSocketAddress> listeners) {
        if (file == null) {
            return;
        }
        StringWriter json = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(json)) {
            g.writeStartObject();
            for (Map.Entry<String, InetSocketAddress> e : listeners.entrySet()) {
                g.writeNumberField(e.getKey(), e.getValue().getPort());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            Path dir = file.toAbsolutePath().getParent();
            Path tmp = Files.createTempFile(dir, ".sluice-ports", ".tmp");
            Files.writeString(tmp, json + "\n");
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write --port-file " + file + " (" + e.getMessage()
                    + "); choose a writable path", e);
        }
    }
}
