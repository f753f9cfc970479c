package io.sluice.server.broker;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The members of one shared subscription {@code $share/GROUP/filter} (and of a STOMP queue): each message
 * goes to one member, chosen round-robin among members whose queue has room, online members first.
 */
public final class SharedGroup {
    private final String name;
    private final String filter;
    private volatile Subscription[] members = new Subscription[0];
    private final AtomicInteger cursor = new AtomicInteger();

    SharedGroup(String name, String filter) {
        this.name = name;
        this.filter = filter;
    }

    public String name() {
        return name;
    }

    public String filter() {
        return filter;
    }

    public Subscription[] members() {
        return members;
    }

    /** Called under the trie's write lock. */
    void put(Subscription s) {
        Subscription[] cur = members;
        for (int i = 0; i < cur.length; i++) {
            if (cur[i].session() == s.session()) {
                Subscription[] next = cur.clone();
                next[i] = s;
                members = next;
                return;
            }
        }
        Subscription[] next = java.util.Arrays.copyOf(cur, cur.length + 1);
        next[cur.length] = s;
        members = next;
    }

    /** Called under the trie's write lock. */
    boolean remove(Session session) {
        Subscription[] cur = members;
        for (int i = 0; i < cur.length; i++) {
            if (cur[i].session() == session) {
                Subscription[] next = new Subscription[cur.length - 1];
                System.arraycopy(cur, 0, next, 0, i);
                System.arraycopy(cur, i + 1, next, i, cur.length - i - 1);
                members = next;
                return true;
            }
        }
        return false;
    }

    /** The round-robin start for the next pick. */
    int nextStart(int size) {
        return Math.floorMod(cursor.getAndIncrement(), size);
    }
}
