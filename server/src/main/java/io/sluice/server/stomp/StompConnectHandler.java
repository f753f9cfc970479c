package io.sluice.server.stomp;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.stomp.DefaultStompFrame;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeaders;
import io.sluice.protocol.stomp.StompVersion;
import io.sluice.protocol.ws.Subprotocol;
import io.sluice.server.events.DisconnectReason;
import io.sluice.server.events.Heartbeat;
import io.sluice.server.events.Refusal;
import io.sluice.server.ops.Admission;
import io.sluice.server.security.Authenticator;
import io.sluice.server.security.Login;
import io.sluice.server.security.Security;
import io.sluice.server.security.Credentials;
import io.sluice.server.security.CredentialExpiry;
import io.sluice.server.events.Logs;
import org.slf4j.Logger;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The connection's lifecycle: CONNECT/STOMP (version negotiation, login, heart-beat agreement, CONNECTED) and
 * DISCONNECT (its RECEIPT, then close). Until CONNECTED every other frame is refused; frames that failed to
 * decode are refused here, in their turn, with what the decoder found wrong.
 */
final class StompConnectHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = Logs.get(StompConnectHandler.class);
    static final String SERVER = "Sluice/0.1";

    private final StompConnection conn;
    private final Security security;
    private ScheduledFuture<?> connectTimeout;

    StompConnectHandler(StompConnection conn, Security security) {
        this.conn = conn;
        this.security = security;
    }

    /** A connection that sends no CONNECT in time is refused, so idle sockets cannot hold connection slots. */
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        long timeout = conn.config.connectTimeoutMillis();
        if (timeout > 0) {
            connectTimeout = ctx.executor().schedule(() -> {
                if (!conn.connected && !conn.closing) {
                    String detail = "No CONNECT frame arrived within " + timeout + " ms of opening the connection.";
                    conn.errors.refuse(Refusal.HANDSHAKE_TIMEOUT, StompFrames.error("CONNECT timeout", detail, null), detail);
                }
            }, timeout, TimeUnit.MILLISECONDS);
        }
    }

    private void cancelConnectTimeout() {
        if (connectTimeout != null) {
            connectTimeout.cancel(false);
            connectTimeout = null;
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof StompFrame frame)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (conn.closing) {
            frame.release();
            return;
        }
        boolean passOn = false;
        try {
            if (frame.decoderResult().isFailure()) {
                throw decodeFailure(frame);
            }
            switch (frame.command()) {
                case CONNECT, STOMP -> connect(ctx, frame);
                case DISCONNECT -> disconnect(ctx, frame);
                default -> {
                    if (!conn.connected) {
                        throw StompFrames.bad(frame, "not connected",
                                "The first frame must be CONNECT (or STOMP), not " + frame.command() + ".");
                    }
                    passOn = true;
                }
            }
        } finally {
            if (passOn) {
                ctx.fireChannelRead(frame);
            } else {
                frame.release();
            }
        }
    }

    private StompProtocolException decodeFailure(StompFrame frame) {
        Throwable cause = frame.decoderResult().cause();
        String why = cause.getMessage() == null ? cause.toString() : cause.getMessage();
        if (cause instanceof TooLongFrameException) {
            return new StompProtocolException("frame too large", why + " Send shorter header lines (up to "
                    + conn.config.maxHeaderLine() + " bytes) and fewer headers (up to " + conn.config.maxHeaders() + ").");
        }
        if (frame.command() == StompCommand.UNKNOWN) {
            return new StompProtocolException("unknown command", why + ". Commands are CONNECT, STOMP, SEND, SUBSCRIBE, "
                    + "UNSUBSCRIBE, ACK, NACK, BEGIN, COMMIT, ABORT and DISCONNECT, in upper case.");
        }
        return new StompProtocolException("malformed frame", why
                + ". Header values escape '\\' ':' LF (and in 1.2 CR) as \\\\ \\c \\n \\r.");
    }

    private void connect(ChannelHandlerContext ctx, StompFrame frame) {
        if (conn.connected) {
            throw StompFrames.bad(frame, "already connected", "CONNECT was sent twice on one connection.");
        }
        Refusal admission = Admission.refusal(ctx.channel());
        if (admission != null) {
            conn.errors.refuse(admission, StompFrames.error(admission.message(), admission.message() + ".", null),
                    admission.label());
            return;
        }
        Optional<StompVersion> version = StompVersion.negotiate(StompFrames.header(frame, StompHeaders.ACCEPT_VERSION),
                preferredVersion(conn.info.subprotocol()));
        if (version.isEmpty()) {
            String detail = "Supported protocol versions are " + StompVersion.supportedList() + "; the client accepts "
                    + StompFrames.header(frame, StompHeaders.ACCEPT_VERSION) + ".";
            StompFrame error = StompFrames.error("unsupported STOMP version", detail, null);
            error.headers().set(StompHeaders.VERSION, StompVersion.supportedList());
            conn.errors.refuse(Refusal.UNSUPPORTED_VERSION, error, detail);
            return;
        }
        StompVersion v = version.get();
        String heartbeatHeader = StompFrames.header(frame, StompHeaders.HEART_BEAT);
        long[] heartbeat = StompHeartbeat.parse(heartbeatHeader);
        if (v == StompVersion.V1_0) {
            // heart-beating is 1.1's; a 1.0 client that asks anyway gets the server's beats, but is never
            // expected to send any (stomp.js, for one, sends none on a 1.0 connection whatever it asked)
            heartbeat[0] = 0;
        }
        String login = StompFrames.header(frame, StompHeaders.LOGIN);
        String passcode = StompFrames.header(frame, StompHeaders.PASSCODE);
        Login result = security.login(Credentials.of(ctx.channel(), "stomp", conn.id, login,
                passcode == null ? null : passcode.getBytes(StandardCharsets.UTF_8)));
        conn.login = login;
        if (!result.allowed()) {
            String detail = result.decision() == Authenticator.Decision.BAD_CREDENTIALS
                    ? "Unknown login or wrong passcode." : "Login '" + login + "' may not connect.";
            conn.errors.refuse(Refusal.NOT_AUTHORIZED, StompFrames.error("access refused", detail, null), detail);
            return;
        }
        conn.user = result.user();
        conn.security = security;
        conn.access = security.access(conn.id, result);
        closeAtExpiry(ctx, result);
        conn.version(v);
        conn.connected = true;
        cancelConnectTimeout();

        StompFrame connected = new DefaultStompFrame(StompCommand.CONNECTED);
        if (v != StompVersion.V1_0) {
            connected.headers().set(StompHeaders.VERSION, v.token());
        }
        connected.headers().set(StompHeaders.SERVER, SERVER);
        connected.headers().set(StompHeaders.SESSION, conn.id);
        if (v != StompVersion.V1_0 || heartbeatHeader != null) {
            StompHeartbeat agreed = StompHeartbeat.agree(heartbeat[0], heartbeat[1], conn.config);
            connected.headers().set(StompHeaders.HEART_BEAT, agreed.header());
            agreed.install(ctx.pipeline(), conn);
        }
        ctx.writeAndFlush(connected);
        conn.decoder.onHeartbeat(() -> conn.events.heartbeat("stomp", Heartbeat.STOMP_HEARTBEAT_RECEIVED));
        conn.events.connected("stomp", conn.info, conn.id);
        Admission.established(ctx.channel()); // CONNECTED written: its place among pending handshakes is free
        if (log.isDebugEnabled()) { // describe() builds a string: not for every connection
            log.debug("stomp {}: connected, STOMP {}", conn.describe(), v.token());
        }
    }

    private static StompVersion preferredVersion(Subprotocol p) {
        if (p == null) {
            return null;
        }
        return switch (p) {
            case STOMP_10 -> StompVersion.V1_0;
            case STOMP_11 -> StompVersion.V1_1;
            case STOMP_12 -> StompVersion.V1_2;
            default -> null;
        };
    }

    private void disconnect(ChannelHandlerContext ctx, StompFrame frame) {
        conn.ending(DisconnectReason.CLIENT_DISCONNECT);
        conn.closing = true;
        conn.gate.discardAll();
        String receipt = StompFrames.header(frame, StompHeaders.RECEIPT);
        if (receipt != null && conn.connected) {
            ctx.writeAndFlush(StompFrames.receipt(receipt)).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelConnectTimeout();
        if (conn.connected) {
            conn.events.disconnected("stomp", conn.info, conn.id,
                    conn.endReason == null ? DisconnectReason.CONNECTION_LOST : conn.endReason);
        }
        ctx.fireChannelInactive();
    }

    /** A credential that expires (a token's exp) ends the connection then, with an ERROR saying so. */
    private void closeAtExpiry(ChannelHandlerContext ctx, Login login) {
        CredentialExpiry expiry = CredentialExpiry.watch(ctx.executor(), login, () -> {
            if (!conn.closing) {
                security.audit().expired("stomp", conn.id, login.user(), conn.info.remote());
                conn.errors.fail(DisconnectReason.NOT_AUTHORIZED, "credential expired",
                        "The token this connection logged in with has expired; connect again with a new one.", null);
            }
        });
        if (expiry != null) {
            ctx.channel().closeFuture().addListener(f -> expiry.cancel());
        }
    }
}
