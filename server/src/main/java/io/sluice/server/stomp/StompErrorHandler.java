package io.sluice.server.stomp;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of the STOMP pipeline: every frame no handler claimed and every exception raised on the way become
 * an ERROR frame (a {@code message} header and a body saying what was wrong), one log line, and a close.
 * Whatever the broker had already accepted from this connection stays accepted; later frames are dropped.
 */
final class StompErrorHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(StompErrorHandler.class);

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

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof StompProtocolException e) {
            fail(e.getMessage(), e.detail(), e.receiptId());
        } else if (cause instanceof TooLongFrameException || cause.getCause() instanceof TooLongFrameException) {
            fail("frame too large", "The frame exceeds a limit of this server: " + cause.getMessage()
                    + " Send smaller frames (bodies up to " + conn.config.maxFrameBody() + " bytes).", null);
        } else if (cause instanceof DecoderException) {
            fail("malformed frame", String.valueOf(cause.getMessage()), null);
        } else if (cause instanceof java.io.IOException) {
            log.debug("stomp {}: {}", conn.describe(), cause.toString());
            ctx.close();
        } else {
            log.warn("stomp {}: internal error, closing", conn.describe(), cause);
            fail("internal error", "The server failed handling this connection; reconnect.", null);
        }
    }

    /** Answer with an ERROR frame, log one line, close; later frames are dropped. Only the first failure counts. */
    void fail(String message, String detail, String receiptId) {
        if (failed) {
            return;
        }
        failed = true;
        conn.closing = true;
        conn.gate.discardAll();
        log.info("stomp {}: ERROR {}: {} Closing.", conn.describe(), message, detail);
        if (ctx.channel().isActive()) {
            ctx.writeAndFlush(StompFrames.error(message, detail, receiptId)).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
