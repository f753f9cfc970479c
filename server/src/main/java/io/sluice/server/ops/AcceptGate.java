package io.sluice.server.ops;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.sluice.server.events.ConnectionEvents;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Transport;
import io.sluice.server.transport.ShedAnswer;

import java.util.concurrent.TimeUnit;

/**
 * Admission at the door, on the acceptor thread, for each socket just accepted and not yet handed to an I/O thread:
 * <ul>
 *   <li>while the broker is overloaded ({@link Admission#overloaded()}), an MQTT or STOMP socket is refused in
 *       its protocol by {@link ShedAnswer} on a thread of its own (CONNACK 0x89 "server busy", 3.1.1 0x03, STOMP
 *       ERROR), never reaching the I/O threads, which lack time then; past {@code max-pending-handshakes} sockets
 *       being answered (or on a TLS listener, where an answer costs a TLS handshake) it is closed unanswered, as
 *       EMQX's overload protection closes new connections. An HTTP socket is kept but marked: plain requests
 *       (health, readiness, metrics, the admin API) are answered as always, WebSocket upgrades and SSE or
 *       long-poll readers get 503 with Retry-After ({@link UpgradeRefusalHandler}), so operators can see a broker
 *       in trouble;</li>
 *   <li>otherwise a socket takes a place in the {@link HandshakeBudget}, waiting for one (accepted,
 *       on no I/O thread) while every place is taken, and is handed to its I/O thread when it has one. A socket that
 *       waited longer than {@code handshake-timeout} is closed as it leaves the queue (its client has given up, or
 *       would be closed at that timeout on its I/O thread anyway); one whose turn comes while the broker is overloaded
 *       is refused as above.</li>
 * </ul>
 * Shed sockets are counted as refused, reason {@code overloaded}; the log says when shedding starts and ends
 * (with how many), not one line per socket (a storm would flood it).
 */
@ChannelHandler.Sharable
public final class AcceptGate extends ChannelInboundHandlerAdapter {
    private final Admission admission;
    private final Transport transport;
    private final ConnectionEvents metrics;
    private final HandshakeBudget budget;
    private final ShedAnswer shed;
    private final long staleNanos;

    /**
     * @param budget      null on a listener whose handshakes are not bounded
     * @param shed        null to keep and mark sockets accepted while overloaded (HTTP) instead of refusing them
     * @param staleMillis how long a socket may wait for a place before it is closed unanswered
     */
    AcceptGate(Admission admission, Transport transport, ConnectionEvents metrics, HandshakeBudget budget,
               ShedAnswer shed, long staleMillis) {
        this.admission = admission;
        this.transport = transport;
        this.metrics = metrics;
        this.budget = budget;
        this.shed = shed;
        this.staleNanos = TimeUnit.MILLISECONDS.toNanos(staleMillis);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Channel child) {
            if (admission.shedding()) {
                if (shed == null) {
                    child.attr(Admission.REFUSAL).set(Refusal.OVERLOADED); // counted if an upgrade is refused
                } else {
                    refuse(child);
                    return;
                }
            } else if (budget != null) {
                budget.enter(child, (c, waitedNanos) -> handOver(ctx, c, waitedNanos));
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** On the acceptor thread: {@code child} has a place now, after waiting {@code waitedNanos} for it. */
    private void handOver(ChannelHandlerContext ctx, Channel child, long waitedNanos) {
        if (waitedNanos == 0) {
            ctx.fireChannelRead(child);
        } else if (waitedNanos > staleNanos) {
            budget.give(child);
            metrics.refused(transport, child.remoteAddress(), null, null, Refusal.HANDSHAKE_TIMEOUT, null);
            child.unsafe().closeForcibly();
        } else if (admission.shedding()) {
            budget.give(child);
            if (shed == null) {
                child.attr(Admission.REFUSAL).set(Refusal.OVERLOADED);
                ctx.fireChannelRead(child);
            } else {
                refuse(child);
            }
        } else {
            ctx.fireChannelRead(child);
        }
    }

    private void refuse(Channel child) {
        metrics.refused(transport, child.remoteAddress(), null, null, Refusal.OVERLOADED, null);
        if (!shed.answer(child, Refusal.OVERLOADED)) {
            child.unsafe().closeForcibly();
        }
    }
}
