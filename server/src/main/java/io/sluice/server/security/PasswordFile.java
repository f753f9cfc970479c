package io.sluice.server.security;

import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A password file in Mosquitto's {@code mosquitto_passwd} format, one {@code user:hash} line each, so fleets
 * move without re-issuing credentials. Hashes: {@code $7$ITERATIONS$SALT$HASH}, PBKDF2-HMAC-SHA512 (what
 * Mosquitto 2.0 writes), and {@code $6$SALT$HASH}, SHA-512 of password and salt (Mosquitto 1.x); base64.
 * A plain-text entry is refused with a message: the file is meant to hold no secrets.
 */
public final class PasswordFile {
    /** Mosquitto's default: cheap enough to verify on an event loop during a reconnect storm. */
    public static final int ITERATIONS = 101;
    private static final int SALT_BYTES = 12;
    private static final int HASH_BYTES = 64;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Map<String, String> hashes;

    private PasswordFile(Map<String, String> hashes) {
        this.hashes = hashes;
    }

    public static PasswordFile read(Path file) {
        return parse(lines(file), file.toString());
    }

    static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("--password-file: cannot read " + file + ": " + e.getMessage());
        }
    }

    static PasswordFile parse(List<String> lines, String source) {
        Map<String, String> hashes = new HashMap<>();
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("--password-file " + source + " line " + (n + 1)
                        + ": expected user:hash");
            }
            String user = line.substring(0, colon);
            String hash = line.substring(colon + 1);
            if (!hash.startsWith("$6$") && !hash.startsWith("$7$")) {
                throw new IllegalArgumentException("--password-file " + source + " line " + (n + 1) + ": user '"
                        + user + "' has a plain-text or unknown password entry; hash the file with"
                        + " 'mosquitto_passwd -U FILE' or set it with 'java -jar sluice.jar passwd FILE USER'");
            }
            if (!wellFormed(hash)) {
                throw new IllegalArgumentException("--password-file " + source + " line " + (n + 1) + ": user '"
                        + user + "' has a malformed hash");
            }
            hashes.put(user, hash);
        }
        return new PasswordFile(hashes);
    }

    /** Does the user exist with this password? Constant time in the hash comparison. */
    public boolean verify(String user, byte[] password) {
        String entry = hashes.get(user);
        if (entry == null || password == null) {
            return false;
        }
        String[] parts = entry.split("\\$");
        try {
            if (parts[1].equals("7")) {
                int iterations = Integer.parseInt(parts[2]);
                byte[] salt = Base64.getDecoder().decode(parts[3]);
                byte[] expected = Base64.getDecoder().decode(parts[4]);
                return MessageDigest.isEqual(expected, pbkdf2(password, salt, iterations, expected.length));
            }
            byte[] salt = Base64.getDecoder().decode(parts[2]);
            byte[] expected = Base64.getDecoder().decode(parts[3]);
            MessageDigest sha = MessageDigest.getInstance("SHA-512");
            sha.update(password);
            sha.update(salt);
            return MessageDigest.isEqual(expected, sha.digest());
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    public boolean knows(String user) {
        return hashes.containsKey(user);
    }

    public int size() {
        return hashes.size();
    }

    /** A new {@code $7$} entry for this password, with a random salt, as mosquitto_passwd writes it. */
    public static String hash(char[] password) {
        byte[] salt = new byte[SALT_BYTES];
        RANDOM.nextBytes(salt);
        byte[] bytes = new String(password).getBytes(StandardCharsets.UTF_8);
        try {
            return "$7$" + ITERATIONS + "$" + Base64.getEncoder().encodeToString(salt) + "$"
                    + Base64.getEncoder().encodeToString(pbkdf2(bytes, salt, ITERATIONS, HASH_BYTES));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA512 is part of every Java runtime", e);
        } finally {
            java.util.Arrays.fill(bytes, (byte) 0);
        }
    }

    private static boolean wellFormed(String hash) {
        String[] parts = hash.split("\\$");
        try {
            if (parts[1].equals("7")) {
                return parts.length == 5 && Integer.parseInt(parts[2]) > 0
                        && Base64.getDecoder().decode(parts[3]).length > 0 && Base64.getDecoder().decode(parts[4]).length > 0;
            }
            return parts.length == 4 && Base64.getDecoder().decode(parts[2]).length > 0
                    && Base64.getDecoder().decode(parts[3]).length == HASH_BYTES;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * PBKDF2-HMAC-SHA512 over the password's bytes as the client sent them. The JDK's PBEKeySpec takes chars
     * and encodes them as UTF-8, so the bytes are handed over as the chars that encode back to them.
     */
    private static byte[] pbkdf2(byte[] password, byte[] salt, int iterations, int length) throws GeneralSecurityException {
        char[] chars = new String(password, StandardCharsets.UTF_8).toCharArray();
        PBEKeySpec spec = new PBEKeySpec(chars, salt, iterations, length * 8);
        try {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA512").generateSecret(spec).getEncoded();
        } finally {
            spec.clearPassword();
            java.util.Arrays.fill(chars, '\0');
        }
    }
}
