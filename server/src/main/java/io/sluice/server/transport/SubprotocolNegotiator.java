package io.sluice.server.transport;

import io.sluice.protocol.ws.Subprotocol;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Decides which protocol serves a WebSocket upgrade (RFC 6455 section 4.2.2 leaves the choice to the server):
 * <ol>
 *   <li>the first subprotocol the client offers that a registered module serves (the client's order is its
 *       preference); if it offers only unknown ones, the upgrade is refused;</li>
 *   <li>if it offers none, the module that serves the request path ({@code /mqtt}, {@code /stomp});</li>
 *   <li>otherwise the first bytes the client sends decide ({@link ProtocolSniffer}).</li>
 * </ol>
 * Pure decision, no I/O: {@link WebSocketUpgrader} carries it out.
 */
public final class SubprotocolNegotiator {
    private final ProtocolRegistry registry;

    public SubprotocolNegotiator(ProtocolRegistry registry) {
        this.registry = registry;
    }

    /** The outcome of a negotiation. */
    public sealed interface Decision {
    }

    /**
     * Serve the connection with {@code module}; {@code token} is the client's own spelling of the chosen
     * subprotocol (echoed in {@code Sec-WebSocket-Protocol}), null when chosen by path.
     */
    public record Serve(ProtocolModule module, Subprotocol subprotocol, String token) implements Decision {
    }

    /** Accept the upgrade without a subprotocol and let the first bytes decide. */
    public record Sniff() implements Decision {
    }

    /** Refuse the upgrade with HTTP 400; {@code reason} goes to the log and the response body. */
    public record Refuse(String reason) implements Decision {
    }

    /**
     * @param offered the values of the client's {@code Sec-WebSocket-Protocol} headers (comma separated lists),
     *                empty when it sent none
     * @param path    the request path without its query
     */
    public Decision decide(List<String> offered, String path) {
        List<String> tokens = tokens(offered);
        if (!tokens.isEmpty()) {
            for (String token : tokens) {
                Optional<Subprotocol> known = Subprotocol.of(token);
                if (known.isPresent()) {
                    Optional<ProtocolModule> module = registry.bySubprotocol(known.get());
                    if (module.isPresent()) {
                        return new Serve(module.get(), known.get(), token);
                    }
                }
            }
            return new Refuse("none of the offered WebSocket subprotocols " + tokens + " is supported; supported: "
                    + String.join(", ", registry.supportedTokens()));
        }
        Optional<ProtocolModule> byPath = registry.byPath(path);
        if (byPath.isPresent()) {
            return new Serve(byPath.get(), null, null);
        }
        if (registry.isEmpty()) {
            return new Refuse("no protocol is enabled on this server");
        }
        return new Sniff();
    }

    static List<String> tokens(List<String> headerValues) {
        List<String> tokens = new ArrayList<>();
        for (String value : headerValues) {
            for (String t : value.split(",")) {
                String token = t.trim();
                if (!token.isEmpty()) {
                    tokens.add(token);
                }
            }
        }
        return tokens;
    }
}
