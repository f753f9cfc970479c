package io.sluice.server.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Verifies JSON Web Tokens with nimbus-jose-jwt: the signature (HS256, RS256, ES256 with the configured key),
 * {@code exp} (required), {@code nbf}, and {@code iss}/{@code aud} when configured. A token may carry the
 * client's topics in an {@code acl} claim, as EMQX reads it: {@code {"pub": [filters], "sub": [filters],
 * "all": [filters]}}; they narrow whatever the ACL file allows.
 */
final class JwtVerifier {
    /** What a verified token says. */
    record Verified(String user, long expiresAtMillis, AclRules claims) {
    }

    private final DefaultJWTProcessor<SecurityContext> processor;
    private final String userClaim;

    private JwtVerifier(DefaultJWTProcessor<SecurityContext> processor, String userClaim) {
        this.processor = processor;
        this.userClaim = userClaim;
    }

    static JwtVerifier read(Path keyFile, String issuer, String audience, String userClaim) {
        JWKSet keys = keys(keyFile);
        DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
        p.setJWSKeySelector(new JWSVerificationKeySelector<>(Set.of(JWSAlgorithm.HS256, JWSAlgorithm.RS256,
                JWSAlgorithm.ES256), new ImmutableJWKSet<>(keys)));
        JWTClaimsSet.Builder exact = new JWTClaimsSet.Builder();
        if (!issuer.isEmpty()) {
            exact.issuer(issuer);
        }
        Set<String> required = new HashSet<>(Set.of("exp", userClaim));
        p.setJWTClaimsSetVerifier(new DefaultJWTClaimsVerifier<>(audience.isEmpty() ? null : audience,
                exact.build(), required));
        return new JwtVerifier(p, userClaim);
    }

    /** Does this password look like a JWT (three base64url parts, a JSON header)? */
    static boolean looksLikeJwt(byte[] password) {
        if (password == null || password.length < 20 || password[0] != 'e' || password[1] != 'y') {
            return false;
        }
        int dots = 0;
        for (byte b : password) {
            if (b == '.') {
                dots++;
            } else if (!(Character.isLetterOrDigit(b) || b == '-' || b == '_')) {
                return false;
            }
        }
        return dots == 2;
    }

    /** The verified token, or a refusal reason (never the token itself) as the exception message. */
    Verified verify(byte[] token) throws BadJOSEException {
        JWTClaimsSet claims;
        try {
            claims = processor.process(new String(token, StandardCharsets.US_ASCII), null);
        } catch (ParseException e) {
            throw new BadJOSEException("malformed token");
        } catch (JOSEException e) {
            throw new BadJOSEException("token not verifiable: " + e.getMessage());
        }
        Object user = claims.getClaim(userClaim);
        return new Verified(String.valueOf(user), claims.getExpirationTime().getTime(), acl(claims));
    }

    @SuppressWarnings("unchecked")
    private static AclRules acl(JWTClaimsSet claims) throws BadJOSEException {
        Object acl = claims.getClaim("acl");
        if (acl == null) {
            return null;
        }
        if (!(acl instanceof Map<?, ?> m)) {
            throw new BadJOSEException("the acl claim must be an object of pub, sub and all lists");
        }
        List<AclRules.Rule> rules = new ArrayList<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            AclRules.Access access = switch (String.valueOf(e.getKey())) {
                case "pub" -> AclRules.Access.WRITE;
                case "sub" -> AclRules.Access.READ;
                case "all" -> AclRules.Access.READWRITE;
                default -> throw new BadJOSEException("unknown key '" + e.getKey() + "' in the acl claim (pub, sub, all)");
            };
            if (!(e.getValue() instanceof List<?> filters)) {
                throw new BadJOSEException("acl." + e.getKey() + " must be a list of topic filters");
            }
            for (Object f : filters) {
                rules.add(new AclRules.Rule(access, String.valueOf(f)));
            }
        }
        return new AclRules(rules);
    }

    /** A JWKS or JWK (JSON), a PEM public key or certificate, or an HMAC secret. */
    static JWKSet keys(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("--jwt-key-file: cannot read " + file + ": " + e.getMessage());
        }
        String text = new String(bytes, StandardCharsets.UTF_8).strip();
        try {
            if (text.startsWith("{")) {
                return text.contains("\"keys\"") ? JWKSet.parse(text) : new JWKSet(JWK.parse(text));
            }
            if (text.startsWith("-----BEGIN CERTIFICATE")) {
                return new JWKSet(jwk(CertificateFactory.getInstance("X.509")
                        .generateCertificate(new ByteArrayInputStream(bytes)).getPublicKey()));
            }
            if (text.startsWith("-----BEGIN PUBLIC KEY")) {
                byte[] der = Base64.getMimeDecoder().decode(text.replaceAll("-----[A-Z ]+-----", ""));
                return new JWKSet(jwk(publicKey(der)));
            }
            if (text.startsWith("-----BEGIN")) {
                throw new IllegalArgumentException("--jwt-key-file " + file + ": expected a PUBLIC KEY or CERTIFICATE;"
                        + " never give the broker the signing private key");
            }
            if (bytes.length < 32) {
                throw new IllegalArgumentException("--jwt-key-file " + file + ": an HMAC secret needs 32 bytes or more"
                        + " (HS256)");
            }
            return new JWKSet(new OctetSequenceKey.Builder(text.getBytes(StandardCharsets.UTF_8)).build());
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalArgumentException("--jwt-key-file " + file + ": not a key: " + e.getMessage());
        }
    }

    private static PublicKey publicKey(byte[] der) throws Exception {
        for (String algorithm : List.of("RSA", "EC")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(der));
            } catch (java.security.spec.InvalidKeySpecException e) {
                // try the next
            }
        }
        throw new IllegalArgumentException("neither an RSA nor an EC public key");
    }

    private static JWK jwk(PublicKey key) {
        if (key instanceof RSAPublicKey rsa) {
            return new RSAKey.Builder(rsa).build();
        }
        if (key instanceof ECPublicKey ec) {
            return new ECKey.Builder(Curve.forECParameterSpec(ec.getParams()), ec).build();
        }
        throw new IllegalArgumentException("unsupported key type " + key.getAlgorithm());
    }
}
