package io.sluice.server.stomp;

import io.netty.handler.codec.stomp.StompCommand;
import io.sluice.server.BrokerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.stomp.StompTestClient.frame;
import static io.sluice.server.stomp.StompTestClient.sendFrame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A STOMP {@code /queue/} with a client-acknowledging consumer, the broker killed with SIGKILL at a random point
 * and restarted on the same data directory: every SEND the producer got a RECEIPT for reaches a consumer after
 * the restart, whether it was waiting in the queue or sent to the consumer and not yet acknowledged.
 */
class StompQueueKillNineTest {
    private static final int MESSAGES = 3000;

    @Test
    void everyReceiptedSendIsConsumedAfterKillNine(@TempDir Path dir) throws Exception {
        BrokerProcess.Ports ports = BrokerProcess.Ports.free();
        Path data = dir.resolve("data");
        Path log = dir.resolve("broker.log");
        String[] flags = {"--max-queued-messages", Integer.toString(MESSAGES)};
        int killAfter = ThreadLocalRandom.current().nextInt(MESSAGES / 10, MESSAGES * 8 / 10);
        Set<Integer> receipted = ConcurrentHashMap.newKeySet();
        Set<Integer> consumedBefore = ConcurrentHashMap.newKeySet();

        try (BrokerProcess first = BrokerProcess.start(ports, data, log, flags)) {
            StompTestClient consumer = new StompTestClient(ports.stomp());
            consumer.connect("1.2");
            consumer.subscribe("/queue/kill9", "c", "ack", "client-individual", "prefetch-count", "50");
            StompTestClient producer = new StompTestClient(ports.stomp());
            producer.connect("1.2");
            Thread sender = new Thread(() -> {
                for (int i = 0; i < MESSAGES && producer.isOpen(); i++) {
                    try {
                        producer.send(sendFrame("/queue/kill9", Integer.toString(i), "receipt", Integer.toString(i)));
                    } catch (RuntimeException closed) {
                        return;
                    }
                }
            }, "stomp-producer");
            sender.start();
            // a slow consumer: it acknowledges every other message it gets, and only some of the time
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (receipted.size() < killAfter && System.nanoTime() < deadline) {
                StompTestClient.Frame r = producer.poll(10);
                while (r != null) {
                    if (r.command() == StompCommand.RECEIPT) {
                        receipted.add(Integer.parseInt(r.header("receipt-id")));
                    }
                    r = producer.poll(0);
                }
                StompTestClient.Frame m = consumer.poll(0);
                if (m != null && m.command() == StompCommand.MESSAGE && Integer.parseInt(m.text()) % 2 == 0) {
                    consumer.send(frame(StompCommand.ACK, "id", m.header("ack")));
                    consumedBefore.add(Integer.parseInt(m.text()));
                }
            }
            assertTrue(receipted.size() >= killAfter, "only " + receipted.size() + " receipts; log:\n" + first.log());
            first.kill();
            sender.join(30_000);
            StompTestClient.Frame r;
            while ((r = producer.poll(0)) != null) {
                if (r.command() == StompCommand.RECEIPT) {
                    receipted.add(Integer.parseInt(r.header("receipt-id")));
                }
            }
            consumer.close();
            producer.close();
        }

        Set<Integer> missing = new TreeSet<>(receipted);
        missing.removeAll(consumedBefore);
        int toRecover = missing.size();
        try (BrokerProcess second = BrokerProcess.start(ports, data, log, flags)) {
            StompTestClient consumer = new StompTestClient(ports.stomp());
            consumer.connect("1.2");
            consumer.subscribe("/queue/kill9", "c", "ack", "client-individual", "prefetch-count", "200");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!missing.isEmpty() && System.nanoTime() < deadline) {
                StompTestClient.Frame m = consumer.poll(100);
                if (m != null && m.command() == StompCommand.MESSAGE) {
                    missing.remove(Integer.parseInt(m.text()));
                    consumer.send(frame(StompCommand.ACK, "id", m.header("ack")));
                }
            }
            assertTrue(missing.isEmpty(), missing.size() + " of " + receipted.size() + " receipted messages never "
                    + "consumed after the restart, e.g. " + missing.stream().limit(10).toList() + "; log:\n" + second.log());
            consumer.close();
        }
        System.out.printf("STOMP /queue/: %d receipted, %d acknowledged before the kill, %d consumed after the restart%n",
                receipted.size(), consumedBefore.size(), toRecover);
        assertTrue(toRecover > 50, "the kill left too little to recover to prove much: " + toRecover);
    }
}
