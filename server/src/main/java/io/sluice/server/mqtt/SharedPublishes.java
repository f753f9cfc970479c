package io.sluice.server.mqtt;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.FastThreadLocal;
import io.sluice.protocol.ws.FramePayloadCodec;
import io.sluice.server.broker.Message;

/**
 * The last QoS 0 PUBLISH encoded on this event loop, kept so the other subscribers of the same message on the loop
 * write the same bytes instead of encoding them again: a QoS 0 PUBLISH without properties carries nothing of its
 * subscriber (no packet id, no topic alias, no subscription identifier; MQTT 5 section 3.3, MQTT 3.1.1 section 3.3),
 * so every subscriber of the same kind gets it byte for byte. The kind is what the bytes depend on besides the
 * message: the retain flag as it goes out, MQTT 5 or not (its empty property section), and over WebSocket its frame
 * header, written in front once (a server's frames are not masked, RFC 6455 section 5.1).
 *
 * <p>One slot per event loop, owned by that loop's thread: the subscribers of one publish on a loop drain one after
 * the other (their drains are handed over together, {@link io.sluice.server.transport.LoopHandoff}), so all but
 * the first find it there. Each writer gets a retained duplicate (its own indexes, the same memory); the slot keeps
 * one reference until the next message replaces it, and holds at most {@link MqttDeliverySink#BATCH_BYTES}.
 */
final class SharedPublishes {
    private static final FastThreadLocal<SharedPublishes> LOOP = new FastThreadLocal<>() {
        @Override
        protected SharedPublishes initialValue() {
            return new SharedPublishes();
        }

        @Override
        protected void onRemoval(SharedPublishes slot) {
            slot.clear();
        }
    };

    private Message message;
    private int kind;
    private ByteBuf encoded;

    private SharedPublishes() {
    }

    /**
     * The QoS 0 PUBLISH of {@code m} (its own topic and payload) as a retained duplicate whose readable bytes are
     * the whole packet, over WebSocket ({@code headroom > 0}) the whole binary frame; on the calling event loop's
     * thread only.
     *
     * @param size the packet's size ({@link MqttPublishEncoder#size}), {@code topicBytes} its topic's UTF-8 length
     */
    static ByteBuf get(ByteBufAllocator alloc, Message m, boolean retain, boolean v5, int headroom, int topicBytes,
                       int size) {
        return LOOP.get().encoding(alloc, m, (retain ? 1 : 0) | (v5 ? 2 : 0) | (headroom > 0 ? 4 : 0), headroom,
                topicBytes, size);
    }

    private ByteBuf encoding(ByteBufAllocator alloc, Message m, int kind, int headroom, int topicBytes, int size) {
        if (m != message || kind != this.kind) {
            clear();
            ByteBuf buf = alloc.ioBuffer(headroom + size);
            buf.writerIndex(headroom);
            buf.readerIndex(headroom);
            byte[] payload = m.payload();
            MqttPublishEncoder.writeHeader(buf, false, 0, (kind & 1) != 0, m.topic(), topicBytes, 0, (kind & 2) != 0,
                    payload.length);
            buf.writeBytes(payload);
            if (headroom > 0) {
                FramePayloadCodec.frameBinary(buf);
            }
            encoded = buf;
            message = m;
            this.kind = kind;
        }
        return encoded.retainedDuplicate();
    }

    private void clear() {
        if (encoded != null) {
            encoded.release();
            encoded = null;
            message = null;
        }
    }
}
