package io.sluice.server.sse;

import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageHistory.Recorded;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The history's rules: what it keeps, and that every way of losing a message shows as a gap, never a short answer. */
class MemoryHistoryTest {
    private final AtomicLong clock = new AtomicLong(1_000_000);

    /** A history some reader was given a position by (it keeps messages from then on). */
    private MemoryHistory history(int perTopic, long ageMillis, int topics, List<String> filters) {
        MemoryHistory h = unread(perTopic, ageMillis, topics, filters);
        h.readerStarting();
        return h;
    }

    /** A history no reader has asked anything of yet. */
    private MemoryHistory unread(int perTopic, long ageMillis, int topics, List<String> filters) {
        return new MemoryHistory(perTopic, ageMillis, topics, filters, io.sluice.server.broker.MessageStore.NONE, clock::get);
    }

    private static Message m(String topic) {
        return Message.builder(topic).payload(topic.getBytes()).build();
    }

    private static List<Long> positions(List<Recorded> r) {
        return r.stream().map(Recorded::position).toList();
    }

    @Test
    void positionsGrowAcrossTopicsAndAnswersComeInPositionOrderForTheFiltersOnly() {
        MemoryHistory h = history(10, 60_000, 100, List.of("#"));
        assertEquals(1, h.append(m("a/1")));
        assertEquals(2, h.append(m("b/1")));
        assertEquals(3, h.append(m("a/2")));
        assertEquals(List.of(1L, 3L), positions(h.since(List.of("a/+"), 0)));
        assertEquals(List.of(3L), positions(h.since(List.of("a/+"), 1)));
        assertEquals(List.of(2L, 3L), positions(h.since(List.of("a/2", "b/#"), 1)));
        assertEquals(List.of(), positions(h.since(List.of("a/+"), 3)));
        assertEquals(3, h.head());
    }

    @Test
    void topicsNoHistoryFilterMatchesGetNoPosition() {
        MemoryHistory h = history(10, 60_000, 100, List.of("keep/#"));
        assertEquals(0, h.append(m("other")));
        assertEquals(1, h.append(m("keep/x")));
        // '#' does not match '$' topics (MQTT 4.7.2), so $SYS is never kept by default
        MemoryHistory all = history(10, 60_000, 100, List.of("#"));
        assertEquals(0, all.append(m("$SYS/broker/uptime")));
    }

    @Test
    void aTopicKeepsItsLastMessagesAndOlderPositionsAreAGap() {
        MemoryHistory h = history(3, 60_000, 100, List.of("#"));
        for (int i = 0; i < 5; i++) {
            h.append(m("t"));
        }
        h.append(m("u"));
        assertEquals(List.of(3L, 4L, 5L), positions(h.since(List.of("t"), 2)));
        assertNull(h.since(List.of("t"), 1), "position 2 was dropped: resuming after 1 is a gap");
        assertNull(h.since(List.of("#"), 0));
        // another topic's drops do not concern a reader of this one
        assertEquals(List.of(6L), positions(h.since(List.of("u"), 0)));
        assertEquals(3 + 1, h.size());
    }

    @Test
    void messagesOlderThanTheAgeAreDroppedAndAreAGap() {
        MemoryHistory h = history(100, 1_000, 100, List.of("#"));
        h.append(m("t"));
        clock.addAndGet(600);
        h.append(m("t"));
        clock.addAndGet(600);
        assertEquals(List.of(2L), positions(h.since(List.of("t"), 1)));
        assertNull(h.since(List.of("t"), 0));
    }

    @Test
    void aForgottenTopicIsAGapForEveryReaderFromBeforeIt() {
        MemoryHistory h = history(10, 60_000, 2, List.of("#"));
        h.append(m("t1"));
        h.append(m("t2"));
        for (int i = 0; i < 50; i++) {
            h.append(m("t" + (3 + i)));
        }
        // far more topics than it may keep: some histories were forgotten, and what they held is unknown now
        assertNull(h.since(List.of("t1"), 0));
        assertNotNull(h.since(List.of("t52"), h.head() - 1));
    }

    /**
     * Until a reader is given a position nobody holds one: messages take positions but are not kept. From the first
     * reader on every message is, and every position from before it is a gap, never a short (here: empty) answer.
     */
    @Test
    void untilTheFirstReaderNothingIsKeptAndEveryEarlierPositionIsAGap() {
        MemoryHistory h = unread(10, 60_000, 100, List.of("#"));
        assertEquals(1, h.append(m("a")));
        assertEquals(2, h.append(m("b")));
        assertEquals(0, h.append(m("$SYS/x")), "a topic that keeps no history still gets no position");
        assertEquals(0, h.size());
        h.readerStarting();
        long start = h.head();
        assertEquals(2, start);
        assertEquals(3, h.append(m("a")));
        assertEquals(4, h.append(m("b")));
        assertEquals(List.of(3L, 4L), positions(h.since(List.of("#"), start)));
        assertEquals(List.of(4L), positions(h.since(List.of("b"), 3)));
        for (long before = 0; before < start; before++) {
            assertNull(h.since(List.of("#"), before), "position " + before + " was given out before any reader");
            assertNull(h.since(List.of("a"), before));
        }
        assertEquals(2, h.size());
        // a later reader changes nothing
        h.readerStarting();
        assertEquals(List.of(3L, 4L), positions(h.since(List.of("#"), start)));
    }

    @Test
    void aPositionAheadOfTheHeadIsNotOneOfOurs() {
        MemoryHistory h = history(10, 60_000, 100, List.of("#"));
        h.append(m("t"));
        assertNull(h.since(List.of("t"), 2));
    }
}
