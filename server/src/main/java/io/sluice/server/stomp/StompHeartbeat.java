package io.sluice.server.stomp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.events.Heartbeat;
import io.sluice.server.events.Rule;
import io.sluice.server.testkit.Probe;

import java.util.concurrent.TimeUnit;

/**
 * Heart-beating as STOMP 1.1+ negotiates it (section "Heart-beating"). The client's CONNECT says
 * {@code heart-beat:cx,cy} (it can send every cx ms, wants to receive every cy ms); the server answers
 * {@code sx,sy} with sx = max(cy, minimum) when cy &gt; 0 and sy = max(cx, minimum) when cx &gt; 0, so the
 * agreed intervals are simply sx (server to client) and sy (client to server), never shorter than the
 * configured minimum. An {@link IdleStateHandler} ahead of the decoder sees every inbound byte, heart-beat EOLs
 * included: the server writes an EOL after sx ms without writing, and a client silent for sy ms plus the grace
 * period gets an ERROR and is disconnected. Strict mode holds the client to the agreed interval itself: a gap
 * longer than it, beyond a tenth of it (at least {@link #LATE_SLACK_MILLIS}) for timers and the network, is
 * recorded as {@link Rule#STOMP_HEARTBEAT_LATE}, once per connection, as MQTT's Keep Alive is held to its
 * interval while the broker waits one and a half times it.
 *
 * @param sendMillis    server to client interval, 0 for none
 * @param receiveMillis client to server interval, 0 for none
 */
record StompHeartbeat(long sendMillis, long receiveMillis, long graceMillis) {
    /** Lateness strict mode forgives: a tenth of the interval, at least this. */
    static final long LATE_SLACK_MILLIS = 100;
    private static final ByteBuf EOL = Unpooled.unreleasableBuffer(Unpooled.directBuffer(1, 1).writeByte('\n')).asReadOnly();

    /** {@code cx,cy} from a CONNECT; absent means 0,0. */
    static long[] parse(String header) {
        if (header == null || header.isBlank()) {
            return new long[] {0, 0};
        }
        String[] parts = header.split(",");
        try {
            if (parts.length != 2) {
                throw new NumberFormatException();
            }
            long cx = Long.parseLong(parts[0].trim());
            long cy = Long.parseLong(parts[1].trim());
            if (cx < 0 || cy < 0) {
                throw new NumberFormatException();
            }
            return new long[] {cx, cy};
        } catch (NumberFormatException e) {
            throw new StompProtocolException("bad heart-beat header",
                    "heart-beat must be two non-negative numbers of milliseconds, like 10000,10000; got '" + header + "'.");
        }
    }

    static StompHeartbeat agree(long clientSends, long clientWants, StompConfig config) {
        long min = config.heartbeatMinMillis();
        return new StompHeartbeat(clientWants == 0 ? 0 : Math.max(clientWants, min),
                clientSends == 0 ? 0 : Math.max(clientSends, min), config.heartbeatGraceMillis());
    }

    /** The CONNECTED header value. */
    String header() {
        return sendMillis + "," + receiveMillis;
    }

    /** Start heart-beating, ahead of the decoder so heart-beat EOLs count as activity. */
    void install(ChannelPipeline pipeline, StompConnection conn) {
        if (sendMillis == 0 && receiveMillis == 0) {
            return;
        }
        long readTimeout = receiveMillis == 0 ? 0 : receiveMillis + graceMillis;
        String decoder = pipeline.context(conn.decoder).name();
        pipeline.addBefore(decoder, "stomp-idle", new IdleStateHandler(readTimeout, sendMillis, 0, TimeUnit.MILLISECONDS));
        pipeline.addBefore(decoder, "stomp-heartbeat", new Beats(conn, readTimeout, receiveMillis));
    }

    /** Writes the server's heart-beats and ends a silent client's connection. */
    private static final class Beats extends ChannelInboundHandlerAdapter {
        private final StompConnection conn;
        private final long readTimeout;
        private final long interval;
        private long lastRead = System.nanoTime();
        private boolean lateReported;

        Beats(StompConnection conn, long readTimeout, long interval) {
            this.conn = conn;
            this.readTimeout = readTimeout;
            this.interval = interval;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            long now = System.nanoTime();
            checkLate(ctx, now, "then data arrived");
            lastRead = now;
            ctx.fireChannelRead(msg);
        }

        /** Strict mode only: the client let more than its agreed interval pass without sending anything. */
        private void checkLate(ChannelHandlerContext ctx, long now, String what) {
            if (interval == 0 || lateReported || conn.gate.isPaused()) {
                return; // while backpressure holds reading, the client's bytes wait unread: not its lateness
            }
            long silent = TimeUnit.NANOSECONDS.toMillis(now - lastRead);
            if (silent > interval + Math.max(LATE_SLACK_MILLIS, interval / 10)) {
                lateReported = true;
                Probe.violated(ctx.channel(), Rule.STOMP_HEARTBEAT_LATE, conn.login, "silent for " + silent
                        + " ms with heart-beats agreed every " + interval + " ms (" + what + ")");
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof IdleStateEvent e) {
                switch (e.state()) {
                    case WRITER_IDLE -> {
                        ctx.writeAndFlush(EOL.duplicate());
                        conn.events.heartbeat("stomp", Heartbeat.STOMP_HEARTBEAT_SENT);
                    }
                    case READER_IDLE -> {
                        if (conn.gate.isPaused()) {
                            return; // backpressure stopped reading: the client's heart-beats wait unread
                        }
                        checkLate(ctx, System.nanoTime(), "then the server closed the connection");
                        conn.events.heartbeat("stomp", Heartbeat.TIMEOUT);
                        conn.errors.fail(DisconnectReason.KEEP_ALIVE_TIMEOUT, "heart-beat timeout", "Nothing, not even a heart-beat, arrived for "
                            + readTimeout + " ms; send heart-beats as agreed in CONNECTED.", null);
                    }
                    default -> { }
                }
                return;
            }
            super.userEventTriggered(ctx, evt);
        }
    }
}
