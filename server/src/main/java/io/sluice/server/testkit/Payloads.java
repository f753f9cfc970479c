package io.sluice.server.testkit;

import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/** The first bytes of a payload, as traces show them. */
final class Payloads {
    /** Bytes of a payload a trace line shows. */
    static final int PREFIX = 64;

    private Payloads() {
    }

    static byte[] prefix(ByteBuf buf) {
        if (buf == null) {
            return new byte[0];
        }
        byte[] b = new byte[Math.min(PREFIX, buf.readableBytes())];
        buf.getBytes(buf.readerIndex(), b);
        return b;
    }

    static byte[] prefix(byte[] bytes) {
        return bytes.length <= PREFIX ? bytes : java.util.Arrays.copyOf(bytes, PREFIX);
    }

    /** {@code "payload": "text"} when the prefix is printable UTF-8, else {@code "payloadHex": "0a 1b ..."}. */
    static void writePrefix(JsonGenerator g, byte[] prefix) throws IOException {
        String text = printable(prefix);
        if (text != null) {
            g.writeStringField("payload", text);
        } else {
            g.writeStringField("payloadHex", HexFormat.ofDelimiter(" ").formatHex(prefix));
        }
    }

    private static String printable(byte[] b) {
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
                    return null;
                }
            }
            return s;
        } catch (CharacterCodingException e) {
            // a prefix may cut a multi-byte character: show hex rather than guess
            return null;
        }
    }
}
