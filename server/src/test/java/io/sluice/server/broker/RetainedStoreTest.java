package io.sluice.server.broker;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RetainedStoreTest {
    private static Message retained(String topic, String payload) {
        return Message.builder(topic).payload(payload.getBytes()).qos(1).retain(true).build();
    }

    private static Set<String> topics(List<Message> messages) {
        return messages.stream().map(Message::topic).collect(Collectors.toSet());
    }

    @Test
    void storesReplacesAndClearsByEmptyPayload() {
        // MQTT 5 section 3.3.1.3
        RetainedStore store = new RetainedStore();
        store.accept(retained("a/b", "1"));
        store.accept(retained("a/b", "2"));
        assertEquals(1, store.size());
        assertEquals("2", new String(store.match("a/b").get(0).payload()));
        store.accept(retained("a/b", ""));
        assertEquals(0, store.size());
        assertTrue(store.match("#").isEmpty());
    }

    @Test
    void wildcardFiltersWalkOnlyMatchingBranches() {
        RetainedStore store = new RetainedStore();
        for (String t : List.of("a", "a/b", "a/b/c", "a/x/c", "b/b", "$SYS/up", "/lead")) {
            store.accept(retained(t, "v"));
        }
        assertEquals(Set.of("a", "a/b", "a/b/c", "a/x/c"), topics(store.match("a/#")));
        assertEquals(Set.of("a/b/c", "a/x/c"), topics(store.match("a/+/c")));
        assertEquals(Set.of("a/b", "b/b"), topics(store.match("+/b")));
        assertEquals(Set.of("a", "a/b", "a/b/c", "a/x/c", "b/b", "/lead"), topics(store.match("#")));
        assertEquals(Set.of("$SYS/up"), topics(store.match("$SYS/#")));
        assertEquals(Set.of("/lead"), topics(store.match("+/lead")));
    }

    @Test
    void expiredMessagesAreNotOffered() {
        RetainedStore store = new RetainedStore();
        store.accept(Message.builder("t").payload(new byte[] {1}).retain(true)
                .expiresAtMillis(System.currentTimeMillis() - 1).build());
        assertTrue(store.match("t").isEmpty());
    }
}
