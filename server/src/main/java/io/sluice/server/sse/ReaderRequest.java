package io.sluice.server.sse;

import io.netty.handler.codec.http.QueryStringDecoder;
import io.sluice.protocol.sse.EventId;
import io.sluice.protocol.topic.InvalidTopicException;
import io.sluice.protocol.topic.TopicFilter;
import io.sluice.server.delta.DeltaFormat;
import io.sluice.server.events.Limit;
import io.sluice.server.ops.TopicLimits;

import java.util.List;
import java.util.Map;

/**
 * What a reader ({@code GET /sse}, {@code GET /poll}) asks for, read from its query string: one or more
 * {@code filter}s (MQTT topic filters, shared subscriptions excluded), {@code envelope=json} for the full
 * envelope, and where to start: {@code since} (or, for SSE, the {@code Last-Event-ID} header a reconnecting
 * {@code EventSource} sends, which wins over {@code since}). A pure decision: {@link #parse} answers the request or the 400 to send.
 *
 * @param since null for a new reader (retained messages, then live), else the id it resumes after; an id that
 *              is not one of ours is kept as {@link #BAD_ID}, which resumes as a reset
 * @param delta {@code delta=fossil}: an SSE stream sends each payload after the first per topic as a delta
 *              (null: whole payloads; a long poll always gets whole payloads)
 */
public record ReaderRequest(List<String> filters, boolean fullEnvelope, EventId since, DeltaFormat delta) {
    /** Stands for an id the client sent that cannot be read: it resumes with a reset. */
    public static final EventId BAD_ID = new EventId(0, 0);

    /** The request, or why it is refused (a 400 with this text). */
    public sealed interface Parsed permits Ok, Bad {
    }

    public record Ok(ReaderRequest request) implements Parsed {
    }

    public record Bad(String reason, Limit limit) implements Parsed {
    }

    public static Parsed parse(String uri, String lastEventId, TopicLimits limits, int maxFilters) {
        Map<String, List<String>> q = new QueryStringDecoder(uri).parameters();
        List<String> filters = q.getOrDefault("filter", List.of());
        if (filters.isEmpty()) {
            return new Bad("name at least one topic filter: ?filter=sensors/%23 (URL-encode # as %23 and + as %2B)", null);
        }
        if (filters.size() > maxFilters) {
            return new Bad("at most " + maxFilters + " filters per reader (setting max-subscriptions-per-client)",
                    Limit.SUBSCRIPTIONS_PER_CLIENT);
        }
        for (String f : filters) {
            try {
                TopicFilter.validate(f);
            } catch (InvalidTopicException e) {
                return new Bad("invalid filter: " + e.getMessage(), null);
            }
            if (f.startsWith("$share/")) {
                return new Bad("shared subscriptions are for MQTT consumers; an HTTP reader takes every message", null);
            }
            Limit over = limits.check(f);
            if (over != null) {
                return new Bad("filter '" + f + "' is over the limit " + over.setting(), over);
            }
        }
        String envelope = single(q, "envelope");
        if (envelope != null && !envelope.equals("json")) {
            return new Bad("envelope must be json (or absent for the compact one)", null);
        }
        String deltaParam = single(q, "delta");
        DeltaFormat delta = DeltaFormat.parse(deltaParam);
        if (deltaParam != null && delta == null) {
            return new Bad("delta must be fossil (or absent for whole payloads)", null);
        }
        // a browser reconnecting by itself sends the newest id in Last-Event-ID, while the URL keeps the since= it
        // was opened with: the header wins
        String since = lastEventId;
        if (since == null || since.isEmpty()) {
            since = single(q, "since");
        }
        EventId id = null;
        if (since != null && !since.isEmpty()) {
            id = EventId.parse(since);
            if (id == null) {
                id = BAD_ID;
            }
        }
        return new Ok(new ReaderRequest(List.copyOf(filters), envelope != null, id, delta));
    }

    private static String single(Map<String, List<String>> q, String name) {
        List<String> v = q.get(name);
        return v == null || v.isEmpty() ? null : v.get(v.size() - 1);
    }
}
