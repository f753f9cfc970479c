package io.sluice.protocol.stomp;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompFrame;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StompFrameDecoderTest {
    private static EmbeddedChannel channel(StompFrameDecoder decoder) {
        return new EmbeddedChannel(decoder, new StompFrameAggregator(1024));
    }

    private static void write(EmbeddedChannel ch, String s) {
        ch.writeInbound(Unpooled.copiedBuffer(s, StandardCharsets.UTF_8));
    }

    @Test
    void badEscapeFailsTheFrame() {
        EmbeddedChannel ch = channel(new StompFrameDecoder(1024, 16));
        write(ch, "SEND\ndestination:/topic/a\nnote:a\\tb\n\nbody\0");
        StompFrame f = ch.readInbound();
        assertTrue(f.decoderResult().isFailure(), String.valueOf(f));
        f.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void heartbeatEolsBetweenFramesAreConsumed() {
        StompFrameDecoder decoder = new StompFrameDecoder(1024, 16);
        EmbeddedChannel ch = channel(decoder);
        for (int i = 0; i < 100; i++) {
            write(ch, "\n");
        }
        assertNull(ch.readInbound());
        write(ch, "\r\nSEND\ndestination:/topic/a\n\nbody\0\n");
        StompFrame f = ch.readInbound();
        assertEquals(StompCommand.SEND, f.command());
        assertEquals("body", f.content().toString(StandardCharsets.UTF_8));
        f.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void version11RefusesTheCrEscape() {
        StompFrameDecoder decoder = new StompFrameDecoder(1024, 16);
        decoder.version(StompVersion.V1_1);
        EmbeddedChannel ch = channel(decoder);
        write(ch, "SEND\ndestination:/topic/a\nnote:a\\rb\n\nbody\0");
        StompFrame f = ch.readInbound();
        assertTrue(f.decoderResult().isFailure());
        f.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void secondColonFailsTheFrame() {
        EmbeddedChannel ch = channel(new StompFrameDecoder(1024, 16));
        write(ch, "SEND\ndestination:/topic/a\nnote:a:b\n\nbody\0");
        StompFrame f = ch.readInbound();
        assertTrue(f.decoderResult().isFailure());
        f.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void version10KeepsBackslashesLiteral() {
        StompFrameDecoder decoder = new StompFrameDecoder(1024, 16);
        decoder.version(StompVersion.V1_0);
        EmbeddedChannel ch = channel(decoder);
        write(ch, "SEND\ndestination:/topic/a\nnote:D\\\\dir\\c\n\nbody\0");
        StompFrame f = ch.readInbound();
        assertTrue(f.decoderResult().isSuccess(), String.valueOf(f.decoderResult()));
        assertEquals("D\\\\dir\\c", f.headers().getAsString("note"));
        f.release();
        ch.finishAndReleaseAll();
    }
}
