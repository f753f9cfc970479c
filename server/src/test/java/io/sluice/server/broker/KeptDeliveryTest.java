package io.sluice.server.broker;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the core does with a message the cluster feeds to a session it keeps ({@link Broker#deliverKept}): settling
 * one acknowledges it to the cluster, which then lets its copy go, so a message is settled only once the session is
 * done with it, never because the session is no longer here.
 */
class KeptDeliveryTest {
    private final Broker broker = new Broker(new BrokerConfig(new QueueLimits(16, 1 << 20, 4, 3, List.of()), 64));
    private final RecordingSink sink = new RecordingSink();

    KeptDeliveryTest() {
        // a cluster that keeps every persistent session (its messages are fed through deliverKept, not the trie)
        broker.cluster(new ClusterBus.Single() {
            @Override
            public boolean keepsSessions(SessionId id) {
                return true;
            }
        });
    }

    @AfterEach
    void tearDown() {
        sink.close();
        broker.close();
    }

    private static Message msg(String topic, String body) {
        return Message.builder(topic).qos(1).payload(body.getBytes(StandardCharsets.UTF_8)).build();
    }

    private Broker.Connection connectSubscribed() throws Exception {
        return sink.onLoop(() -> {
            Broker.Connection c = broker.connect(new SessionId("test", "kept"), false, 300, 0, sink);
            broker.subscribe(c.session(), "k/#", null, SubscriptionOptions.ofQos(1), null);
            return c;
        });
    }

    @Test
    void aConnectedSessionSettlesAKeptMessageOnlyWhenItsClientAcknowledgesIt() throws Exception {
        Broker.Connection c = connectSubscribed();
        AtomicInteger settled = new AtomicInteger();
        assertTrue(broker.deliverKept(c.session(), msg("k/1", "m"), Set.of(), false, settled::incrementAndGet, () -> { }));
        Delivery d = sink.next();
        assertEquals(0, settled.get(), "settled before its client acknowledged it");
        sink.onLoop(() -> c.session().queue().acknowledge(d.packetId()));
        assertEquals(1, settled.get(), "settled once acknowledged");
    }

    @Test
    void aKeptMessageMatchingNoneOfAConnectedSessionsSubscriptionsIsSettled() throws Exception {
        Broker.Connection c = connectSubscribed();
        AtomicInteger settled = new AtomicInteger();
        // unsubscribed since it was queued for the session: nothing to keep it for
        assertTrue(broker.deliverKept(c.session(), msg("other/1", "m"), Set.of(), false, settled::incrementAndGet,
                () -> { }));
        assertEquals(1, settled.get());
    }

    /**
     * The session's feed can hand it a message in the moment its connection ends (the feed stops on another
     * thread). Its subscriptions here are gone by then; the message must stay the cluster's, for its next consumer.
     */
    @Test
    void aSessionThatLeftThisNodeSettlesNothingItIsHanded() throws Exception {
        Broker.Connection c = connectSubscribed();
        Session s = c.session();
        sink.onLoop(() -> {
            broker.disconnect(c, false);
            return null;
        });
        assertEquals(null, broker.session(s.id()), "the kept session is no longer held here");
        AtomicInteger settled = new AtomicInteger();
        assertTrue(broker.deliverKept(s, msg("k/1", "m"), Set.of(), false, settled::incrementAndGet, () -> { }));
        assertEquals(0, settled.get(), "a message handed to a session that left was settled (the cluster drops it)");
        assertTrue(sink.sent.isEmpty(), "nothing is sent to a closed connection");
    }
}
