package io.sluice.server.testkit;

import com.fasterxml.jackson.core.JsonGenerator;
import io.sluice.server.events.Violation;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The violations strict mode recorded, in the order they happened, for a test to assert on and for the report a
 * run ends with. Bounded ({@link #LIMIT}): a client that breaks a rule in a loop cannot exhaust the heap; what
 * goes past the bound is counted. Any thread may record and read.
 */
public final class Violations {
    static final int LIMIT = 10_000;

    private final List<Violation> list = new ArrayList<>();
    private final AtomicLong overflow = new AtomicLong();

    void record(Violation v) {
        synchronized (list) {
            if (list.size() < LIMIT) {
                list.add(v);
                return;
            }
        }
        overflow.incrementAndGet();
    }

    /** Every violation recorded so far (a copy). */
    public List<Violation> all() {
        synchronized (list) {
            return List.copyOf(list);
        }
    }

    /** The violations of one client. */
    public List<Violation> of(String clientId) {
        return all().stream().filter(v -> clientId.equals(v.clientId())).toList();
    }

    public boolean isEmpty() {
        synchronized (list) {
            return list.isEmpty();
        }
    }

    /** Forget what was recorded (between tests sharing one broker). */
    public void clear() {
        synchronized (list) {
            list.clear();
        }
        overflow.set(0);
    }

    /** Violations past the bound, not kept. */
    public long overflow() {
        return overflow.get();
    }

    /** A human-readable report: one line per violation, or a line saying there was none. */
    public String report() {
        List<Violation> all = all();
        if (all.isEmpty()) {
            return "strict mode: no protocol violations\n";
        }
        StringBuilder sb = new StringBuilder("strict mode: " + all.size() + " protocol violation(s)"
                + (overflow() > 0 ? " (and " + overflow() + " more not kept)" : "") + "\n");
        for (Violation v : all) {
            sb.append("  ").append(v.time()).append(' ').append(v.describe()).append('\n');
        }
        return sb.toString();
    }

    /** The same as JSON lines, one object per violation, for tools. */
    public String jsonLines() {
        StringWriter out = new StringWriter();
        for (Violation v : all()) {
            try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
                g.writeStartObject();
                g.writeStringField("time", v.time().toString());
                g.writeStringField("rule", v.ruleId());
                g.writeStringField("section", v.rule().protocol() + " " + v.rule().section());
                g.writeStringField("summary", v.rule().summary());
                g.writeStringField("protocol", v.protocol());
                g.writeStringField("transport", v.transport());
                g.writeStringField("remote", v.remote());
                g.writeStringField("clientId", v.clientId());
                g.writeStringField("detail", v.detail());
                g.writeStringField("bytes", v.hex());
                g.writeEndObject();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            out.write('\n');
        }
        return out.toString();
    }
}
