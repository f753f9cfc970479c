package io.sluice.server.transport;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** The plain HTTP paths of the HTTP port, by exact path; requests elsewhere get 404. */
public final class HttpEndpoints {
    private final Map<String, HttpEndpoint> byPath = new ConcurrentHashMap<>();

    /** Serve {@code path} (exact match, no query) with {@code endpoint}; a path has one endpoint. */
    public HttpEndpoints register(String path, HttpEndpoint endpoint) {
        if (byPath.putIfAbsent(path, endpoint) != null) {
            throw new IllegalArgumentException("HTTP path " + path + " already has an endpoint");
        }
        return this;
    }

    public Optional<HttpEndpoint> find(String path) {
        return Optional.ofNullable(byPath.get(path));
    }
}
