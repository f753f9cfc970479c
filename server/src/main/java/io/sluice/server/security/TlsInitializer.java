package io.sluice.server.security;

import io.sluice.server.events.Logs;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import org.slf4j.Logger;

import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Supplier;

/**
 * A TLS listener's pipeline: Netty's {@link SslHandler} with the newest context, a handler that ends the
 * handshake's story (counted; a failure logged in one line with its reason and the connection closed, never a
 * stack trace; a verified client certificate's name kept for the login), then the plain listener's pipeline.
 */
@ChannelHandler.Sharable
public final class TlsInitializer extends ChannelInitializer<Channel> {
    private static final Logger log = Logs.get("tls");

    private final Supplier<SslContext> context;
    private final TlsContexts counters;
    private final String certUsername;
    private final ChannelHandler plain;

    /** {@code certUsername}: none, cn or san (--tls-cert-username). */
    public TlsInitializer(Supplier<SslContext> context, TlsContexts counters, String certUsername, ChannelHandler plain) {
        this.context = context;
        this.counters = counters;
        this.certUsername = certUsername;
        this.plain = plain;
    }

    @Override
    protected void initChannel(Channel ch) {
        ch.pipeline().addLast("tls", context.get().newHandler(ch.alloc()));
        ch.pipeline().addLast("tls-outcome", new Outcome());
        ch.pipeline().addLast(plain);
    }

    private final class Outcome extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof SslHandshakeCompletionEvent done) {
                counters.handshake(done.isSuccess());
                if (done.isSuccess()) {
                    String user = certificateUser(ctx.pipeline().get(SslHandler.class));
                    if (user != null) {
                        ctx.channel().attr(Credentials.CERTIFICATE_USER).set(user);
                    }
                    ctx.pipeline().remove(this);
                } else {
                    log.info("TLS handshake from {} failed: {}; closed", ctx.channel().remoteAddress(), reason(done.cause()));
                    ctx.close();
                    return;
                }
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof SSLException || (cause instanceof DecoderException && cause.getCause() instanceof SSLException)) {
                ctx.close(); // the handshake's failure, already logged once by its completion event
                return;
            }
            ctx.fireExceptionCaught(cause);
        }
    }

    private static String reason(Throwable cause) {
        Throwable t = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }

    /** The user name the verified client certificate gives, or null. */
    private String certificateUser(SslHandler tls) {
        if (certUsername.equals("none") || tls == null) {
            return null;
        }
        Certificate[] chain;
        try {
            chain = tls.engine().getSession().getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return null; // want: a client without a certificate logs in as usual
        }
        if (chain.length == 0 || !(chain[0] instanceof X509Certificate cert)) {
            return null;
        }
        return certUsername.equals("cn") ? commonName(cert) : firstSan(cert);
    }

    static String commonName(X509Certificate cert) {
        try {
            List<Rdn> rdns = new LdapName(cert.getSubjectX500Principal().getName()).getRdns();
            for (int i = rdns.size() - 1; i >= 0; i--) {
                if (rdns.get(i).getType().equalsIgnoreCase("CN")) {
                    return String.valueOf(rdns.get(i).getValue());
                }
            }
        } catch (javax.naming.InvalidNameException e) {
            return null;
        }
        return null;
    }

    static String firstSan(X509Certificate cert) {
        try {
            if (cert.getSubjectAlternativeNames() == null) {
                return null;
            }
            for (List<?> san : cert.getSubjectAlternativeNames()) {
                int type = (Integer) san.get(0);
                if (type == 1 || type == 2 || type == 6) { // rfc822Name, dNSName, uniformResourceIdentifier
                    return String.valueOf(san.get(1));
                }
            }
        } catch (java.security.cert.CertificateParsingException e) {
            return null;
        }
        return null;
    }
}
