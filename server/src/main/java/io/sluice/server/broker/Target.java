package io.sluice.server.broker;

/**
 * All of one session's ordinary subscriptions that match one topic: MQTT delivers the message once, at the
 * highest granted QoS, with every matching subscription identifier (MQTT 5 section 3.3.4).
 */
final class Target {
    final Session session;
    final Subscription[] subscriptions;

    Target(Session session, Subscription[] subscriptions) {
        this.session = session;
        this.subscriptions = subscriptions;
    }
}
