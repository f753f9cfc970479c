package io.sluice.server.testkit;

import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import io.sluice.server.events.Rule;
import io.sluice.server.events.Violation;
import io.sluice.server.events.ConnectionInfo;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;

/**
 * What the test kit knows about one connection: who the client is, the bytes of the packet being handled (in
 * strict mode), and where its trace lines go. It rides on the channel, so a protocol adapter reports a broken
 * rule with {@link #violated} without knowing whether strict mode is on; with no probe (production), the call
 * does nothing. Touched on the connection's event loop, except the client id that {@link Faults} reads.
 */
public final class Probe {
    static final AttributeKey<Probe> KEY = AttributeKey.valueOf("sluice.probe");

    final Testkit kit;
    final Channel channel;
    final ConnectionInfo info;
    final String protocol;
    final long id;
    private volatile String clientId;
    /** MQTT protocol level once CONNECT is seen (3, 4, 5); 0 for STOMP. */
    int mqttLevel;
    /** The packet being handled, as it came off the wire (strict mode only): set by the protocol's framer. */
    byte[] lastInbound = new byte[0];
    /** Faults armed for this connection's client, resolved when it names itself. */
    ClientFaults faults = ClientFaults.NONE;
    /** The protocol's probe handler in the pipeline, for faults that act at once. */
    ProtocolProbe handler;

    Probe(Testkit kit, Channel channel, ConnectionInfo info, String protocol, long id) {
        this.kit = kit;
        this.channel = channel;
        this.info = info;
        this.protocol = protocol;
        this.id = id;
        this.handler = reason -> channel.close();
    }

    /** The probe of a channel, null when the test kit is off. */
    public static Probe of(Channel channel) {
        return channel.attr(KEY).get();
    }

    /**
     * The client on {@code channel} broke {@code rule}: record it when strict mode is on (the caller still answers
     * the client as the spec says, strict or not). {@code clientId} may be null before CONNECT.
     */
    public static void violated(Channel channel, Rule rule, String clientId, String detail) {
        Probe p = of(channel);
        if (p != null && p.kit.strict()) {
            p.record(rule, clientId, detail);
        }
    }

    /**
     * The packet about to be handled on {@code channel}, as it came off the wire: kept (its first
     * {@link Violation#MAX_BYTES} bytes) in strict mode, for a violation to quote; a no-op otherwise.
     */
    public static void inbound(Channel channel, ByteBuf buf, int from, int length) {
        Probe p = of(channel);
        if (p != null && p.kit.strict()) {
            byte[] b = new byte[Math.min(length, Violation.MAX_BYTES)];
            buf.getBytes(from, b);
            p.lastInbound = b;
        }
    }

    void record(Rule rule, String clientIdOrNull, String detail) {
        String who = clientIdOrNull != null ? clientIdOrNull : clientId;
        // a WebSocket frame is not the protocol's packet, and a late heart-beat is no frame at all: the packet
        // before either would only mislead
        byte[] bytes = rule.protocol() == Rule.Protocol.WEBSOCKET || rule == Rule.STOMP_HEARTBEAT_LATE
                ? new byte[0] : lastInbound;
        Violation v = new Violation(Instant.now(), rule, rule.id(mqttLevel), protocol, info.transport().label(),
                String.valueOf(info.remote()), who, detail, bytes);
        kit.violations().record(v);
        kit.journal("violation " + v.describe());
        if (kit.tracer() != null) {
            trace("violation", "VIOLATION", g -> {
                g.writeStringField("rule", v.ruleId());
                g.writeStringField("section", rule.protocol() + " " + rule.section());
                g.writeStringField("detail", detail);
            }, bytes.length, bytes);
        }
    }

    String clientId() {
        return clientId;
    }

    void clientId(String id) {
        this.clientId = id;
        this.faults = kit.faults().forClient(id);
    }

    /** "mqtt tcp /127.0.0.1:5000 client 'c1'": how the journal names this connection. */
    String describe() {
        return protocol + " " + info.transport().label() + " " + info.remote() + " #" + id
                + (clientId == null ? "" : " client '" + clientId + "'");
    }

    @FunctionalInterface
    interface Fields {
        void write(JsonGenerator g) throws IOException;
    }

    /**
     * One trace line: time, connection, direction ("in", "out", or an event), packet type, decoded fields,
     * payload size and the payload's first bytes (UTF-8 when printable, else hex).
     */
    void trace(String direction, String type, Fields fields, int payloadSize, byte[] payloadPrefix) {
        Tracer tracer = kit.tracer();
        if (tracer == null) {
            return;
        }
        StringWriter out = new StringWriter(128);
        try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("time", Instant.now().toString());
            g.writeNumberField("conn", id);
            g.writeStringField("dir", direction);
            g.writeStringField("type", type);
            g.writeObjectFieldStart("fields");
            fields.write(g);
            g.writeEndObject();
            g.writeNumberField("payloadSize", payloadSize);
            if (payloadPrefix != null && payloadPrefix.length > 0) {
                Payloads.writePrefix(g, payloadPrefix);
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String name = clientId != null && !clientId.isEmpty() ? clientId : "conn-" + id;
        tracer.write(Tracer.fileName(protocol, name), out.toString());
    }
}
