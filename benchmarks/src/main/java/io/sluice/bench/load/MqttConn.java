package io.sluice.bench.load;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttPubAckMessage;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;

import java.util.HashMap;
import java.util.Map;

/** MQTT 3.1.1 through Netty's MqttEncoder/MqttDecoder. */
final class MqttConn extends ClientConn {
    private static final MqttMessage PINGREQ = new MqttMessage(
            new MqttFixedHeader(MqttMessageType.PINGREQ, false, MqttQoS.AT_MOST_ONCE, false, 0));
    private static final MqttMessage DISCONNECT = new MqttMessage(
            new MqttFixedHeader(MqttMessageType.DISCONNECT, false, MqttQoS.AT_MOST_ONCE, false, 0));

    private final Map<Integer, Runnable> subscriptions = new HashMap<>();
    private int nextPacketId;

    private final boolean cleanSession;

    MqttConn(String clientId, boolean webSocket, int keepAliveSeconds, boolean cleanSession, Promise<ClientConn> connected) {
        super(clientId, webSocket, keepAliveSeconds, connected);
        this.cleanSession = cleanSession;
    }

    /**
     * The payload sequence number of each QoS 1 packet id in flight (the window is far below 65,535); made by the
     * first QoS 1 publish, as 512 KiB on each of 100,000 idle connections would not fit the generator's heap.
     */
    private long[] seqById;

    private int packetId() {
        nextPacketId = nextPacketId % 65_535 + 1;
        return nextPacketId;
    }

    @Override
    void sendConnect() {
        write(MqttMessageBuilders.connect().clientId(clientId).cleanSession(cleanSession)
                .protocolVersion(MqttVersion.MQTT_3_1_1).keepAlive(keepAliveSeconds).build());
    }

    @Override
    void subscribe(String topic, int qos, Runnable done) {
        int id = packetId();
        subscriptions.put(id, done);
        write(MqttMessageBuilders.subscribe().messageId(id).addSubscription(MqttQoS.valueOf(qos), topic).build());
        flush();
    }

    @Override
    void publish(String topic, ByteBuf payload, int qos) {
        int id = qos > 0 ? packetId() : 0;
        if (qos > 0) {
            if (seqById == null) {
                seqById = new long[65_536];
            }
            seqById[id] = Payloads.seq(payload);
        }
        // not MqttMessageBuilders.publish(): its build() copies the payload
        write(new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false, MqttQoS.valueOf(qos), false, 0),
                new MqttPublishVariableHeader(topic, id), payload));
        if (qos > 0) {
            inflight++;
        }
    }

    @Override
    void ack(Object id) {
        write(new MqttPubAckMessage(new MqttFixedHeader(MqttMessageType.PUBACK, false, MqttQoS.AT_MOST_ONCE, false, 2),
                MqttMessageIdVariableHeader.from((Integer) id)));
    }

    @Override
    void ping() {
        write(PINGREQ);
    }

    @Override
    void sendDisconnect() {
        write(DISCONNECT);
        flush();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            MqttMessage m = (MqttMessage) msg;
            if (m.decoderResult().isFailure()) {
                connected.tryFailure(m.decoderResult().cause());
                ctx.close();
                return;
            }
            switch (m.fixedHeader().messageType()) {
                case PUBLISH -> {
                    MqttPublishMessage p = (MqttPublishMessage) m;
                    if (listener != null) {
                        listener.onMessage(this, p.payload(), System.nanoTime());
                    }
                    if (p.fixedHeader().qosLevel().value() > 0) {
                        received(p.variableHeader().packetId());
                    }
                }
                case PUBACK -> publishAcked(seqById == null ? 0
                        : seqById[((MqttMessageIdVariableHeader) m.variableHeader()).messageId()]);
                case CONNACK -> {
                    MqttConnectReturnCode code = ((MqttConnAckMessage) m).variableHeader().connectReturnCode();
                    if (code == MqttConnectReturnCode.CONNECTION_ACCEPTED) {
                        connected.trySuccess(this);
                    } else {
                        connected.tryFailure(new IllegalStateException("CONNACK " + code));
                        ctx.close();
                    }
                }
                case SUBACK -> {
                    Runnable done = subscriptions.remove(((MqttMessageIdVariableHeader) m.variableHeader()).messageId());
                    if (done != null) {
                        done.run();
                    }
                }
                default -> {
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }
}
