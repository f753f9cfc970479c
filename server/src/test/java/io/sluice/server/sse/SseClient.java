package io.sluice.server.sse;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A text/event-stream reader over java.net.http, parsing events the way the HTML standard says a browser does
 * (id, event, data lines; comments; the last event id carried over to later events).
 */
final class SseClient implements AutoCloseable {
    /** One dispatched event, or an id-only block (data null), or a comment (type ":"). */
    record Event(String id, String type, String data) {
    }

    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    final HttpResponse<InputStream> response;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final Thread reader;
    private volatile String lastEventId = "";
    private volatile boolean ended;

    private SseClient(HttpResponse<InputStream> response) {
        this.response = response;
        this.reader = new Thread(this::read, "sse-test-reader");
        reader.setDaemon(true);
        reader.start();
    }

    static SseClient open(String url, String lastEventId) throws IOException, InterruptedException {
        return open(url, lastEventId, null);
    }

    static SseClient open(String url, String lastEventId, String authorization) throws IOException, InterruptedException {
        return open(HTTP, url, lastEventId, authorization == null ? new String[0]
                : new String[] {"Authorization", authorization});
    }

    /** With another client (TLS), and more request headers as name, value pairs (an Origin, as a browser sends). */
    static SseClient open(HttpClient client, String url, String lastEventId, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).header("Accept", "text/event-stream");
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        if (lastEventId != null) {
            b.header("Last-Event-ID", lastEventId);
        }
        return new SseClient(client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream()));
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String id = null;
            String type = null;
            StringBuilder data = null;
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isEmpty()) {
                    if (id != null) {
                        lastEventId = id;
                    }
                    if (data != null || id != null) {
                        events.add(new Event(lastEventId, type == null ? "message" : type,
                                data == null ? null : data.toString()));
                    }
                    id = null;
                    type = null;
                    data = null;
                } else if (line.startsWith(":")) {
                    events.add(new Event(lastEventId, ":", line));
                } else {
                    int colon = line.indexOf(':');
                    String field = colon < 0 ? line : line.substring(0, colon);
                    String value = colon < 0 ? "" : line.substring(colon + 1);
                    if (value.startsWith(" ")) {
                        value = value.substring(1);
                    }
                    switch (field) {
                        case "id" -> id = value;
                        case "event" -> type = value;
                        case "data" -> data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                        default -> { }
                    }
                }
            }
        } catch (IOException e) {
            // the stream ended
        } finally {
            ended = true;
        }
    }

    /** The next event with data (messages, resets), skipping id-only blocks and comments; fails after the timeout. */
    Event next(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            Event e = events.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
            if (e == null) {
                throw new AssertionError("no SSE event within " + timeout + (ended ? " (the stream ended)" : ""));
            }
            if (e.data() != null && !e.type().equals(":")) {
                return e;
            }
        }
    }

    /** Any next block, comments and id-only blocks included. */
    Event nextRaw(Duration timeout) throws InterruptedException {
        Event e = events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (e == null) {
            throw new AssertionError("nothing on the stream within " + timeout);
        }
        return e;
    }

    /** Every data event that arrives within the window (for "nothing more" checks). */
    List<Event> drain(Duration window) throws InterruptedException {
        List<Event> out = new ArrayList<>();
        long deadline = System.nanoTime() + window.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return out;
            }
            Event e = events.poll(left, TimeUnit.NANOSECONDS);
            if (e != null && e.data() != null && !e.type().equals(":")) {
                out.add(e);
            }
        }
    }

    /** What a browser would send as Last-Event-ID on reconnect. */
    String lastEventId() {
        return lastEventId;
    }

    boolean ended() {
        return ended;
    }

    @Override
    public void close() {
        try {
            response.body().close();
        } catch (IOException e) {
            // closing anyway
        }
        reader.interrupt();
    }
}
