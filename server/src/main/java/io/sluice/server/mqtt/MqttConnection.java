package io.sluice.server.mqtt;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.broker.TopicAccess;
import io.sluice.server.security.Login;
import io.sluice.server.security.Security;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.Session;
import io.sluice.server.broker.Will;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.events.Rule;
import io.sluice.server.ops.TopicLimits;
import io.sluice.server.testkit.Probe;
import io.sluice.server.transport.InboundGate;
import io.sluice.server.events.Logs;
import org.slf4j.Logger;

/**
 * What the handlers of one MQTT connection share: who the client is once CONNECT is accepted, the limits it
 * stated, and the one way a connection is ended by the broker (a DISCONNECT with a reason code for MQTT 5,
 * a plain close before that, and one log line naming client id, protocol, transport and address).
 * Only touched on the connection's event loop.
 */
final class MqttConnection {
    private static final Logger log = Logs.get("io.sluice.server.mqtt");

    final Channel channel;
    /** --max-publish-rate / --max-publish-bandwidth for this client; null when unlimited. */
    io.sluice.server.security.PublishRate publishRate;
    final ConnectionInfo info;
    final Broker broker;
    final MqttLimits limits;
    final ConnectionEvents events;
    final TopicLimits topicLimits;
    /** Holds this client's inbound packets while one of its publishes waits for room (backpressure). */
    final InboundGate gate;

    private MqttVersion version;
    private String clientId;
    private Broker.Connection brokerConnection;
    private boolean closing;
    /** The will goes out when the connection ends without a normal DISCONNECT (MQTT 5 section 3.1.2.5). */
    private boolean publishWillOnClose = true;
    /** MQTT 5 Request Problem Information: false means reason strings only on CONNACK, PUBLISH and DISCONNECT. */
    private boolean problemInformation = true;

    /** Why the connection ended, reported when it closes; a socket that just drops is a lost connection. */
    private DisconnectReason endReason = DisconnectReason.CONNECTION_LOST;

    MqttConnection(Channel channel, ConnectionInfo info, Broker broker, MqttLimits limits, ConnectionEvents events,
                   TopicLimits topicLimits, InboundGate gate) {
        this.channel = channel;
        this.info = info;
        this.broker = broker;
        this.limits = limits;
        this.events = events;
        this.topicLimits = topicLimits;
        this.gate = gate;
    }

    DisconnectReason endReason() {
        return endReason;
    }

    void endReason(DisconnectReason reason) {
        this.endReason = reason;
    }

    /** Who the client logged in as, and what it may do with topics (decided once, at login). */
    private Login login;
    private TopicAccess access = TopicAccess.ALL;
    private Security security;

    Login login() {
        return login;
    }

    TopicAccess access() {
        return access;
    }

    void loggedIn(Security security, Login login, TopicAccess access) {
        this.security = security;
        this.login = login;
        this.access = access;
    }

    /** A topic operation refused: audited (publish, subscribe, will). */
    void denied(String action, String topic) {
        if (security != null) {
            security.audit().denied(action, "mqtt", clientId, login == null ? null : login.user(), info.remote(), topic);
        }
    }

    /** This connection's will; the session's may already be the will of a connection that took it over. */
    private Will will;

    void will(Will will) {
        this.will = will;
    }

    /**
     * Another connection took the session over: this connection ended without DISCONNECT, so its will goes out,
     * unless it has a Will Delay, which the new connection of the same client id opened in time cancels
     * (MQTT 5 section 3.1.2.5). The core leaves a stale connection's will to its adapter.
     */
    void publishWillOfTakenOverConnection() {
        if (will != null && will.delaySeconds() <= 0 && publishWillOnClose) {
            broker.publish(will.message(), outcome -> { });
        }
        will = null;
    }

    /** Between a CONNECT with an Authentication Method and its CONNACK: AUTH packets may come. */
    private boolean authenticating;

    boolean isAuthenticating() {
        return authenticating;
    }

    void authenticating(boolean on) {
        this.authenticating = on;
    }

    boolean isConnected() {
        return brokerConnection != null;
    }

    boolean isClosing() {
        return closing;
    }

    boolean isV5() {
        return version == MqttVersion.MQTT_5;
    }

    MqttVersion version() {
        return version;
    }

    void version(MqttVersion version) {
        this.version = version;
    }

    String clientId() {
        return clientId;
    }

    void clientId(String clientId) {
        this.clientId = clientId;
    }

    Broker.Connection brokerConnection() {
        return brokerConnection;
    }

    void brokerConnection(Broker.Connection c) {
        this.brokerConnection = c;
    }

    Session session() {
        return brokerConnection == null ? null : brokerConnection.session();
    }

    boolean publishWillOnClose() {
        return publishWillOnClose;
    }

    void publishWillOnClose(boolean publish) {
        this.publishWillOnClose = publish;
    }

    void problemInformation(boolean wanted) {
        this.problemInformation = wanted;
    }

    /** Reason string property for an acknowledgement, when the client did not ask to go without them. */
    MqttProperties reasonString(String why) {
        if (!isV5() || !problemInformation || why == null) {
            return MqttProperties.NO_PROPERTIES;
        }
        MqttProperties p = new MqttProperties();
        p.add(new MqttProperties.StringProperty(MqttProperties.REASON_STRING, why));
        return p;
    }

    /**
     * End the connection because the client broke a rule: an MQTT 5 client that completed CONNECT gets a
     * DISCONNECT with the reason code and a reason string; earlier versions have no DISCONNECT from the
     * server (MQTT 3.1.1 section 4.8), so the connection just closes. Further inbound packets are dropped.
     */
    void closeForViolation(ReasonCode reason, String why) {
        closeForViolation(Rule.MQTT_UNCLASSIFIED, reason, why);
    }

    /**
     * The same, naming the rule the client broke (strict mode records it; see {@link Probe#violated}); a null
     * rule records nothing (the caller recorded it).
     */
    void closeForViolation(Rule rule, ReasonCode reason, String why) {
        if (closing) {
            return;
        }
        if (rule != null) {
            Probe.violated(channel, rule, clientId, why);
        }
        log.warn("{}: {}; closing the connection{}", describe(), why,
                isV5() && isConnected() ? " with DISCONNECT " + reason : "");
        endReason = DisconnectReason.PROTOCOL_ERROR;
        events.protocolError("mqtt", info, clientId, why);
        disconnect(reason, why);
    }

    /** End the connection for a reason of the broker's own (takeover, shutdown, keep-alive), logged at info. */
    void closeByServer(ReasonCode reason, String why) {
        if (closing) {
            return;
        }
        log.info("{}: {}; closing the connection{}", describe(), why,
                isV5() && isConnected() ? " with DISCONNECT " + reason : "");
        endReason = switch (reason) {
            case SESSION_TAKEN_OVER -> DisconnectReason.SESSION_TAKEN_OVER;
            case SERVER_SHUTTING_DOWN -> DisconnectReason.SERVER_SHUTTING_DOWN;
            case KEEP_ALIVE_TIMEOUT -> DisconnectReason.KEEP_ALIVE_TIMEOUT;
            case SERVER_BUSY -> DisconnectReason.STUCK_CONSUMER;
            case QUOTA_EXCEEDED, TOPIC_NAME_INVALID, TOPIC_FILTER_INVALID -> DisconnectReason.LIMIT_EXCEEDED;
            case NOT_AUTHORIZED -> DisconnectReason.NOT_AUTHORIZED;
            default -> DisconnectReason.ADMINISTRATIVE;
        };
        disconnect(reason, why);
    }

    private void disconnect(ReasonCode reason, String why) {
        closing = true;
        gate.discardAll();
        channel.config().setAutoRead(false);
        if (isV5() && isConnected()) {
            MqttProperties props = new MqttProperties();
            props.add(new MqttProperties.StringProperty(MqttProperties.REASON_STRING, why));
            MqttMessage disconnect = MqttMessageBuilders.disconnect().reasonCode(reason.code()).properties(props).build();
            channel.writeAndFlush(disconnect).addListener(ChannelFutureListener.CLOSE_ON_FAILURE)
                    .addListener(f -> closeAfterDisconnect());
        } else {
            channel.close();
        }
    }

    /**
     * On TCP, a client may still be writing when our DISCONNECT goes out; closing at once would make the kernel
     * answer its next packet with a reset that can destroy the DISCONNECT before the client reads it. So send
     * FIN, read and drop what still comes (the protocol guard drops packets while closing), and close when the
     * client does or after a short linger. A WebSocket ends with its own close handshake instead.
     */
    private void closeAfterDisconnect() {
        if (info.transport() != io.sluice.server.events.Transport.TCP
                || !(channel instanceof io.netty.channel.socket.DuplexChannel duplex) || !channel.isActive()) {
            channel.close();
            return;
        }
        duplex.shutdownOutput().addListener(f -> {
            channel.config().setAutoRead(true);
            channel.eventLoop().schedule(() -> {
                channel.close();
            }, DISCONNECT_LINGER_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
        });
    }

    private static final long DISCONNECT_LINGER_MILLIS = 2_000;

    /** Stop processing inbound packets after a refusal that answers itself (a CONNACK with a failure code). */
    void markClosing() {
        closing = true;
        gate.discardAll();
        channel.config().setAutoRead(false);
    }

    /** "mqtt tcp /127.0.0.1:50123 client 'sensor-1'": the prefix of every log line about this connection. */
    String describe() {
        return "mqtt " + info.transport().label() + " " + info.remote() + " client "
                + (clientId == null ? "(before CONNECT)" : "'" + clientId + "'");
    }

    static Logger log() {
        return log;
    }
}
