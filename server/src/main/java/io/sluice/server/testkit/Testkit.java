package io.sluice.server.testkit;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.sluice.protocol.ws.Subprotocol;
import io.sluice.server.config.Settings;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.Rule;
import io.sluice.server.events.RuleBreaches;
import io.sluice.server.events.Violation;
import io.sluice.server.transport.ProtocolModule;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The broker's test kit: strict mode's {@link Violations}, per-client {@link Tracer traces}, the broker's
 * {@link Journal} and {@link Faults}. It wraps each protocol module so that every connection carries a
 * {@link Probe} and, after the protocol's codec, a probe handler that sees every packet or frame both ways; the
 * protocol handlers themselves are unchanged. Off in production unless {@code --strict}, {@code --trace} or
 * {@code --fault-injection} asks for it. One test kit may outlive several servers (a simulated restart).
 */
public final class Testkit implements AutoCloseable, RuleBreaches {
    private final boolean strict;
    private final Tracer tracer;
    private final Violations violations = new Violations();
    private final Journal journal = new Journal();
    private final Journal log = new Journal();
    private final Faults faults = new Faults(this);
    private final Map<Long, Probe> live = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private volatile Runnable restarter;

    /** {@code traceDir}: where traces go, null for none. */
    public Testkit(boolean strict, Path traceDir) {
        this.strict = strict;
        this.tracer = traceDir == null ? null : new Tracer(traceDir);
    }

    /** The test kit the settings ask for, or null when they ask for none of it (production). */
    public static Testkit from(Settings settings) {
        Path trace = settings.get(Settings.TRACE);
        if (!settings.get(Settings.STRICT) && trace == null && !settings.get(Settings.FAULT_INJECTION)) {
            return null;
        }
        return new Testkit(settings.get(Settings.STRICT), trace);
    }

    public boolean strict() {
        return strict;
    }

    public Violations violations() {
        return violations;
    }

    public Journal journal() {
        return journal;
    }

    /**
     * The broker's own SLF4J log lines (what it logs through {@link io.sluice.server.events.Logs} on its threads),
     * kept apart from the other brokers of the JVM.
     */
    public Journal log() {
        return log;
    }

    public Faults faults() {
        return faults;
    }

    /** The trace writer, null when tracing is off. */
    public Tracer tracer() {
        return tracer;
    }

    /** A breach an HTTP request made (strict mode attaches this kit to the HTTP connections it watches). */
    @Override
    public void breached(Rule rule, String protocol, String transport, String remote, String clientId, String detail,
                         byte[] bytes) {
        if (!strict) {
            return;
        }
        Violation v = new Violation(Instant.now(), rule, rule.id(), protocol, transport, remote, clientId, detail, bytes);
        violations.record(v);
        journal.add("violation " + v.describe());
    }

    /** How a restart is done (the embedding handle's), for the test-control endpoint. */
    public void restarter(Runnable restart) {
        this.restarter = restart;
    }

    Runnable restarter() {
        return restarter;
    }

    void journal(String line) {
        journal.add(line);
    }

    /** Run {@code action} on the event loop of each open connection of this client; how many there are. */
    int eachConnectionOf(String clientId, Consumer<Probe> action) {
        int n = 0;
        for (Probe p : live.values()) {
            if (clientId.equals(p.clientId()) && p.channel.isActive()) {
                p.channel.eventLoop().execute(() -> action.accept(p));
                n++;
            }
        }
        return n;
    }

    /** The module, with a probe on each of its connections. */
    public ProtocolModule wrap(ProtocolModule module) {
        return new Instrumented(module);
    }

    /** Writes out the traces. The violations and the journal stay readable. */
    @Override
    public void close() {
        if (tracer != null) {
            tracer.close();
        }
    }

    private final class Instrumented implements ProtocolModule {
        private final ProtocolModule module;

        Instrumented(ProtocolModule module) {
            this.module = module;
        }

        @Override
        public String name() {
            return module.name();
        }

        @Override
        public List<Subprotocol> subprotocols() {
            return module.subprotocols();
        }

        @Override
        public List<String> paths() {
            return module.paths();
        }

        @Override
        public Recognition recognize(ByteBuf head) {
            return module.recognize(head);
        }

        @Override
        public boolean acceptsTextFrames() {
            return module.acceptsTextFrames();
        }

        @Override
        public boolean wantsWebSocketPings() {
            return module.wantsWebSocketPings();
        }

        @Override
        public void install(ChannelPipeline pipeline, ConnectionInfo info) {
            Channel ch = pipeline.channel();
            Probe probe = new Probe(Testkit.this, ch, info, module.name(), ids.incrementAndGet());
            ch.attr(Probe.KEY).set(probe);
            live.put(probe.id, probe);
            journal("open " + probe.describe());
            ch.closeFuture().addListener(f -> {
                live.remove(probe.id);
                journal("closed " + probe.describe());
            });
            module.install(pipeline, info);
            if (module.name().equals("mqtt") && pipeline.get("mqtt-encoder") != null) {
                MqttProbeHandler handler = new MqttProbeHandler(probe);
                probe.handler = handler;
                pipeline.addAfter("mqtt-encoder", "probe", handler);
            } else if (module.name().equals("stomp") && pipeline.get("stomp-encoder") != null) {
                StompProbeHandler handler = new StompProbeHandler(probe);
                probe.handler = handler;
                pipeline.addAfter("stomp-encoder", "probe", handler);
            }
        }
    }
}
