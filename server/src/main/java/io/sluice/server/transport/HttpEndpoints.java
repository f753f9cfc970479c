package io.sluice.server.transport;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The plain HTTP paths of the HTTP port, by exact path or, failing that, by the longest registered prefix
 * (a tree of paths such as {@code /api/v1/}); requests elsewhere get 404.
 */
public final class HttpEndpoints {
    private final Map<String, HttpEndpoint> byPath = new ConcurrentHashMap<>();
    private final Map<String, HttpEndpoint> byPrefix = new ConcurrentHashMap<>();

    /** Serve {@code path} (exact match, no query) with {@code endpoint}; a path has one endpoint. */
    public HttpEndpoints register(String path, HttpEndpoint endpoint) {
        if (byPath.putIfAbsent(path, endpoint) != null) {
            throw new IllegalArgumentException("HTTP path " + path + " already has an endpoint");
        }
        return this;
    }

    /** Serve every path under {@code prefix} (which ends with '/') that has no exact endpoint. */
    public HttpEndpoints registerPrefix(String prefix, HttpEndpoint endpoint) {
        if (!prefix.endsWith("/")) {
            throw new IllegalArgumentException("HTTP path prefix must end with '/': " + prefix);
        }
        if (byPrefix.putIfAbsent(prefix, endpoint) != null) {
            throw new IllegalArgumentException("HTTP path prefix " + prefix + " already has an endpoint");
        }
        return this;
    }

    public Optional<HttpEndpoint> find(String path) {
        HttpEndpoint exact = byPath.get(path);
        if (exact != null || byPrefix.isEmpty()) {
            return Optional.ofNullable(exact);
        }
        for (int slash = path.lastIndexOf('/'); slash >= 0; slash = path.lastIndexOf('/', slash - 1)) {
            HttpEndpoint e = byPrefix.get(path.substring(0, slash + 1));
            if (e != null) {
                return Optional.of(e);
            }
            if (slash == 0) {
                break;
            }
        }
        return Optional.empty();
    }
}
