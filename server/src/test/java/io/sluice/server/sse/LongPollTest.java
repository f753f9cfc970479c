package io.sluice.server.sse;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GET /poll with java.net.http: first poll, held poll, timeout, batch limit, reset. */
class LongPollTest {
    private FallbackBroker broker;

    @AfterEach
    void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void aFirstPollAnswersAtOnceWithRetainedMessagesAndWhereToContinue() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.POLL_TIMEOUT, 20_000L));
        broker.publish("cfg/a", 1, true, "A".getBytes(), null);
        long start = System.nanoTime();
        JsonNode first = broker.poll("cfg/#", null);
        assertTrue(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) < 15, "a first poll is not held");
        assertEquals(1, first.get("messages").size());
        assertEquals("A", first.get("messages").get(0).get("payload").asText());
        assertTrue(first.get("messages").get(0).get("retained").asBoolean());
        assertTrue(first.get("next").asText().matches("[0-9a-z]+-[0-9]+"));
        assertFalse(first.has("reset"));
    }

    @Test
    void aHeldPollAnswersAsSoonAsAMessageArrives() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.POLL_TIMEOUT, 20_000L));
        String next = broker.poll("jobs/+", null).get("next").asText();
        CompletableFuture<JsonNode> held = CompletableFuture.supplyAsync(() -> {
            try {
                return broker.poll("jobs/+", next);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        // the poll subscribes when it arrives; publish until it answers (a publish before that is in the history)
        broker.publish("jobs/1", 1, "work");
        JsonNode answer = held.get(15, TimeUnit.SECONDS);
        assertEquals(1, answer.get("messages").size());
        JsonNode m = answer.get("messages").get(0);
        assertEquals("work", m.get("payload").asText());
        assertEquals(m.get("id").asText(), answer.get("next").asText());
        // the next poll from there has nothing new: it is held, then answers empty
    }

    @Test
    void anEmptyPollAnswersAfterThePollTimeoutWithTheSamePosition() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.POLL_TIMEOUT, 400L));
        String next = broker.poll("quiet", null).get("next").asText();
        JsonNode empty = broker.poll("quiet", next);
        assertEquals(0, empty.get("messages").size());
        assertEquals(next, empty.get("next").asText());
    }

    @Test
    void aBatchHoldsAtMostPollMaxMessagesAndTheRestComesNextWithoutLossOrDuplicate() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.POLL_MAX_MESSAGES, 3).set(Settings.POLL_TIMEOUT, 300L));
        String next = broker.poll("n/#", null).get("next").asText();
        for (int i = 1; i <= 7; i++) {
            broker.publish("n/" + (i % 3), 1, "v" + i);
        }
        List<String> got = new ArrayList<>();
        for (int round = 0; round < 5; round++) {
            JsonNode batch = broker.poll("n/#", next);
            assertTrue(batch.get("messages").size() <= 3, batch.toString());
            batch.get("messages").forEach(m -> got.add(m.get("payload").asText()));
            next = batch.get("next").asText();
        }
        assertEquals(List.of("v1", "v2", "v3", "v4", "v5", "v6", "v7"), got);
    }

    @Test
    void aPositionOlderThanTheHistoryIsAReset() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.HISTORY_MESSAGES, 2));
        String next = broker.poll("r", null).get("next").asText();
        for (int i = 0; i < 4; i++) {
            broker.publish("r", 1, "x" + i);
        }
        JsonNode reset = broker.poll("r", next);
        assertTrue(reset.get("reset").asText().contains("no longer holds"), reset.toString());
        JsonNode unknown = broker.poll("r", "nonsense");
        assertTrue(unknown.has("reset"));
    }
}
