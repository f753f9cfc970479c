package io.sluice.protocol.stomp;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.stomp.StompFrame;
import io.netty.handler.codec.stomp.StompHeadersSubframe;
import io.netty.handler.codec.stomp.StompSubframeAggregator;

/**
 * Netty's {@link StompSubframeAggregator}, keeping a failed decode visible: Netty's aggregator builds the whole
 * frame from a headers subframe without copying its decoder result, so a frame whose headers failed to decode
 * (a bad escape, a line too long, an unknown command) would come out looking valid, with headers missing.
 */
public final class StompFrameAggregator extends StompSubframeAggregator {
    /** @param maxContentLength the largest body accepted; a larger one raises TooLongFrameException */
    public StompFrameAggregator(int maxContentLength) {
        super(maxContentLength);
    }

    @Override
    protected StompFrame beginAggregation(StompHeadersSubframe start, ByteBuf content) throws Exception {
        StompFrame frame = super.beginAggregation(start, content);
        if (start.decoderResult().isFailure()) {
            frame.setDecoderResult(start.decoderResult());
        }
        return frame;
    }
}
