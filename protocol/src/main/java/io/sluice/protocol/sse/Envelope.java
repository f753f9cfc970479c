package io.sluice.protocol.sse;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * One message as JSON, the data of an SSE event and an element of a long-poll batch:
 * <pre>
 *   {"topic":"sensors/k1/temp","payload":"21.5"}
 *   {"topic":"cam/1","payload":"/9j/4AAQ","encoding":"base64","retained":true}
 * </pre>
 * A payload that is valid UTF-8 goes as a JSON string; any other goes in base64 with {@code "encoding":"base64"}.
 * The full envelope ({@code envelope=json}) adds {@code qos} and the MQTT 5 properties, which are also what
 * STOMP headers map to: {@code contentType}, {@code payloadFormat} ("utf-8" or "bytes"), {@code responseTopic},
 * {@code correlationData} (base64) and {@code userProperties} as {@code [[name, value], ...]} in order.
 * Long-poll batches add the message's {@code id}. A payload sent as a delta (an SSE reader that asked) carries
 * {@code "delta":"fossil"}. One JSON line: it never contains a raw line break.
 */
public final class Envelope {
    private static final JsonFactory JSON = JsonFactory.builder().build();

    /** The MQTT 5 properties (STOMP headers) the full envelope carries; nulls are left out. */
    public record Properties(String contentType, Boolean payloadFormatUtf8, String responseTopic,
                             byte[] correlationData, List<Map.Entry<String, String>> userProperties) {
        public static final Properties NONE = new Properties(null, null, null, null, List.of());
    }

    private Envelope() {
    }

    /**
     * Append one message's JSON to {@code out}. {@code id} is written when not null; {@code full} adds QoS and
     * the properties.
     */
    public static void write(ByteBuf out, String id, String topic, byte[] payload, boolean retained, boolean full,
                             int qos, Properties properties) {
        write(out, id, topic, payload, retained, full, qos, properties, null);
    }

    /**
     * The same, for a payload that is a delta against the previous one on the topic: {@code "delta":"<format>"}
     * says so ({@code delta} null: a whole payload).
     */
    public static void write(ByteBuf out, String id, String topic, byte[] payload, boolean retained, boolean full,
                             int qos, Properties properties, String delta) {
        try (JsonGenerator g = JSON.createGenerator((java.io.OutputStream) new ByteBufOutputStream(out), JsonEncoding.UTF8)) {
            g.writeStartObject();
            if (id != null) {
                g.writeStringField("id", id);
            }
            g.writeStringField("topic", topic);
            g.writeFieldName("payload");
            if (isUtf8(payload)) {
                g.writeUTF8String(payload, 0, payload.length);
            } else {
                g.writeBinary(payload);
                g.writeStringField("encoding", "base64");
            }
            if (delta != null) {
                g.writeStringField("delta", delta);
            }
            if (retained) {
                g.writeBooleanField("retained", true);
            }
            if (full) {
                g.writeNumberField("qos", qos);
                writeProperties(g, properties == null ? Properties.NONE : properties);
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeProperties(JsonGenerator g, Properties p) throws IOException {
        boolean any = p.contentType() != null || p.payloadFormatUtf8() != null || p.responseTopic() != null
                || p.correlationData() != null || !p.userProperties().isEmpty();
        if (!any) {
            return;
        }
        g.writeObjectFieldStart("properties");
        if (p.contentType() != null) {
            g.writeStringField("contentType", p.contentType());
        }
        if (p.payloadFormatUtf8() != null) {
            g.writeStringField("payloadFormat", p.payloadFormatUtf8() ? "utf-8" : "bytes");
        }
        if (p.responseTopic() != null) {
            g.writeStringField("responseTopic", p.responseTopic());
        }
        if (p.correlationData() != null) {
            g.writeFieldName("correlationData");
            g.writeBinary(p.correlationData());
        }
        if (!p.userProperties().isEmpty()) {
            g.writeArrayFieldStart("userProperties");
            for (Map.Entry<String, String> e : p.userProperties()) {
                g.writeStartArray();
                g.writeString(e.getKey());
                g.writeString(e.getValue());
                g.writeEndArray();
            }
            g.writeEndArray();
        }
        g.writeEndObject();
    }

    /** Whether the payload is well-formed UTF-8 (and so can travel as a JSON string without loss). */
    public static boolean isUtf8(byte[] payload) {
        return payload.length == 0 || ByteBufUtil.isText(Unpooled.wrappedBuffer(payload), StandardCharsets.UTF_8);
    }

    /** One JSON string value, quoted and escaped. */
    public static void string(ByteBuf out, String value) {
        try (JsonGenerator g = JSON.createGenerator((java.io.OutputStream) new ByteBufOutputStream(out), JsonEncoding.UTF8)) {
            g.writeString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A small JSON object of string fields (reset events, batch wrappers), e.g. {"reason":"...","id":"..."}. */
    public static void object(ByteBuf out, String... namesAndValues) {
        try (JsonGenerator g = JSON.createGenerator((java.io.OutputStream) new ByteBufOutputStream(out), JsonEncoding.UTF8)) {
            g.writeStartObject();
            for (int i = 0; i + 1 < namesAndValues.length; i += 2) {
                g.writeStringField(namesAndValues[i], namesAndValues[i + 1]);
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
