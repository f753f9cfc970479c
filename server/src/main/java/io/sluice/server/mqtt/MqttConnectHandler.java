package io.sluice.server.mqtt;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttConnectPayload;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttConnectVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.protocol.mqtt.Properties;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.events.Rule;
import io.sluice.protocol.mqtt.Utf8;
import io.sluice.protocol.topic.TopicName;
import io.sluice.server.security.AuthMechanism;
import io.sluice.server.security.Authenticator;
import io.sluice.server.broker.TopicAccess;
import io.sluice.server.security.Login;
import io.sluice.server.security.Security;
import io.sluice.server.security.Credentials;
import io.sluice.server.security.CredentialExpiry;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.Will;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.events.Heartbeat;
import io.sluice.server.events.Refusal;
import io.sluice.server.ops.Admission;
import io.sluice.server.transport.IdleSweep;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The life of the connection: CONNECT to CONNACK (versions 3.1, 3.1.1 and 5; client id assignment; session
 * takeover through {@link Broker#connect}; the will), keep-alive at 1.5 times the interval (MQTT 5 section
 * 3.1.2.10), PINGREQ, DISCONNECT, and the end of the connection, which publishes the will unless the client
 * said goodbye.
 */
final class MqttConnectHandler extends ChannelInboundHandlerAdapter {
    private final MqttConnection connection;
    private final MqttConnectRefusal refusal;
    private final MqttDeliverySink sink;
    private final Security security;
    private ScheduledFuture<?> connectTimeout;
    /** Set once the session has been told this connection is gone; the event loop is the only writer. */
    private boolean leftBroker;
    /** The enhanced authentication of this connection (MQTT 5 section 4.12), null when it used none. */
    private MqttEnhancedAuth auth;
    /** A CONNECT waiting for its authentication exchange to end. */
    private ConnectRequest pendingConnect;
    /** Who the client is and what it may do, once connected; a re-authentication may renew them. */
    private Login login;
    private TopicAccess access;
    /** Closes the connection when its credential expires; null when it never does. */
    private CredentialExpiry expiry;
    /** Keep-alive once connected: one event loop's timer watches every connection's deadline; null without. */
    private IdleSweep.Watch keepAliveWatch;

    /** CONNACK User Property naming how many messages a returning session missed (its queue was full). */
    static final String DROPPED_PROPERTY = "sluice-dropped-while-offline";

    MqttConnectHandler(MqttConnection connection, MqttConnectRefusal refusal, MqttDeliverySink sink,
                       Security security) {
        this.connection = connection;
        this.refusal = refusal;
        this.sink = sink;
        this.security = security;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        long timeout = connection.limits.connectTimeoutMillis();
        if (timeout > 0) {
            connectTimeout = ctx.executor().schedule(() -> {
                if (!connection.isConnected() && !connection.isClosing()) {
                    connection.closeForViolation(null, ReasonCode.MAXIMUM_CONNECT_TIME,
                            "not connected within " + timeout + " ms of opening the connection");
                }
            }, timeout, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        MqttMessage m = (MqttMessage) msg;
        if (keepAliveWatch != null) {
            keepAliveWatch.read(); // every packet the gate lets through passes here, whoever handles it
        }
        switch (m.fixedHeader().messageType()) {
            case CONNECT -> {
                if (connection.isAuthenticating()) {
                    refusal.refuse(Rule.MQTT_SECOND_CONNECT, ReasonCode.PROTOCOL_ERROR, "second CONNECT during authentication");
                } else {
                    connect(ctx, (MqttConnectMessage) m);
                }
            }
            case AUTH -> auth(ctx, m);
            case PINGREQ -> {
                connection.events.heartbeat("mqtt", Heartbeat.MQTT_PINGREQ);
                ctx.write(MqttMessage.PINGRESP);
            }
            case DISCONNECT -> disconnect(m);
            default -> ctx.fireChannelRead(msg);
        }
    }

    private void connect(ChannelHandlerContext ctx, MqttConnectMessage m) {
        MqttConnectVariableHeader h = m.variableHeader();
        MqttConnectPayload p = m.payload();
        MqttVersion version = MqttVersion.fromProtocolNameAndLevel(h.name(), (byte) h.version());
        connection.version(version);
        boolean v5 = version == MqttVersion.MQTT_5;
        Refusal admission = Admission.refusal(ctx.channel());
        if (admission != null) {
            connection.clientId(p.clientIdentifier());
            refusal.refuse(admission);
            return;
        }
        MqttProperties props = h.properties();
        MqttLimits limits = connection.limits;

        String clientId = p.clientIdentifier() == null ? "" : p.clientIdentifier();
        boolean assigned = false;
        if (clientId.isEmpty()) {
            if (!v5 && !h.isCleanSession()) {
                refusal.refuse(Rule.MQTT_EMPTY_CLIENT_ID_NEEDS_CLEAN_SESSION, ReasonCode.CLIENT_IDENTIFIER_NOT_VALID,
                        "an empty client id needs clean session (MQTT 3.1.1 section 3.1.3.1)");
                return;
            }
            clientId = "sluice-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
            assigned = true;
        }
        connection.clientId(clientId);

        long receiveMaximum = Properties.integer(props, MqttProperties.RECEIVE_MAXIMUM, 65_535);
        long maximumPacketSize = Properties.integer(props, MqttProperties.MAXIMUM_PACKET_SIZE, 0);
        if (receiveMaximum == 0 || (Properties.has(props, MqttProperties.MAXIMUM_PACKET_SIZE) && maximumPacketSize == 0)) {
            refusal.refuse(Rule.MQTT_CONNECT_INVALID, ReasonCode.PROTOCOL_ERROR,
                    "Receive Maximum and Maximum Packet Size must not be 0 (MQTT 5 section 3.1.2.11)");
            return;
        }
        long expiry;
        if (v5) {
            expiry = Properties.integer(props, MqttProperties.SESSION_EXPIRY_INTERVAL, 0);
            if (expiry == 0xFFFF_FFFFL) {
                expiry = Long.MAX_VALUE;
            }
        } else {
            expiry = h.isCleanSession() ? 0 : Long.MAX_VALUE;
        }

        Will will = null;
        if (h.isWillFlag()) {
            will = will(h, p, clientId);
            if (will == null) {
                return;
            }
        }

        Credentials credentials = Credentials.of(ctx.channel(), "mqtt", clientId,
                h.hasUserName() ? p.userName() : null, h.hasPassword() ? p.passwordInBytes() : null);
        ConnectRequest request = new ConnectRequest(credentials, version, clientId, assigned, h.isCleanSession(), expiry, will,
                h.keepAliveTimeSeconds(), maximumPacketSize,
                v5 ? (int) Properties.integer(props, MqttProperties.TOPIC_ALIAS_MAXIMUM, 0) : 0,
                v5 && Properties.has(props, MqttProperties.RECEIVE_MAXIMUM) ? (int) receiveMaximum : 0,
                Properties.integer(props, MqttProperties.REQUEST_PROBLEM_INFORMATION, 1) == 1,
                Properties.integer(props, MqttProperties.REQUEST_RESPONSE_INFORMATION, 0) == 1);
        String authMethod = Properties.string(props, MqttProperties.AUTHENTICATION_METHOD);
        if (authMethod == null) {
            admit(ctx, request, security.login(credentials), null, null);
            return;
        }
        auth = MqttEnhancedAuth.start(security, authMethod, credentials);
        if (auth == null) {
            refusal.refuse(ReasonCode.BAD_AUTHENTICATION_METHOD,
                    "authentication method '" + authMethod + "' is not supported");
            return;
        }
        pendingConnect = request;
        connection.authenticating(true);
        authStep(ctx, auth.respond(Properties.binary(props, MqttProperties.AUTHENTICATION_DATA)));
    }

    /** What CONNECT asked for, kept while an enhanced authentication runs (MQTT 5 section 4.12). */
    private record ConnectRequest(Credentials credentials, MqttVersion version, String clientId, boolean assigned, boolean cleanStart,
                                  long expiry, Will will, int keepAlive, long maximumPacketSize,
                                  int topicAliasMaximum, int window, boolean problemInformation,
                                  boolean wantsResponseInformation) {
    }

    /** The client's AUTH: the next step of the exchange, or a re-authentication (MQTT 5 section 4.12.1). */
    private void auth(ChannelHandlerContext ctx, MqttMessage m) {
        MqttReasonCodeAndPropertiesVariableHeader v = (MqttReasonCodeAndPropertiesVariableHeader) m.variableHeader();
        String method = Properties.string(v.properties(), MqttProperties.AUTHENTICATION_METHOD);
        byte[] data = Properties.binary(v.properties(), MqttProperties.AUTHENTICATION_DATA);
        if (auth == null || !auth.method().equals(method)) {
            authFailed(ReasonCode.PROTOCOL_ERROR, "AUTH with method '" + method + "', but the connection "
                    + (auth == null ? "did not use enhanced authentication" : "authenticated with '" + auth.method() + "'")
                    + " (MQTT 5 section 4.12)");
            return;
        }
        if (v.reasonCode() == ReasonCode.REAUTHENTICATE.code() && connection.isConnected() && !auth.inProgress()) {
            auth = MqttEnhancedAuth.start(security, method, auth.credentials());
            authStep(ctx, auth.respond(data));
        } else if (v.reasonCode() == ReasonCode.CONTINUE_AUTHENTICATION.code() && auth.inProgress()) {
            authStep(ctx, auth.respond(data));
        } else {
            authFailed(ReasonCode.PROTOCOL_ERROR, String.format("AUTH with reason 0x%02X out of turn", v.reasonCode()));
        }
    }

    private void authStep(ChannelHandlerContext ctx, AuthMechanism.Step step) {
        switch (step.kind()) {
            case CHALLENGE -> ctx.write(auth.challenge(step.data()));
            case SUCCESS -> {
                if (pendingConnect != null) {
                    ConnectRequest request = pendingConnect;
                    pendingConnect = null;
                    connection.authenticating(false);
                    // a mechanism that names no login leaves it to the CONNECT's user name and password
                    Login login = step.login() != null ? step.login() : security.login(request.credentials());
                    admit(ctx, request, login, auth.method(), step.data());
                } else if (step.login() != null && !java.util.Objects.equals(step.login().user(), login.user())) {
                    authFailed(ReasonCode.NOT_AUTHORIZED, "re-authentication named user '" + step.login().user()
                            + "', not the connection's '" + login.user() + "'");
                } else {
                    if (step.login() != null) {
                        // a fresh credential: its expiry and claims from now on
                        loggedIn(ctx, step.login(), security.access(connection.clientId(), step.login()));
                        connection.session().reads(access);
                    }
                    ctx.write(auth.success(step.data()));
                }
            }
            case FAILURE -> authFailed(ReasonCode.NOT_AUTHORIZED, "enhanced authentication '" + auth.method() + "' failed");
        }
    }

    private void authFailed(ReasonCode reason, String why) {
        if (pendingConnect != null) {
            refusal.refuse(reason, why);
        } else {
            // a failed re-authentication is a refusal, not a broken rule
            connection.closeForViolation(null, reason, why);
        }
    }

    /** The login decided: refuse it, or the will it may not publish, or accept the CONNECT. */
    private void admit(ChannelHandlerContext ctx, ConnectRequest r, Login login, String authMethod, byte[] authData) {
        if (!login.allowed()) {
            refusal.refuse(login.decision() == Authenticator.Decision.BAD_CREDENTIALS
                    ? ReasonCode.BAD_USER_NAME_OR_PASSWORD : ReasonCode.NOT_AUTHORIZED, "login refused");
            return;
        }
        TopicAccess access = security.access(r.clientId(), login);
        Will will = r.will();
        if (will != null && !access.mayPublish(will.message().topic())) {
            security.audit().denied("will", "mqtt", r.clientId(), login.user(), connection.info.remote(), will.message().topic());
            refusal.refuse(ReasonCode.NOT_AUTHORIZED, "not authorized to publish the will to '" + will.message().topic() + "'");
            return;
        }
        accept(ctx, r, login, access, authMethod, authData);
    }

    /** CONNECT accepted: bind the session, answer CONNACK, start keep-alive. */
    private void accept(ChannelHandlerContext ctx, ConnectRequest r, Login login, TopicAccess access, String authMethod,
                        byte[] authData) {
        if (connectTimeout != null) {
            connectTimeout.cancel(false); // it also bounds an enhanced authentication, which ends here
            connectTimeout = null; // a cancelled task held here would stay for the connection's lifetime
        }
        MqttLimits limits = connection.limits;
        boolean v5 = r.version() == MqttVersion.MQTT_5;
        int keepAlive = r.keepAlive();
        boolean serverKeepAlive = v5 && limits.serverKeepAlive() > 0;
        if (serverKeepAlive) {
            keepAlive = limits.serverKeepAlive();
        }
        connection.problemInformation(r.problemInformation());
        int maximumPacketSize = (int) Math.min(r.maximumPacketSize(), Integer.MAX_VALUE);
        sink.clientLimits(maximumPacketSize, r.topicAliasMaximum());

        loggedIn(ctx, login, access);
        Broker.Connection c;
        try {
            c = connection.broker.connect(MqttModule.sessionId(r.clientId()), r.cleanStart(), r.expiry(), r.window(),
                    sink);
        } catch (Broker.SessionLimitException e) {
            refusal.refuse(Refusal.SESSION_LIMIT);
            return;
        }
        connection.brokerConnection(c);
        c.session().reads(access);
        c.session().will(r.will());
        connection.broker.willSet(c.session());
        connection.will(r.will());
        c.session().maximumPacketSize(maximumPacketSize);

        MqttProperties ack = MqttProperties.NO_PROPERTIES;
        if (v5) {
            ack = connAckProperties(r.assigned() ? r.clientId() : null, serverKeepAlive ? keepAlive : -1,
                    r.wantsResponseInformation() ? limits.responseInformation() : null, authMethod, authData);
            if (c.droppedWhileOffline() > 0) {
                // how many messages its full queue could not take while it was away (docs/flow-control.md)
                ack.add(new MqttProperties.UserProperty(DROPPED_PROPERTY, Long.toString(c.droppedWhileOffline())));
            }
        }
        ctx.write(MqttMessageBuilders.connAck()
                .returnCode(MqttConnectReturnCode.CONNECTION_ACCEPTED)
                .sessionPresent(c.present())
                .properties(ack)
                .build());
        connection.events.connected("mqtt", connection.info, r.clientId());
        Admission.established(connection.channel); // CONNACK written: its place among pending handshakes is free
        sink.activate();
        if (keepAlive > 0) {
            keepAliveWatch = IdleSweep.watch(ctx.channel(), keepAlive * 1500L, this::keepAliveExpired);
        }
        if (MqttConnection.log().isDebugEnabled()) { // describe() builds a string: not for every connection
            MqttConnection.log().debug("{}: connected, MQTT {}, keep-alive {} s, session {}", connection.describe(),
                    r.version(), keepAlive, c.present() ? "resumed" : "new");
        }
    }

    /**
     * Who the client is from now on, and until when: a credential that expires (a token's exp) ends the connection
     * then, unless a re-authentication (MQTT 5 AUTH 0x19) brought a fresh one first. MQTT 5 is told why with
     * DISCONNECT 0x87 Not authorized, MQTT 3.1.1 has no way to be told and is closed.
     */
    private void loggedIn(ChannelHandlerContext ctx, Login login, TopicAccess access) {
        this.login = login;
        this.access = access;
        connection.loggedIn(security, login, access);
        if (expiry != null) {
            expiry.cancel();
        }
        expiry = CredentialExpiry.watch(ctx.executor(), login, () -> {
            if (!connection.isClosing()) {
                security.audit().expired("mqtt", connection.clientId(), login.user(), connection.info.remote());
                connection.closeByServer(ReasonCode.NOT_AUTHORIZED, "credential expired");
            }
        });
    }

    /** The will of this connection, or null when it was refused (and the connection answered). */
    private Will will(MqttConnectVariableHeader h, MqttConnectPayload p, String clientId) {
        MqttLimits limits = connection.limits;
        if (!TopicName.isValid(p.willTopic())) {
            refusal.refuse(Rule.MQTT_CONNECT_INVALID, ReasonCode.TOPIC_NAME_INVALID, "will topic '" + p.willTopic() + "' is not a valid topic name");
            return null;
        }
        if (h.willQos() > limits.maximumQos()) {
            refusal.refuse(Rule.MQTT_QOS_ABOVE_MAXIMUM, ReasonCode.QOS_NOT_SUPPORTED, "will QoS " + h.willQos() + " exceeds Maximum QoS "
                    + limits.maximumQos());
            return null;
        }
        if (h.isWillRetain() && !limits.retainAvailable()) {
            refusal.refuse(Rule.MQTT_RETAIN_NOT_AVAILABLE, ReasonCode.RETAIN_NOT_SUPPORTED, "retained will, but retain is not available");
            return null;
        }
        MqttProperties willProps = p.willProperties() == null ? MqttProperties.NO_PROPERTIES : p.willProperties();
        byte[] payload = p.willMessageInBytes() == null ? new byte[0] : p.willMessageInBytes();
        if (InboundMessages.declaresUtf8(willProps) && !Utf8.isWellFormed(payload)) {
            refusal.refuse(Rule.MQTT_PAYLOAD_FORMAT_INVALID, ReasonCode.PAYLOAD_FORMAT_INVALID, "will payload is declared UTF-8 but is not");
            return null;
        }
        Message message = InboundMessages.message(p.willTopic(), payload, h.willQos(), h.isWillRetain(), willProps,
                MqttModule.sessionId(clientId).key());
        return new Will(message, Properties.integer(willProps, MqttProperties.WILL_DELAY_INTERVAL, 0));
    }

    private MqttProperties connAckProperties(String assignedClientId, int serverKeepAlive, String responseInformation,
                                             String authMethod, byte[] authData) {
        MqttLimits limits = connection.limits;
        MqttMessageBuilders.ConnAckPropertiesBuilder b = new MqttMessageBuilders.ConnAckPropertiesBuilder()
                .receiveMaximum(limits.receiveMaximum())
                .retainAvailable(limits.retainAvailable())
                .maximumPacketSize(limits.maxPacketSize())
                .topicAliasMaximum(limits.topicAliasMaximum())
                .wildcardSubscriptionAvailable(limits.wildcardSubscriptions())
                .subscriptionIdentifiersAvailable(limits.subscriptionIdentifiers())
                .sharedSubscriptionAvailable(limits.sharedSubscriptions());
        if (limits.maximumQos() < 2) {
            b.maximumQos((byte) limits.maximumQos());
        }
        if (assignedClientId != null) {
            b.assignedClientId(assignedClientId);
        }
        if (serverKeepAlive >= 0) {
            b.serverKeepAlive(serverKeepAlive);
        }
        if (responseInformation != null) {
            b.responseInformation(responseInformation);
        }
        if (authMethod != null) {
            b.authenticationMethod(authMethod);
            if (authData != null) {
                b.authenticationData(authData);
            }
        }
        return b.build();
    }

    private void disconnect(MqttMessage m) {
        if (connection.isV5() && m.variableHeader() instanceof MqttReasonCodeAndPropertiesVariableHeader v) {
            long expiry = Properties.integer(v.properties(), MqttProperties.SESSION_EXPIRY_INTERVAL, -1);
            if (expiry >= 0) {
                if (connection.session().expiryIntervalSeconds() == 0 && expiry != 0) {
                    // MQTT 5 section 3.14.2.2.2: a session that was to end may not be extended at DISCONNECT
                    connection.closeForViolation(Rule.MQTT_DISCONNECT_SESSION_EXPIRY, ReasonCode.PROTOCOL_ERROR,
                            "DISCONNECT sets a Session Expiry Interval after CONNECT set 0");
                    return;
                }
                connection.session().expiryIntervalSeconds(expiry == 0xFFFF_FFFFL ? Long.MAX_VALUE : expiry);
            }
            connection.publishWillOnClose(v.reasonCode() == ReasonCode.DISCONNECT_WITH_WILL.code());
        } else {
            connection.publishWillOnClose(false);
        }
        connection.endReason(DisconnectReason.CLIENT_DISCONNECT);
        connection.markClosing();
        // The session's fate (ended, or kept with its new expiry) is settled before the socket closes: a client that
        // sees the close and reconnects at once, read by another event loop, must find the session as DISCONNECT left it.
        leaveBroker();
        connection.channel.close();
    }

    /** Nothing received for 1.5 times the keep-alive interval (MQTT 5 section 3.1.2.10). */
    private void keepAliveExpired() {
        // a publisher held back by a full subscriber queue is not read from, so it cannot be idle
        if (!connection.gate.isPaused()) {
            connection.closeByServer(ReasonCode.KEEP_ALIVE_TIMEOUT,
                    "nothing received for 1.5 times the keep-alive interval");
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (connectTimeout != null) {
            connectTimeout.cancel(false);
        }
        stopKeepAlive();
        if (expiry != null) {
            expiry.cancel();
        }
        leaveBroker();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stopKeepAlive();
    }

    private void stopKeepAlive() {
        if (keepAliveWatch != null) {
            keepAliveWatch.stop();
            keepAliveWatch = null;
        }
    }

    /** Detaches the connection from its session once, on DISCONNECT or when the socket goes, whichever comes first. */
    private void leaveBroker() {
        Broker.Connection c = connection.brokerConnection();
        if (c != null && !leftBroker) {
            leftBroker = true;
            connection.broker.disconnect(c, connection.publishWillOnClose());
            connection.events.disconnected("mqtt", connection.info, connection.clientId(), connection.endReason());
            if (MqttConnection.log().isDebugEnabled()) {
                MqttConnection.log().debug("{}: disconnected{}", connection.describe(),
                        connection.publishWillOnClose() ? " abnormally" : "");
            }
        }
    }
}
