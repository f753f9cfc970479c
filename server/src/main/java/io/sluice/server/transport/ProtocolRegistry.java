package io.sluice.server.transport;

import io.sluice.protocol.ws.Subprotocol;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The protocols the broker speaks. Modules register here and the transport finds them by WebSocket
 * subprotocol, by upgrade path, by name (TCP listeners) or by the first bytes of a connection; no transport
 * class names a protocol. Reads are lock-free (registration is rare, lookups happen per connection).
 */
public final class ProtocolRegistry {
    private final List<ProtocolModule> modules = new CopyOnWriteArrayList<>();

    /**
     * Add a module. A subprotocol, path or name another module already serves is a programming error:
     * two owners would make negotiation depend on registration order.
     */
    public synchronized ProtocolRegistry register(ProtocolModule module) {
        for (ProtocolModule m : modules) {
            if (m.name().equals(module.name())) {
                throw new IllegalArgumentException("protocol '" + module.name() + "' is already registered");
            }
            for (Subprotocol p : module.subprotocols()) {
                if (m.subprotocols().contains(p)) {
                    throw new IllegalArgumentException("subprotocol " + p.token() + " is already served by " + m.name());
                }
            }
            for (String path : module.paths()) {
                if (m.paths().contains(path)) {
                    throw new IllegalArgumentException("path " + path + " is already served by " + m.name());
                }
            }
        }
        modules.add(module);
        return this;
    }

    public List<ProtocolModule> modules() {
        return List.copyOf(modules);
    }

    public boolean isEmpty() {
        return modules.isEmpty();
    }

    public Optional<ProtocolModule> byName(String name) {
        return modules.stream().filter(m -> m.name().equals(name)).findFirst();
    }

    public Optional<ProtocolModule> bySubprotocol(Subprotocol subprotocol) {
        return modules.stream().filter(m -> m.subprotocols().contains(subprotocol)).findFirst();
    }

    public Optional<ProtocolModule> byPath(String path) {
        return modules.stream().filter(m -> m.paths().contains(path)).findFirst();
    }

    /** Every subprotocol token some module serves, in registration and preference order. */
    public List<String> supportedTokens() {
        List<String> tokens = new ArrayList<>();
        for (ProtocolModule m : modules) {
            for (Subprotocol p : m.subprotocols()) {
                tokens.add(p.token());
            }
        }
        return tokens;
    }
}
