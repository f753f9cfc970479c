package io.sluice.server.testkit;

import com.fasterxml.jackson.core.JsonFactory;

/** The JSON writer of traces and reports, loaded on first use: a broker that never traces never loads Jackson. */
final class Json {
    static final JsonFactory FACTORY = new JsonFactory();

    private Json() {
    }
}
