package io.sluice.server.testkit;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.mqtt.MqttConnAckVariableHeader;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.util.ReferenceCountUtil;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.events.Rule;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The MQTT connection's probe, between the codec and the protocol handlers, so it sees each decoded packet in
 * and each packet out: it writes the trace, carries out the faults armed for the client, and in strict mode
 * checks what a lenient broker lets pass: acknowledgements of packet identifiers the server never used
 * ({@link Rule#MQTT_ACK_UNKNOWN_PACKET_ID}) and silences longer than the Keep Alive the client chose
 * ({@link Rule#MQTT_KEEP_ALIVE_LATE}; the broker itself only disconnects at one and a half times it).
 */
final class MqttProbeHandler extends ChannelDuplexHandler implements ProtocolProbe {
    /** Lateness strict mode forgives: a tenth of the Keep Alive, at least this, for timers and the network. */
    static final long KEEP_ALIVE_SLACK_MILLIS = 100;

    private final Probe probe;
    private ChannelHandlerContext ctx;
    private boolean connected;
    private long keepAliveMillis;
    private long lastInbound;
    private boolean keepAliveReported;
    /** Strict mode only: packet identifiers the server used and the client has yet to acknowledge. */
    private final Set<Integer> awaitingPuback = new HashSet<>();
    private final Set<Integer> awaitingPubrec = new HashSet<>();
    private final Set<Integer> awaitingPubcomp = new HashSet<>();
    /** Deliveries this probe sent twice (a fault): their second acknowledgement is expected. */
    private final Set<Integer> duplicated = new HashSet<>();

    MqttProbeHandler(Probe probe) {
        this.probe = probe;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof MqttMessage m) || m.fixedHeader() == null) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (m.decoderResult().isFailure()) {
            trace("in", "MALFORMED", m);
            ctx.fireChannelRead(msg);
            return;
        }
        MqttMessageType type = m.fixedHeader().messageType();
        long now = System.nanoTime();
        if (probe.kit.strict()) {
            checkKeepAlive(now, type + " arrived");
        }
        lastInbound = now;
        if (type == MqttMessageType.CONNECT && onConnect(ctx, (MqttConnectMessage) m)) {
            return;
        }
        if (probe.kit.strict()) {
            checkAcknowledgement(type, m);
        }
        trace("in", type.name(), m);
        boolean drop = probe.faults.countdownToDrop();
        ctx.fireChannelRead(msg);
        if (drop) {
            probe.kit.journal("fault: dropping " + probe.describe() + " after its packets");
            ctx.channel().close();
        }
    }

    /** Names the client; true when an armed fault refuses this CONNECT (it is answered and released here). */
    private boolean onConnect(ChannelHandlerContext ctx, MqttConnectMessage c) {
        probe.mqttLevel = c.variableHeader().version();
        String id = c.payload().clientIdentifier();
        probe.clientId(id == null || id.isEmpty() ? null : id);
        keepAliveMillis = c.variableHeader().keepAliveTimeSeconds() * 1000L;
        probe.kit.journal("CONNECT " + probe.describe() + " MQTT level " + probe.mqttLevel + " keepAlive "
                + c.variableHeader().keepAliveTimeSeconds() + "s cleanStart " + c.variableHeader().isCleanSession());
        Faults.Refusal refusal = probe.kit.faults().takeRefusal(probe.clientId());
        if (refusal == null) {
            return false;
        }
        trace("in", "CONNECT", c);
        ReferenceCountUtil.release(c);
        ReasonCode reason = refusal.reason();
        probe.kit.journal("fault: refusing CONNECT of " + probe.describe() + " with " + reason);
        int code = probe.mqttLevel >= 5 ? reason.unsignedCode() : reason.v3ConnectReturnCode();
        if (code < 0) {
            // MQTT 3.1.1 has no return code for this reason: the spec's answer is to close without CONNACK
            ctx.channel().close();
            return true;
        }
        MqttProperties props = MqttProperties.NO_PROPERTIES;
        if (probe.mqttLevel >= 5) {
            props = new MqttProperties();
            props.add(new MqttProperties.StringProperty(MqttProperties.REASON_STRING, "refused by a test fault"));
        }
        ctx.writeAndFlush(MqttMessageBuilders.connAck().returnCode(MqttConnectReturnCode.valueOf((byte) code))
                .sessionPresent(false).properties(props).build()).addListener(ChannelFutureListener.CLOSE);
        return true;
    }

    private void checkKeepAlive(long now, String what) {
        if (keepAliveMillis <= 0 || lastInbound == 0 || keepAliveReported) {
            return;
        }
        long silent = TimeUnit.NANOSECONDS.toMillis(now - lastInbound);
        if (silent > keepAliveMillis + Math.max(KEEP_ALIVE_SLACK_MILLIS, keepAliveMillis / 10)) {
            keepAliveReported = true;
            probe.record(Rule.MQTT_KEEP_ALIVE_LATE, null, "silent for " + silent + " ms with a Keep Alive of "
                    + keepAliveMillis / 1000 + " s (" + what + ")");
        }
    }

    private void checkAcknowledgement(MqttMessageType type, MqttMessage m) {
        Set<Integer> awaiting = switch (type) {
            case PUBACK -> awaitingPuback;
            case PUBREC -> awaitingPubrec;
            case PUBCOMP -> awaitingPubcomp;
            default -> null;
        };
        if (awaiting == null) {
            return;
        }
        int id = MqttTrace.packetId(m);
        if (!awaiting.remove(id) && !(type != MqttMessageType.PUBCOMP && duplicated.remove(id))) {
            probe.record(Rule.MQTT_ACK_UNKNOWN_PACKET_ID, null, type + " for packet identifier " + id
                    + ", which the server has not sent (or was acknowledged already)");
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof MqttMessage m) || m.fixedHeader() == null) {
            ctx.write(msg, promise);
            return;
        }
        MqttMessageType type = m.fixedHeader().messageType();
        switch (type) {
            case CONNACK -> onConnAck((MqttConnAckVariableHeader) m.variableHeader());
            case PUBACK, PUBREC, PUBCOMP -> {
                if (probe.faults.withholdAcks) {
                    trace("withheld", type.name(), m);
                    ReferenceCountUtil.release(msg);
                    promise.trySuccess();
                    return;
                }
            }
            case PUBREL -> {
                if (probe.kit.strict()) {
                    awaitingPubcomp.add(MqttTrace.packetId(m));
                }
            }
            case PUBLISH -> {
                long delay = probe.faults.delayMillis;
                if (delay > 0) {
                    trace("delayed", type.name(), m);
                    ctx.executor().schedule(() -> {
                        publish(ctx, (MqttPublishMessage) m, promise);
                        ctx.flush();
                    }, delay, TimeUnit.MILLISECONDS);
                    return;
                }
                publish(ctx, (MqttPublishMessage) m, promise);
                return;
            }
            case DISCONNECT -> probe.kit.journal("DISCONNECT sent to " + probe.describe());
            default -> {
            }
        }
        trace("out", type.name(), m);
        ctx.write(msg, promise);
    }

    private void publish(ChannelHandlerContext ctx, MqttPublishMessage p, ChannelPromise promise) {
        int qos = p.fixedHeader().qosLevel().value();
        int id = p.variableHeader().packetId();
        boolean strict = probe.kit.strict();
        if (qos > 0 && strict) {
            (qos == 1 ? awaitingPuback : awaitingPubrec).add(id);
        }
        MqttPublishMessage again = null;
        if (qos > 0 && probe.faults.duplicate) {
            MqttFixedHeader h = p.fixedHeader();
            again = new MqttPublishMessage(new MqttFixedHeader(h.messageType(), true, h.qosLevel(), h.isRetain(),
                    h.remainingLength()), p.variableHeader(), p.payload().retainedDuplicate());
            if (strict) {
                duplicated.add(id);
            }
        }
        trace("out", "PUBLISH", p);
        ctx.write(p, promise);
        if (again != null) {
            trace("out", "PUBLISH", again);
            ctx.write(again, ctx.voidPromise());
        }
    }

    private void onConnAck(MqttConnAckVariableHeader h) {
        connected = h.connectReturnCode() == MqttConnectReturnCode.CONNECTION_ACCEPTED;
        MqttProperties props = h.properties();
        if (props != null) {
            MqttProperties.MqttProperty<?> assigned = props.getProperty(MqttProperties.ASSIGNED_CLIENT_IDENTIFIER);
            if (assigned != null && probe.clientId() == null) {
                probe.clientId((String) assigned.value());
            }
            MqttProperties.MqttProperty<?> serverKeepAlive = props.getProperty(MqttProperties.SERVER_KEEP_ALIVE);
            if (serverKeepAlive != null) {
                keepAliveMillis = ((Integer) serverKeepAlive.value()) * 1000L;
            }
        }
        probe.kit.journal("CONNACK " + MqttTrace.hex(h.connectReturnCode().byteValue()) + " to " + probe.describe());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (probe.kit.strict() && connected) {
            checkKeepAlive(System.nanoTime(), "then the connection closed");
        }
        trace("closed", "CLOSED", null);
        super.channelInactive(ctx);
    }

    @Override
    public void disconnect(ReasonCode reason) {
        if (!ctx.channel().isActive()) {
            return;
        }
        if (connected && probe.mqttLevel >= 5) {
            MqttProperties props = new MqttProperties();
            props.add(new MqttProperties.StringProperty(MqttProperties.REASON_STRING, "disconnected by a test fault"));
            ctx.writeAndFlush(MqttMessageBuilders.disconnect().reasonCode(reason.code()).properties(props).build())
                    .addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.channel().close();
        }
    }

    private void trace(String direction, String type, MqttMessage m) {
        if (probe.kit.tracer() == null) {
            return;
        }
        probe.trace(direction, type, g -> {
            if (m != null) {
                MqttTrace.fields(m, g);
            }
        }, m == null ? 0 : MqttTrace.payloadSize(m), m == null ? null : MqttTrace.payloadPrefix(m));
    }
}
