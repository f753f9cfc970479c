package io.sluice.server.ops;

import org.hawkular.agent.prometheus.text.TextPrometheusMetricDataParser;
import org.hawkular.agent.prometheus.types.Counter;
import org.hawkular.agent.prometheus.types.Gauge;
import org.hawkular.agent.prometheus.types.Histogram;
import org.hawkular.agent.prometheus.types.Metric;
import org.hawkular.agent.prometheus.types.MetricFamily;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One {@code GET /metrics}, parsed by a third-party Prometheus text-format parser (Hawkular's
 * prometheus-scraper), so the exposition is checked by something other than what wrote it.
 */
final class Scrape {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    final String text;
    final Map<String, MetricFamily> families = new HashMap<>();

    private Scrape(String text) throws Exception {
        this.text = text;
        TextPrometheusMetricDataParser parser = new TextPrometheusMetricDataParser(
                new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
        for (MetricFamily f = parser.parse(); f != null; f = parser.parse()) {
            families.put(f.getName(), f);
        }
    }

    static HttpResponse<String> get(int port, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(20)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    static Scrape of(int httpPort) throws Exception {
        HttpResponse<String> r = get(httpPort, "/metrics");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"),
                "Prometheus text format content type");
        return new Scrape(r.body());
    }

    /** The sample of counter or gauge {@code family} whose labels include {@code labels} (k1, v1, k2, v2...); 0 when absent. */
    double value(String family, String... labels) {
        MetricFamily f = families.get(family);
        if (f == null) {
            return 0;
        }
        double sum = 0;
        for (Metric m : matching(f.getMetrics(), labels)) {
            if (m instanceof Counter c) {
                sum += c.getValue();
            } else if (m instanceof Gauge g) {
                sum += g.getValue();
            } else {
                throw new AssertionError(family + " is a " + f.getType());
            }
        }
        return sum;
    }

    Histogram histogram(String family, String... labels) {
        MetricFamily f = families.get(family);
        assertTrue(f != null, family + " in the scrape");
        List<Metric> m = matching(f.getMetrics(), labels);
        assertEquals(1, m.size(), family + " series");
        return (Histogram) m.get(0);
    }

    boolean has(String family) {
        return families.containsKey(family);
    }

    private static List<Metric> matching(List<Metric> metrics, String... labels) {
        return metrics.stream().filter(m -> {
            for (int i = 0; i < labels.length; i += 2) {
                if (!labels[i + 1].equals(m.getLabels().get(labels[i]))) {
                    return false;
                }
            }
            return true;
        }).toList();
    }

    /** Waits up to 10 s for a figure that counts asynchronously to reach {@code expected}, then asserts it. */
    static void awaitValue(DoubleSupplier value, double expected) throws InterruptedException {
        double last = value.getAsDouble();
        for (int i = 0; i < 200 && last != expected; i++) {
            TimeUnit.MILLISECONDS.sleep(50);
            last = value.getAsDouble();
        }
        assertEquals(expected, last);
    }
}
