package io.sluice.server.stomp;

import io.sluice.protocol.stomp.StompDestination;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.CloseReason;
import io.sluice.server.broker.Delivery;
import io.sluice.server.broker.DeliverySink;
import io.sluice.server.broker.Session;
import io.sluice.server.broker.SessionId;
import io.sluice.server.broker.SubscriptionOptions;
import io.sluice.server.events.Limit;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * The {@code /queue/} destinations. A queue's consumers are members of one shared group on the queue's topic,
 * so each message goes to one of them, online members first. While no consumer is attached, messages wait in
 * the queue's holder: a session that never comes online, is a member of the same group and never expires,
 * whose queue is bounded like any subscriber's (max-queued-messages, max-queued-bytes). A SEND that finds the
 * holder full is refused. When a consumer subscribes, the holder hands what it holds over to the group.
 * A queue exists from its first SEND or SUBSCRIBE on; there are at most stomp-max-queues of them.
 */
final class StompQueues {
    private static final String HOLDER_PREFIX = "$stomp-queue:";

    private final Broker broker;
    private final int maxQueues;
    private final ConcurrentHashMap<String, Session> holders = new ConcurrentHashMap<>();

    StompQueues(Broker broker, int maxQueues) {
        this.broker = broker;
        this.maxQueues = maxQueues;
    }

    /** Make sure the queue exists, so messages sent to it are held until a consumer comes. */
    void declare(StompDestination queue) {
        if (holders.containsKey(queue.name())) {
            return;
        }
        if (holders.size() >= maxQueues) {
            throw new StompProtocolException("too many queues", "This server holds at most " + maxQueues
                    + " queues (setting stomp-max-queues); use an existing queue or a /topic/ destination.");
        }
        holders.computeIfAbsent(queue.name(), name -> {
            Broker.Connection c;
            try {
                c = broker.connect(new SessionId(StompModule.NAMESPACE, HOLDER_PREFIX + name), false, Long.MAX_VALUE,
                        0, NEVER_ONLINE);
            } catch (Broker.SessionLimitException e) {
                throw StompProtocolException.limit("session limit reached", "A new queue needs a session and the "
                        + "server holds as many as it may (" + e.getMessage() + "); use an existing queue.", null,
                        Limit.SESSIONS);
            }
            broker.disconnect(c, false);
            broker.holdsOnly(c.session());
            broker.subscribe(c.session(), queue.mqttTopic(), queue.shareGroup(), SubscriptionOptions.ofQos(1), null);
            return c.session();
        });
    }

    /** A consumer arrived: messages held for the queue go to its consumers. */
    void consumerArrived(StompDestination queue) {
        Session holder = holders.get(queue.name());
        if (holder != null) {
            broker.handOverGroupShare(holder);
        }
    }

    int count() {
        return holders.size();
    }

    /** Attached only for the instant of creating a holder session, which then stays offline. */
    private static final DeliverySink NEVER_ONLINE = new DeliverySink() {
        @Override
        public Executor executor() {
            return Runnable::run;
        }

        @Override
        public boolean isWritable() {
            return false;
        }

        @Override
        public void send(Delivery delivery) {
        }

        @Override
        public void sendRelease(Delivery delivery) {
        }

        @Override
        public void flush() {
        }

        @Override
        public void close(CloseReason reason) {
        }
    };
}
