package io.sluice.server.admin;

import io.sluice.server.broker.Broker;
import io.sluice.server.broker.Session;
import io.sluice.server.broker.SessionId;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.events.ConnectionInfo;

import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import java.util.function.Predicate;

/**
 * Every accepted client connection, numbered in the order they connected, for the admin API. Kept in a skip
 * list by number so a page is found from its cursor in O(log n) and costs only its own length, however many
 * connections there are. Fed by the adapters' {@link ConnectionEvents} (connect and disconnect) and by the
 * {@link ChannelTraffic} handler of each socket (bytes, the channel), matched by remote address.
 */
public final class ConnectionTable implements ConnectionEvents {
    private final Broker broker;
    private final AtomicLong sequence = new AtomicLong();
    private final ConcurrentSkipListMap<Long, Entry> byNumber = new ConcurrentSkipListMap<>();
    private final Map<ConnectionInfo, Entry> byInfo = new ConcurrentHashMap<>();
    private final Map<SocketAddress, ChannelTraffic> sockets = new ConcurrentHashMap<>();

    public ConnectionTable(Broker broker) {
        this.broker = broker;
    }

    /**
     * One accepted connection; {@code messagesIn}/{@code messagesOut}: application messages it sent and received.
     * The two counts are fields of the entry, not {@code LongAdder}s: each has one writer at a time (the event loop
     * of the connection that sends or receives), which is not the contention an adder spreads over cells, and two
     * adders were 64 bytes on every idle connection.
     */
    public static final class Entry {
        private static final AtomicLongFieldUpdater<Entry> IN = AtomicLongFieldUpdater.newUpdater(Entry.class, "in");
        private static final AtomicLongFieldUpdater<Entry> OUT = AtomicLongFieldUpdater.newUpdater(Entry.class, "out");

        private final long number;
        private final String protocol;
        private final String clientId;
        private final ConnectionInfo info;
        private final long connectedAtMillis;
        private final ChannelTraffic traffic;
        private volatile long in;
        private volatile long out;

        Entry(long number, String protocol, String clientId, ConnectionInfo info, long connectedAtMillis,
              ChannelTraffic traffic) {
            this.number = number;
            this.protocol = protocol;
            this.clientId = clientId;
            this.info = info;
            this.connectedAtMillis = connectedAtMillis;
            this.traffic = traffic;
        }

        public long number() {
            return number;
        }

        public String protocol() {
            return protocol;
        }

        public String clientId() {
            return clientId;
        }

        public ConnectionInfo info() {
            return info;
        }

        public long connectedAtMillis() {
            return connectedAtMillis;
        }

        public ChannelTraffic traffic() {
            return traffic;
        }

        public long messagesIn() {
            return in;
        }

        public long messagesOut() {
            return out;
        }
    }

    /** A page of connections after {@code cursor} (0: from the first), and the cursor of the next page, 0 at the end. */
    public record Page(List<Entry> items, long nextCursor) {
    }

    /** The per-socket handler to put first in a new socket's pipeline. */
    public ChannelTraffic newTrafficCounter() {
        return new ChannelTraffic(this);
    }

    void opened(ChannelTraffic traffic) {
        SocketAddress remote = traffic.channel().remoteAddress();
        if (remote != null) {
            sockets.put(remote, traffic);
        }
    }

    void closed(ChannelTraffic traffic) {
        SocketAddress remote = traffic.channel().remoteAddress();
        if (remote != null) {
            sockets.remove(remote, traffic);
        }
    }

    @Override
    public void connected(String protocol, ConnectionInfo info, String clientId) {
        Entry e = new Entry(sequence.incrementAndGet(), protocol, clientId, info, System.currentTimeMillis(),
                info.remote() == null ? null : sockets.get(info.remote()));
        byInfo.put(info, e);
        byNumber.put(e.number(), e);
    }

    @Override
    public void disconnected(String protocol, ConnectionInfo info, String clientId, DisconnectReason reason) {
        Entry e = byInfo.remove(info);
        if (e != null) {
            byNumber.remove(e.number(), e);
        }
    }

    @Override
    public void messageIn(String protocol, ConnectionInfo info, int qos, int bytes) {
        Entry e = byInfo.get(info);
        if (e != null) {
            Entry.IN.incrementAndGet(e);
        }
    }

    @Override
    public void messageOut(String protocol, ConnectionInfo info, int qos, int bytes) {
        Entry e = byInfo.get(info);
        if (e != null) {
            Entry.OUT.incrementAndGet(e);
        }
    }

    @Override
    public void messagesOut(String protocol, ConnectionInfo info, int qos, int count, long bytes) {
        Entry e = byInfo.get(info);
        if (e != null) {
            Entry.OUT.addAndGet(e, count);
        }
    }

    public int size() {
        return byNumber.size();
    }

    public Entry get(long number) {
        return byNumber.get(number);
    }

    /**
     * Up to {@code limit} connections numbered after {@code cursor} that pass {@code filter}. Without a filter
     * the cost is the page's; a filter reads on past the ones it rejects.
     */
    public Page page(long cursor, int limit, Predicate<Entry> filter) {
        List<Entry> items = new ArrayList<>(Math.min(limit, 256));
        for (Entry e : byNumber.tailMap(cursor, false).values()) {
            if (!filter.test(e)) {
                continue;
            }
            if (items.size() == limit) {
                return new Page(items, items.get(items.size() - 1).number());
            }
            items.add(e);
        }
        return new Page(items, 0);
    }

    /**
     * The broker sessions each connection holds. An MQTT connection holds the session of its client id; a STOMP
     * connection holds one session per SUBSCRIBE, named after its own id ({@code ID-n}), found in one pass
     * over the sessions when the list has a STOMP connection.
     */
    public Map<Entry, List<Session>> sessions(List<Entry> entries) {
        Map<Entry, List<Session>> out = new java.util.HashMap<>();
        Map<String, Entry> stompIds = new java.util.HashMap<>();
        for (Entry e : entries) {
            List<Session> list = new ArrayList<>(1);
            out.put(e, list);
            if ("mqtt".equals(e.protocol())) {
                // an adapter's session namespace is its protocol name
                Session s = broker.session(new SessionId(e.protocol(), e.clientId()));
                if (s != null) {
                    list.add(s);
                }
            } else {
                stompIds.put(e.clientId(), e);
            }
        }
        if (!stompIds.isEmpty()) {
            for (Session s : broker.sessions()) {
                if (!"stomp".equals(s.id().namespace())) {
                    continue;
                }
                int dash = s.clientId().lastIndexOf('-');
                Entry owner = dash > 0 ? stompIds.get(s.clientId().substring(0, dash)) : null;
                if (owner != null) {
                    out.get(owner).add(s);
                }
            }
        }
        return out;
    }
}
