package io.sluice.protocol.mqtt;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The UTF-8 rule for payloads whose Payload Format Indicator is 1 (MQTT 5 section 3.3.2.3.2): well-formed
 * UTF-8 (section 1.5.4: no surrogates, no overlong forms) without U+0000.
 */
public final class Utf8 {
    private Utf8() {
    }

    public static boolean isWellFormed(byte[] bytes) {
        boolean ascii = true;
        for (byte b : bytes) {
            if (b == 0) {
                return false;
            }
            if (b < 0) {
                ascii = false;
            }
        }
        if (ascii) {
            return true;
        }
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }
}
