package io.sluice.protocol.stomp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.stomp.LastStompContentSubframe;
import io.netty.handler.codec.stomp.StompCommand;
import io.netty.handler.codec.stomp.StompHeaders;
import io.netty.handler.codec.stomp.StompHeadersSubframe;
import io.netty.handler.codec.stomp.StompSubframeDecoder;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Netty's {@link StompSubframeDecoder} with the two things STOMP needs that it lacks.
 *
 * <ul>
 *   <li><b>Heart-beat EOLs.</b> Netty skips EOLs before a frame, but as a replaying decoder it rewinds to its
 *       last checkpoint when no frame follows: a peer that only heart-beats would pile its EOLs up in the
 *       cumulation buffer for as long as it stays idle. Here EOLs seen between frames are consumed at once.</li>
 *   <li><b>Per-version header escaping.</b> Netty unescapes every frame but CONNECT the 1.2 way; once the
 *       version is known ({@link #version}), names and values are turned into that version's meaning
 *       ({@link StompVersion#fromDecoded}) and a frame using an escape its version lacks fails to decode.</li>
 * </ul>
 * Headers are validated ({@code validateHeaders}): a header line with a second unescaped ':' fails the frame
 * instead of being dropped silently, which is what Netty does otherwise.
 */
public final class StompFrameDecoder extends StompSubframeDecoder {
    private static final int CHUNK_SIZE = 8 * 1024;

    private StompVersion version;
    private boolean betweenFrames = true;
    private Runnable onHeartbeat = () -> { };

    /**
     * @param maxLineLength longest command or header line, in bytes
     * @param maxHeaders    most header lines in one frame
     */
    public StompFrameDecoder(int maxLineLength, int maxHeaders) {
        super(maxLineLength, CHUNK_SIZE, maxHeaders, true);
    }

    /** The negotiated version; until it is set (before CONNECT is handled) headers stay as Netty decoded them. */
    public void version(StompVersion version) {
        this.version = version;
    }

    /** Told whenever EOLs arrive between frames: heart-beats (or the optional EOLs after a frame's NUL). */
    public void onHeartbeat(Runnable listener) {
        this.onHeartbeat = listener;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (betweenFrames) {
            int readable = actualReadableBytes();
            int start = in.readerIndex();
            int eols = 0;
            while (eols < readable) {
                byte b = in.getByte(start + eols);
                if (b != '\n' && b != '\r') {
                    break;
                }
                eols++;
            }
            if (eols > 0) {
                in.skipBytes(eols);
                checkpoint();
                onHeartbeat.run();
            }
            if (eols == readable) {
                return;
            }
        }
        int first = out.size();
        try {
            super.decode(ctx, in, out);
        } finally {
            // also when the replaying decoder stops mid-frame: a header subframe may already be out
            for (int i = first; i < out.size(); i++) {
                Object o = out.get(i);
                if (o instanceof StompHeadersSubframe h) {
                    betweenFrames = false;
                    applyVersion(h);
                }
                if (o instanceof LastStompContentSubframe) {
                    betweenFrames = true;
                }
            }
        }
    }

    private void applyVersion(StompHeadersSubframe frame) {
        if (version == null || version == StompVersion.V1_2 || !frame.decoderResult().isSuccess()
                || frame.command() == StompCommand.CONNECT || frame.command() == StompCommand.STOMP) {
            return;
        }
        StompHeaders headers = frame.headers();
        List<Map.Entry<String, String>> converted = new ArrayList<>(headers.size());
        boolean changed = false;
        try {
            for (Map.Entry<CharSequence, CharSequence> e : headers) {
                String name = e.getKey().toString();
                String value = e.getValue().toString();
                String n = version.fromDecoded(name);
                String v = version.fromDecoded(value);
                changed |= !n.equals(name) || !v.equals(value);
                converted.add(Map.entry(n, v));
            }
        } catch (IllegalArgumentException bad) {
            frame.setDecoderResult(DecoderResult.failure(bad));
            return;
        }
        if (changed) {
            headers.clear();
            for (Map.Entry<String, String> e : converted) {
                headers.add(e.getKey(), e.getValue());
            }
        }
    }
}
