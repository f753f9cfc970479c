package io.sluice.server.admin;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The admin API's one JSON mapper, built on first use: Jackson's databind loads several hundred classes, which a
 * broker that never answers an admin request (an embedded test broker above all) should not pay for at start-up.
 */
final class AdminJson {
    private AdminJson() {
    }

    static ObjectMapper mapper() {
        return Holder.MAPPER;
    }

    /** Initialised by the JVM on the first {@link #mapper()} call, once, thread-safely (the holder idiom). */
    private static final class Holder {
        static final ObjectMapper MAPPER = JsonMapper.builder()
                .serializationInclusion(JsonInclude.Include.NON_NULL).build();
    }
}
