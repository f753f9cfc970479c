package io.sluice.server.mqtt;

import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.sluice.protocol.mqtt.ReasonCode;

/**
 * Refusing a CONNECT: a CONNACK with the reason code (MQTT 5, with a reason string) or the nearest 3.1.1
 * return code, then close (MQTT 5 section 3.2.2.2, 3.1.1 section 3.2.2.3). Where MQTT 3.1.1 has no return
 * code for the reason, the connection closes without a CONNACK, as that spec says.
 */
final class MqttConnectRefusal {
    private final MqttConnection connection;

    MqttConnectRefusal(MqttConnection connection) {
        this.connection = connection;
    }

    void refuse(ReasonCode reason, String why) {
        if (connection.isClosing()) {
            return;
        }
        byte code;
        if (connection.isV5()) {
            code = reason.code();
        } else if (reason.v3ConnectReturnCode() >= 0) {
            code = (byte) reason.v3ConnectReturnCode();
        } else {
            connection.closeForViolation(reason, "CONNECT refused: " + why);
            return;
        }
        MqttConnection.log().warn("{}: CONNECT refused: {}; answered CONNACK {}", connection.describe(), why,
                connection.isV5() ? reason.toString() : String.format("return code %d", code));
        connection.markClosing();
        connection.channel.writeAndFlush(MqttMessageBuilders.connAck()
                        .returnCode(MqttConnectReturnCode.valueOf(code))
                        .sessionPresent(false)
                        .properties(connection.reasonString(why))
                        .build())
                .addListener(ChannelFutureListener.CLOSE);
    }
}
