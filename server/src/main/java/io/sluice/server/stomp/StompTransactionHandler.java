package io.sluice.server.stomp;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeaders;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BEGIN, COMMIT and ABORT. A SEND, ACK or NACK naming a {@code transaction} is held (its RECEIPT, if asked,
 * says it was received) and applied at COMMIT, in order, through the same path as frames read from the
 * connection; the COMMIT's RECEIPT follows once all of them are done. ABORT, and a connection ending,
 * discard them. Transactions and the frames each holds are bounded (stomp-max-transaction-frames).
 */
final class StompTransactionHandler extends ChannelInboundHandlerAdapter {
    private final StompConnection conn;
    private final StompSendHandler send;
    private final Map<String, List<StompFrame>> open = new HashMap<>();

    StompTransactionHandler(StompConnection conn, StompSendHandler send) {
        this.conn = conn;
        this.send = send;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof StompFrame frame)) {
            ctx.fireChannelRead(msg);
            return;
        }
        StompCommand c = frame.command();
        if (c == StompCommand.BEGIN || c == StompCommand.COMMIT || c == StompCommand.ABORT) {
            try {
                control(ctx, frame);
            } finally {
                frame.release();
            }
            return;
        }
        String tx = StompFrames.header(frame, StompHeaders.TRANSACTION);
        if (tx == null || (c != StompCommand.SEND && c != StompCommand.ACK && c != StompCommand.NACK)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            hold(ctx, frame, tx);
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
    }

    private void hold(ChannelHandlerContext ctx, StompFrame frame, String tx) {
        List<StompFrame> frames = open.get(tx);
        if (frames == null) {
            throw StompFrames.bad(frame, "unknown transaction", "Transaction '" + tx + "' was not begun (or was already "
                    + "committed or aborted); send BEGIN first.");
        }
        if (frames.size() >= conn.config.maxTransactionFrames()) {
            throw StompFrames.bad(frame, "transaction too large", "A transaction may hold "
                    + conn.config.maxTransactionFrames() + " frames (setting stomp-max-transaction-frames); commit sooner.");
        }
        if (frame.command() == StompCommand.SEND) {
            send.destination(frame);   // refuse a bad destination now, not at COMMIT
        }
        String receipt = StompFrames.header(frame, StompHeaders.RECEIPT);
        frame.headers().remove(StompHeaders.TRANSACTION);
        frame.headers().remove(StompHeaders.RECEIPT);
        frames.add(frame);
        if (receipt != null) {
            ctx.writeAndFlush(StompFrames.receipt(receipt));
        }
    }

    private void control(ChannelHandlerContext ctx, StompFrame frame) {
        String tx = StompFrames.required(frame, StompHeaders.TRANSACTION);
        String receipt = StompFrames.header(frame, StompHeaders.RECEIPT);
        switch (frame.command()) {
            case BEGIN -> {
                if (open.containsKey(tx)) {
                    throw StompFrames.bad(frame, "transaction already begun", "Transaction '" + tx + "' is already open.");
                }
                if (open.size() >= conn.config.maxTransactionFrames()) {
                    throw StompFrames.bad(frame, "too many transactions", "Commit or abort open transactions first.");
                }
                open.put(tx, new ArrayList<>());
                answer(ctx, receipt);
            }
            case COMMIT -> {
                List<Object> replay = new ArrayList<>(taken(frame, tx));
                if (receipt != null) {
                    replay.add((Runnable) () -> answer(ctx, receipt));
                }
                conn.gate.pushFront(replay);
            }
            default -> {
                taken(frame, tx).forEach(StompFrame::release);
                answer(ctx, receipt);
            }
        }
    }

    private List<StompFrame> taken(StompFrame frame, String tx) {
        List<StompFrame> frames = open.remove(tx);
        if (frames == null) {
            throw StompFrames.bad(frame, "unknown transaction", "Transaction '" + tx + "' is not open; send BEGIN first.");
        }
        return frames;
    }

    private static void answer(ChannelHandlerContext ctx, String receipt) {
        if (receipt != null && ctx.channel().isActive()) {
            ctx.writeAndFlush(StompFrames.receipt(receipt));
        }
    }

    private void discardAll() {
        open.values().forEach(frames -> frames.forEach(StompFrame::release));
        open.clear();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        discardAll();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        discardAll();
    }
}
