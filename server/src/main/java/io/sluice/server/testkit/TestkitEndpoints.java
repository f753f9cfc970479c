package io.sluice.server.testkit;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.transport.HttpEndpoints;
import io.sluice.server.transport.HttpResponses;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The test kit over HTTP, for test suites outside the JVM (MQTT.js, Python, Go), under {@code /api/v1/testkit/}
 * on the HTTP port. Reading: {@code GET violations} (JSON lines), {@code GET report} (text), {@code GET journal}.
 * Faults, {@code POST} with query parameters: {@code faults/drop?client=ID[&after=N]},
 * {@code faults/delay?client=ID&ms=N}, {@code faults/duplicate?client=ID&on=true},
 * {@code faults/withhold-acks?client=ID&on=true}, {@code faults/refuse-connect?code=0x87[&client=ID]},
 * {@code faults/disconnect?client=ID&code=0x8B}, {@code faults/clear}, {@code restart}. Answers are text: what
 * was done, or what was wrong with the request (400). Served only when {@code --fault-injection} is on: it lets
 * anyone who reaches the port cut clients off.
 */
public final class TestkitEndpoints {
    public static final String BASE = "/api/v1/testkit/";
    static final List<String> PATHS = List.of("violations", "report", "journal", "faults/drop", "faults/delay",
            "faults/duplicate", "faults/withhold-acks", "faults/refuse-connect", "faults/disconnect", "faults/clear",
            "restart");
    private static final String TEXT = "text/plain; charset=utf-8";

    private final Testkit kit;

    private TestkitEndpoints(Testkit kit) {
        this.kit = kit;
    }

    public static void register(HttpEndpoints http, Testkit kit) {
        TestkitEndpoints e = new TestkitEndpoints(kit);
        for (String p : PATHS) {
            http.register(BASE + p, e::handle);
        }
    }

    private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
        QueryStringDecoder q = new QueryStringDecoder(request.uri());
        String what = q.path().substring(BASE.length());
        boolean read = what.equals("violations") || what.equals("report") || what.equals("journal");
        if (read != HttpMethod.GET.equals(request.method())) {
            HttpResponses.text(ctx, request, HttpResponseStatus.METHOD_NOT_ALLOWED, TEXT,
                    (read ? "use GET" : "use POST") + " for " + q.path() + "\n");
            return;
        }
        String answer;
        try {
            answer = act(what, q.parameters(), ctx, request);
        } catch (IllegalArgumentException e) {
            HttpResponses.text(ctx, request, HttpResponseStatus.BAD_REQUEST, TEXT, e.getMessage() + "\n");
            return;
        }
        if (answer != null) {
            HttpResponses.text(ctx, request, HttpResponseStatus.OK, TEXT, answer);
        }
    }

    /** The answer's text, or null when the action answered itself (restart). */
    private String act(String what, Map<String, List<String>> p, ChannelHandlerContext ctx, FullHttpRequest request) {
        Faults f = kit.faults();
        switch (what) {
            case "violations":
                return kit.violations().jsonLines();
            case "report":
                return kit.violations().report();
            case "journal":
                return kit.journal().text();
            case "faults/drop":
                if (p.containsKey("after")) {
                    f.dropAfter(client(p), number(p, "after"));
                    return "armed: drop client '" + client(p) + "' after " + number(p, "after") + " packet(s)\n";
                }
                return "dropped " + f.drop(client(p)) + " connection(s)\n";
            case "faults/delay":
                f.delayDeliveries(client(p), Duration.ofMillis(number(p, "ms")));
                return "deliveries to '" + client(p) + "' delayed by " + number(p, "ms") + " ms\n";
            case "faults/duplicate":
                f.duplicateDeliveries(client(p), on(p));
                return "duplicate deliveries to '" + client(p) + "': " + on(p) + "\n";
            case "faults/withhold-acks":
                f.withholdAcknowledgements(client(p), on(p));
                return "withhold acknowledgements to '" + client(p) + "': " + on(p) + "\n";
            case "faults/refuse-connect":
                f.refuseNextConnect(p.containsKey("client") ? client(p) : null, reason(p));
                return "the next CONNECT" + (p.containsKey("client") ? " of '" + client(p) + "'" : "")
                        + " will be refused with " + reason(p) + "\n";
            case "faults/disconnect":
                return "disconnected " + f.disconnect(client(p), reason(p)) + " connection(s)\n";
            case "faults/clear":
                f.clear();
                return "cleared\n";
            case "restart":
                Runnable restart = kit.restarter();
                if (restart == null) {
                    throw new IllegalArgumentException("this broker cannot restart itself");
                }
                // answer first, then restart off the event loop: the restart closes this very connection
                HttpResponses.text(ctx, request, HttpResponseStatus.ACCEPTED, TEXT, "restarting\n")
                        .addListener(done -> new Thread(restart, "sluice-restart").start());
                return null;
            default:
                throw new IllegalArgumentException("unknown test-kit path " + what);
        }
    }

    private static String param(Map<String, List<String>> p, String name) {
        List<String> v = p.get(name);
        if (v == null || v.isEmpty() || v.get(0).isEmpty()) {
            throw new IllegalArgumentException("missing query parameter '" + name + "'");
        }
        return v.get(0);
    }

    private static String client(Map<String, List<String>> p) {
        return param(p, "client");
    }

    private static int number(Map<String, List<String>> p, String name) {
        try {
            return Integer.parseInt(param(p, name));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + name + "' must be a whole number");
        }
    }

    private static boolean on(Map<String, List<String>> p) {
        return !p.containsKey("on") || Boolean.parseBoolean(param(p, "on"));
    }

    private static ReasonCode reason(Map<String, List<String>> p) {
        String v = param(p, "code");
        int code;
        try {
            code = v.startsWith("0x") || v.startsWith("0X") ? Integer.parseInt(v.substring(2), 16) : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'code' must be a reason code such as 0x87 or 135");
        }
        for (ReasonCode r : ReasonCode.values()) {
            if (r.unsignedCode() == code && r.isError()) {
                return r;
            }
        }
        throw new IllegalArgumentException("no MQTT 5 error reason code " + v + " (0x80 and above)");
    }
}
