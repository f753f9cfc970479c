package io.sluice.conformance;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.protocol.delta.FossilDelta;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Sluice's Fossil delta codec and the npm package {@code fossil-delta} (what browsers decode with) agree: npm
 * applies every delta Java makes, Java applies every delta npm makes, and both make the same bytes, over JSON
 * documents with a few fields changed, random binary edits and the edge cases (empty, tiny, unrelated).
 */
class FossilDeltaInteropTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void javaAndNpmFossilDeltaAgree(@TempDir Path dir) throws Exception {
        String unavailable = NodeScripts.unavailable();
        if (unavailable != null) {
            if (Boolean.getBoolean("sluice.requireAllClients")) {
                fail(unavailable);
            }
            Assumptions.abort(unavailable);
        }
        Random r = new Random(7);
        List<byte[][]> pairs = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            byte[] source = json(r.nextLong(), 200 + r.nextInt(4000));
            byte[] target = i % 3 == 0 ? json(r.nextLong(), 500) : changeFields(source, r);
            pairs.add(new byte[][] {source, target});
        }
        for (int i = 0; i < 100; i++) {
            byte[] source = new byte[r.nextInt(2000)];
            r.nextBytes(source);
            byte[] target = source.clone();
            for (int k = 0; k < target.length / 50; k++) {
                target[r.nextInt(target.length)] = (byte) r.nextInt();
            }
            pairs.add(new byte[][] {source, r.nextBoolean() ? target : java.util.Arrays.copyOf(target, target.length / 2)});
        }
        pairs.add(new byte[][] {new byte[0], new byte[0]});
        pairs.add(new byte[][] {"tiny".getBytes(StandardCharsets.UTF_8), "tinier".getBytes(StandardCharsets.UTF_8)});

        Base64.Encoder b64 = Base64.getEncoder();
        List<Map<String, String>> file = new ArrayList<>();
        FossilDelta.Encoder encoder = new FossilDelta.Encoder();
        for (byte[][] p : pairs) {
            file.add(Map.of("source", b64.encodeToString(p[0]), "target", b64.encodeToString(p[1]),
                    "delta", b64.encodeToString(encoder.create(p[0], p[1]))));
        }
        Path in = dir.resolve("pairs.json");
        Path out = dir.resolve("npm-deltas.json");
        JSON.writeValue(in.toFile(), file);
        Map<String, NodeScripts.Result> results = NodeScripts.run("fossil-check.mjs", Map.of(
                "pairs", in.toString(), "out", out.toString(),
                "features", List.of("npm-applies-java", "same-deltas")), Duration.ofMinutes(2));
        for (String check : List.of("npm-applies-java", "same-deltas")) {
            NodeScripts.Result res = results.get(check);
            assertTrue(res != null && res.ok(), check + ": " + (res == null ? results : res.detail()));
        }
        String[] npmDeltas = JSON.readValue(out.toFile(), String[].class);
        for (int i = 0; i < pairs.size(); i++) {
            assertArrayEquals(pairs.get(i)[1], FossilDelta.apply(pairs.get(i)[0], Base64.getDecoder().decode(npmDeltas[i])),
                    "npm delta " + i + " applied by Java");
        }
    }

    private static byte[] json(long seed, int size) {
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder("{\"items\":[");
        for (int i = 0; sb.length() < size; i++) {
            sb.append("{\"id\":").append(i).append(",\"price\":").append(r.nextInt(10_000))
                    .append(",\"label\":\"é item ").append(i).append("\"},");
        }
        sb.setLength(sb.length() - 1);
        return sb.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The same document with a few prices changed (one to a longer number, which shifts what follows). */
    private static byte[] changeFields(byte[] source, Random r) {
        String s = new String(source, StandardCharsets.UTF_8);
        for (int k = 0; k < 1 + r.nextInt(4); k++) {
            int at = s.indexOf("\"price\":", r.nextInt(Math.max(1, s.length() - 20)));
            if (at >= 0) {
                int end = at + 8;
                while (end < s.length() && Character.isDigit(s.charAt(end))) {
                    end++;
                }
                s = s.substring(0, at + 8) + r.nextInt(1_000_000) + s.substring(end);
            }
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
