package io.sluice.server.stomp;

import io.sluice.server.broker.TopicAccess;
import io.sluice.server.security.Security;
import io.sluice.protocol.stomp.StompDestination;

import io.sluice.protocol.stomp.StompFrameDecoder;
import io.sluice.protocol.stomp.StompFrameEncoder;
import io.sluice.protocol.stomp.StompVersion;
import io.sluice.server.broker.Broker;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.ConnectionInfo;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.ops.TopicLimits;
import io.sluice.server.transport.InboundGate;

/**
 * What the handlers of one STOMP connection share: who it is, the negotiated version, and the pipeline pieces
 * that must learn that version. Touched only on the connection's event loop.
 */
final class StompConnection {
    final String id;
    final ConnectionInfo info;
    final Broker broker;
    final StompConfig config;
    final StompQueues queues;
    final ConnectionEvents events;
    final TopicLimits topicLimits;
    final StompFrameDecoder decoder;
    final StompFrameEncoder encoder;
    /** Keeps decoded frames in order while a SEND waits for room (backpressure); see {@link StompModule#passesWhilePaused}. */
    final InboundGate gate;
    final StompErrorHandler errors = new StompErrorHandler(this);
    StompVersion version;
    String login;
    /** Who logged in and what it may do with topics, decided at CONNECT. */
    String user;
    TopicAccess access = TopicAccess.ALL;
    Security security = Security.allowAll();
    /** --max-publish-rate / --max-publish-bandwidth for this client; null when unlimited. */
    io.sluice.server.security.PublishRate publishRate;
    /** CONNECTED was sent. */
    boolean connected;
    /** DISCONNECT or an ERROR was handled: further frames are dropped. */
    boolean closing;
    /** Why the connection ends, once the server or the client has said; else the socket was lost. */
    DisconnectReason endReason;

    StompConnection(String id, ConnectionInfo info, Broker broker, StompConfig config, StompQueues queues,
                    ConnectionEvents events, TopicLimits topicLimits) {
        this.id = id;
        this.info = info;
        this.broker = broker;
        this.config = config;
        this.queues = queues;
        this.events = events;
        this.topicLimits = topicLimits;
        this.decoder = new StompFrameDecoder(config.maxHeaderLine(), config.maxHeaders());
        this.encoder = new StompFrameEncoder();
        this.gate = new InboundGate(config.maxHeldInbound(), StompModule::passesWhilePaused);
    }

    void version(StompVersion v) {
        version = v;
        decoder.version(v);
        encoder.version(v);
    }

    /** Record why the connection ends; the first reason given counts. */
    void ending(DisconnectReason reason) {
        if (endReason == null) {
            endReason = reason;
        }
    }

    /** The client may not use this MQTT topic: audited, then an ERROR ends the connection. */
    StompProtocolException denied(String action, String topic, String receipt) {
        security.audit().denied(action, "stomp", id, user, info.remote(), topic);
        return StompProtocolException.denied("access refused", "Not authorized to " + action + " '"
                + StompDestination.ofMqttTopic(topic) + "'.", receipt);
    }

    /** "stomp-7 (alice) tcp /127.0.0.1:5000" for log lines. */
    String describe() {
        return id + (login == null ? "" : " (" + login + ")") + " " + info.transport().label() + " " + info.remote();
    }
}
