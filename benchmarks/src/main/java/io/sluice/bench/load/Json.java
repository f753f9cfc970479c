package io.sluice.bench.load;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** The flat JSON object the generator prints last, and its reader for the side-by-side runner. */
public final class Json {
    private Json() {
    }

    public static String write(Map<String, ?> fields) {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, ?> e : fields.entrySet()) {
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append('"').append(e.getKey()).append("\":");
            Object v = e.getValue();
            if (v instanceof Double d) {
                sb.append(Double.isFinite(d) ? String.format(Locale.ROOT, "%.3f", d) : "null");
            } else if (v instanceof Number || v instanceof Boolean) {
                sb.append(v);
            } else if (v == null) {
                sb.append("null");
            } else {
                sb.append('"').append(v.toString().replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            }
        }
        return sb.append('}').toString();
    }

    /** Reads what {@link #write} wrote: one flat object of numbers, booleans, strings and nulls. */
    public static Map<String, Object> read(String json) {
        Map<String, Object> out = new LinkedHashMap<>();
        String s = json.trim();
        if (!s.startsWith("{") || !s.endsWith("}")) {
            throw new IllegalArgumentException("not a JSON object: " + json);
        }
        int i = 1;
        while (i < s.length() - 1) {
            int k0 = s.indexOf('"', i);
            if (k0 < 0) {
                break;
            }
            int k1 = s.indexOf('"', k0 + 1);
            String key = s.substring(k0 + 1, k1);
            int colon = s.indexOf(':', k1);
            int v0 = colon + 1;
            Object value;
            int end;
            if (s.charAt(v0) == '"') {
                StringBuilder sb = new StringBuilder();
                int j = v0 + 1;
                while (s.charAt(j) != '"') {
                    char c = s.charAt(j);
                    if (c == '\\') {
                        j++;
                        c = s.charAt(j);
                    }
                    sb.append(c);
                    j++;
                }
                value = sb.toString();
                end = j + 1;
            } else {
                end = s.indexOf(',', v0);
                if (end < 0) {
                    end = s.length() - 1;
                }
                String raw = s.substring(v0, end).trim();
                value = switch (raw) {
                    case "null" -> null;
                    case "true" -> Boolean.TRUE;
                    case "false" -> Boolean.FALSE;
                    default -> Double.parseDouble(raw);
                };
            }
            out.put(key, value);
            i = end + 1;
        }
        return out;
    }
}
