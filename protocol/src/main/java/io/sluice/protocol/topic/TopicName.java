package io.sluice.protocol.topic;

/**
 * Validation of topic names, the concrete topics a PUBLISH goes to (MQTT 5 section 4.7.3).
 * A name is at least one character, holds no wildcard and no U+0000, and fits in a UTF-8 string of 65,535 bytes.
 */
public final class TopicName {
    public static final int MAX_UTF8_LENGTH = 65_535;

    private TopicName() {
    }

    public static String validate(String name) {
        if (name == null || name.isEmpty()) {
            throw new InvalidTopicException("topic name is empty");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '+' || c == '#') {
                throw new InvalidTopicException("topic name '" + name + "' contains the wildcard '" + c + "'");
            }
            if (c == '\u0000') {
                throw new InvalidTopicException("topic name contains U+0000");
            }
        }
        checkLength(name);
        return name;
    }

    public static boolean isValid(String name) {
        try {
            validate(name);
            return true;
        } catch (InvalidTopicException e) {
            return false;
        }
    }

    /** Topics whose first character is '$' are system topics: filters starting with a wildcard don't match them. */
    public static boolean isSystemTopic(String name) {
        return !name.isEmpty() && name.charAt(0) == '$';
    }

    static void checkLength(String s) {
        // a UTF-8 encoding takes at most 3 bytes per UTF-16 unit, so short strings need no count
        if (s.length() * 3 > MAX_UTF8_LENGTH && utf8Length(s) > MAX_UTF8_LENGTH) {
            throw new InvalidTopicException("topic longer than " + MAX_UTF8_LENGTH + " bytes in UTF-8");
        }
    }

    static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c)) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
