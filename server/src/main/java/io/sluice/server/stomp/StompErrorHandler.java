package io.sluice.server.stomp;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.util.ReferenceCountUtil;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Rule;
import io.sluice.server.ops.ShutdownEvent;
import io.sluice.server.testkit.Probe;
import io.sluice.server.events.Logs;
import org.slf4j.Logger;

/**
 * The end of the STOMP pipeline: every frame no handler claimed and every exception raised on the way become
 * an ERROR frame (a {@code message} header and a body saying what was wrong), one log line, and a close.
 * Whatever the broker had already accepted from this connection stays accepted; later frames are dropped.
 */
final class StompErrorHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = Logs.get(StompErrorHandler.class);

    private final StompConnection conn;
    private ChannelHandlerContext ctx;
    private boolean failed;

    StompErrorHandler(StompConnection conn) {
        this.conn = conn;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof StompFrame frame) {
                StompCommand c = frame.command();
                throw StompFrames.bad(frame, "unexpected " + c + " frame",
                        c + " is not a frame a client sends. Clients send CONNECT, STOMP, SEND, SUBSCRIBE, UNSUBSCRIBE, "
                                + "ACK, NACK, BEGIN, COMMIT, ABORT and DISCONNECT.");
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    /** Shutdown's goodbye to a connection the core may not know (one without subscriptions). */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == ShutdownEvent.INSTANCE) {
            if (conn.connected) {
                fail(DisconnectReason.SERVER_SHUTTING_DOWN, "server shutting down",
                        "The broker is stopping; reconnect later.", null);
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof StompProtocolException e) {
            if (e.limit() != null) {
                conn.events.limitExceeded("stomp", conn.info, conn.id, e.limit());
            }
            fail(e.reason(), e.getMessage(), e.detail(), e.receiptId());
        } else if (cause instanceof TooLongFrameException || cause.getCause() instanceof TooLongFrameException) {
            fail(DisconnectReason.LIMIT_EXCEEDED, "frame too large", "The frame exceeds a limit of this server: "
                    + cause.getMessage() + " Send smaller frames (bodies up to " + conn.config.maxFrameBody() + " bytes).", null);
        } else if (cause instanceof DecoderException) {
            fail("malformed frame", String.valueOf(cause.getMessage()), null);
        } else if (cause instanceof PrematureChannelClosureException) {
            // the client went away in the middle of a frame: its own doing, not a server error; nobody to answer
            conn.ending(DisconnectReason.CONNECTION_LOST);
            log.info("stomp {}: the client closed the connection in the middle of a frame; the partial frame is dropped",
                    conn.describe());
            conn.closing = true;
            conn.gate.discardAll();
            ctx.close();
        } else if (cause instanceof java.io.IOException) {
            if (log.isDebugEnabled()) {
                log.debug("stomp {}: {}", conn.describe(), cause.toString());
            }
            ctx.close();
        } else {
            log.warn("stomp {}: internal error, closing", conn.describe(), cause);
            fail("internal error", "The server failed handling this connection; reconnect.", null);
        }
    }

    /** Bad input: answer with an ERROR frame, log one line, close; later frames are dropped. */
    void fail(String message, String detail, String receiptId) {
        fail(DisconnectReason.PROTOCOL_ERROR, message, detail, receiptId);
    }

    /** End the connection with an ERROR frame, for the reason given. Only the first failure counts. */
    void fail(DisconnectReason reason, String message, String detail, String receiptId) {
        if (!start(reason)) {
            return;
        }
        if (reason == DisconnectReason.PROTOCOL_ERROR) {
            conn.events.protocolError("stomp", conn.info, conn.id, message + ": " + detail);
            Rule rule = ruleOf(message);
            if (rule != null) {
                Probe.violated(ctx.channel(), rule, conn.login, message + ": " + detail);
            }
        }
        log.info("stomp {}: ERROR {}: {} Closing.", conn.describe(), message, detail);
        answer(StompFrames.error(message, detail, receiptId));
    }

    /**
     * The STOMP 1.2 rule behind an ERROR's message; null for the broker's own policies (destinations it does not
     * serve), which break no rule of the protocol.
     */
    static Rule ruleOf(String message) {
        if (message.startsWith("missing ")) {
            return Rule.STOMP_REQUIRED_HEADER;
        }
        if (message.startsWith("unexpected ") || message.equals("unknown command")) {
            return Rule.STOMP_COMMAND_UNKNOWN;
        }
        if (message.startsWith("bad ")) {
            return Rule.STOMP_HEADER_VALUE;
        }
        return switch (message) {
            case "not connected" -> Rule.STOMP_FIRST_FRAME_CONNECT;
            case "malformed frame" -> Rule.STOMP_FRAME_MALFORMED;
            case "unknown subscription" -> Rule.STOMP_UNKNOWN_SUBSCRIPTION;
            case "subscription id in use" -> Rule.STOMP_SUBSCRIPTION_ID_IN_USE;
            case "unknown transaction", "transaction already begun" -> Rule.STOMP_TRANSACTION;
            case "invalid destination", "internal error" -> null;
            default -> Rule.STOMP_UNCLASSIFIED;
        };
    }

    /** Refuse a CONNECT: the connection was never accepted. {@code error} is the ERROR frame to answer with. */
    void refuse(Refusal refusal, StompFrame error, String detail) {
        if (!start(null)) {
            error.release();
            return;
        }
        conn.events.refused(conn.info.transport(), conn.info.remote(), "stomp", conn.login, refusal, detail);
        log.info("stomp {}: refused CONNECT: {}: {} Closing.", conn.describe(), refusal.message(), detail);
        answer(error);
    }

    private boolean start(DisconnectReason reason) {
        if (failed) {
            return false;
        }
        failed = true;
        conn.closing = true;
        if (reason != null) {
            conn.ending(reason);
        }
        conn.gate.discardAll();
        return true;
    }

    private void answer(StompFrame error) {
        if (ctx.channel().isActive()) {
            ctx.writeAndFlush(error).addListener(ChannelFutureListener.CLOSE);
        } else {
            error.release();
        }
    }
}
