package io.sluice.server.sse;

import io.sluice.protocol.sse.EventId;
import io.sluice.server.broker.Broker;
import io.sluice.server.broker.Message;
import io.sluice.server.broker.MessageHistory;
import io.sluice.server.broker.MessageHistory.Recorded;
import io.sluice.server.broker.TopicAccess;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Where a reader starts, decided in two steps around its subscription so that nothing falls between the
 * history and the live stream: {@link #before} reads the history's head, the reader subscribes, then
 * {@link #after} reads what the history holds after the starting position. A message published meanwhile is
 * in the history (it is recorded before it is matched) or reaches the new subscription, or both; the reader
 * skips live messages at or before its start and those it already sent from the history, by position.
 *
 * <ul>
 *   <li>a new reader starts at the head: retained messages first, then whatever came after;</li>
 *   <li>a resuming reader gets what the history holds after its id, then live messages;</li>
 *   <li>an id the history cannot continue from (not ours, from before a restart, or older than what the
 *       history still holds for its filters) is a <b>reset</b>: the reader is told so, then starts afresh.</li>
 * </ul>
 */
final class ReaderStart {
    private final MessageHistory history;
    private final EventId requested;
    private final long headBefore;
    private String resetReason;
    private long since;
    private boolean retained;
    private List<Recorded> replay = List.of();

    private ReaderStart(MessageHistory history, EventId requested) {
        this.history = history;
        this.requested = requested;
        // before the head is read: every message after the position this reader gets is written through
        history.readerStarting();
        this.headBefore = history.head();
        if (requested == ReaderRequest.BAD_ID) {
            resetReason = "the id is not one this broker gave out";
        } else if (requested != null && requested.epoch() != history.epoch()) {
            resetReason = "the id is from before a broker restart (or the broker keeps no history)";
        } else if (requested != null && requested.position() > headBefore) {
            resetReason = "the id is ahead of the history";
        }
    }

    /** Step one, before subscribing. {@code requested}: the id to resume after, null for a new reader. */
    static ReaderStart before(MessageHistory history, EventId requested) {
        return new ReaderStart(history, requested);
    }

    /** Step two, once subscribed: read the history. */
    ReaderStart after(List<String> filters) {
        if (resetReason == null && requested != null) {
            since = requested.position();
            List<Recorded> missed = history.since(filters, since);
            if (missed != null) {
                replay = missed;
                return this;
            }
            resetReason = "the history no longer holds every message after the id";
        }
        since = headBefore;
        retained = true;
        List<Recorded> meanwhile = history.since(filters, headBefore);
        replay = meanwhile == null ? List.of() : meanwhile;
        return this;
    }

    /** Why the reader must be told of a gap, null when it resumes (or starts) without one. */
    String resetReason() {
        return resetReason;
    }

    /** Live messages at or before this position are not sent. */
    long since() {
        return since;
    }

    EventId startId() {
        return new EventId(history.epoch(), since);
    }

    /** Send retained messages first (a new reader, or one after a reset). */
    boolean retained() {
        return retained;
    }

    /** What the history holds after the start, in position order. */
    List<Recorded> replay() {
        return replay;
    }

    /**
     * The retained messages of every filter the reader may read, each once (expired ones are left out by the
     * store).
     */
    static List<Message> retainedFor(Broker broker, List<String> filters, TopicAccess access) {
        Set<Message> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Message> out = new ArrayList<>();
        for (String f : filters) {
            for (Message m : broker.retained().match(f)) {
                if (access.mayRead(m.topic()) && seen.add(m)) {
                    out.add(m);
                }
            }
        }
        return out;
    }
}
